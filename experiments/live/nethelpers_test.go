package live_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/injector/netns"
)

// in runs fn in the network namespace ns; sockets fn opens stay there.
func in(t *testing.T, ns string, fn func() error) {
	t.Helper()
	if err := netns.Do(ns, fn); err != nil {
		t.Fatalf("in %s: %v", ns, err)
	}
}

// udpEcho answers every datagram sent to addr in ns, until the test ends.
func udpEcho(t *testing.T, ns, addr string) {
	t.Helper()
	var c net.PacketConn
	in(t, ns, func() (err error) { c, err = net.ListenPacket("udp", addr); return err })
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo(buf[:n], from)
		}
	}()
}

// udpAnswers sends n queries from ns (from laddr, "" for any) to addr and
// counts the answers, waiting up to wait for each.
func udpAnswers(t *testing.T, ns, laddr, addr string, n int, wait time.Duration) int {
	t.Helper()
	var c net.PacketConn
	in(t, ns, func() (err error) {
		if laddr == "" {
			laddr = ":0"
		}
		c, err = net.ListenPacket("udp", laddr)
		return err
	})
	defer c.Close()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	buf := make([]byte, 2048)
	for i := range n {
		if _, err := c.WriteTo([]byte{byte(i), 'q'}, to); err != nil {
			t.Fatalf("send to %s: %v", addr, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		for {
			m, _, err := c.ReadFrom(buf)
			if err != nil {
				break // timed out: no answer to this query
			}
			if m == 2 && buf[0] == byte(i) {
				got++
				break
			}
		}
	}
	return got
}

// tcpListen accepts connections on addr in ns until the test ends, handing
// each to serve on its own goroutine.
func tcpListen(t *testing.T, ns, addr string, serve func(net.Conn)) {
	t.Helper()
	var l net.Listener
	in(t, ns, func() (err error) { l, err = net.Listen("tcp", addr); return err })
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); serve(c) }()
		}
	}()
}

// tcpDial connects from ns to addr within timeout.
func tcpDial(t *testing.T, ns, addr string, timeout time.Duration) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	var err error
	in(t, ns, func() error {
		c, err = net.DialTimeout("tcp", addr, timeout)
		return nil
	})
	return c, err
}

// canConnect says whether a TCP connection from ns to addr opens within
// timeout.
func canConnect(t *testing.T, ns, addr string, timeout time.Duration) bool {
	t.Helper()
	c, err := tcpDial(t, ns, addr, timeout)
	if err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("connect to %s: %v (want success or a timeout)", addr, err)
		}
		return false
	}
	c.Close()
	return true
}

// pattern is the byte at offset i of every test stream.
func pattern(i int64) byte { return byte(i % 251) }

// writePattern writes n bytes of the pattern to w.
func writePattern(w io.Writer, n int64) error {
	buf := make([]byte, 64<<10)
	for off := int64(0); off < n; {
		m := min(int64(len(buf)), n-off)
		for i := range m {
			buf[i] = pattern(off + i)
		}
		if _, err := w.Write(buf[:m]); err != nil {
			return err
		}
		off += m
	}
	return nil
}

// readPattern reads r to its end and returns how many bytes it read and how
// many of them differ from the pattern.
func readPattern(r io.Reader) (n, differ int64, err error) {
	buf := make([]byte, 64<<10)
	for {
		m, err := r.Read(buf)
		for i := range m {
			if buf[i] != pattern(n+int64(i)) {
				differ++
			}
		}
		n += int64(m)
		if err == io.EOF {
			return n, differ, nil
		}
		if err != nil {
			return n, differ, err
		}
	}
}

// discard reads a connection to its end.
func discard(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

func deadline(c net.Conn, d time.Duration) { _ = c.SetDeadline(time.Now().Add(d)) }
