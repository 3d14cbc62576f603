package temblortest_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/internal/testutil"
	"github.com/temblor-dev/temblor/pkg/temblortest"
)

// TestRetryingClientRidesOutPacketLoss is the kind of resilience test
// temblortest is for: a client that retries with a timeout must get its
// answer once a two-second network outage is over, and must have seen the
// outage (at least one failed attempt).
func TestRetryingClientRidesOutPacketLoss(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	addr := echoServer(t)
	fault := temblortest.Parse(t, `
apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata: {name: outage}
spec:
  duration: 2s
  network: {type: Drop, direction: Both}
`)
	temblortest.Inject(t, fault, func(env temblortest.Env) {
		target := net.JoinHostPort(env.HostAddr, addr.Port())
		reply, failures, err := retryingRequest(target, 15, 500*time.Millisecond)
		if err != nil {
			t.Errorf("client gave up: %v", err)
			return
		}
		if failures == 0 || reply != "pong" {
			t.Errorf("got %q after %d failed attempts; want pong after at least one", reply, failures)
		}
		t.Logf("client got %q after %d failed attempts", reply, failures)
	})
}

// TestConnectRefused shows a syscall fault on code of the test itself: while
// fn runs, every connect of the process fails with ECONNREFUSED.
func TestConnectRefused(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	addr := echoServer(t)
	fault := temblortest.Parse(t, `
spec:
  duration: 30s
  syscall: {syscalls: [connect], errno: ECONNREFUSED}
`)
	temblortest.Inject(t, fault, func(temblortest.Env) {
		_, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial under the fault: got %v, want ECONNREFUSED", err)
		}
	})
	// Detached: the same dial works again.
	c, err := net.DialTimeout("tcp", addr.String(), time.Second)
	if err != nil {
		t.Fatalf("dial after the fault: %v", err)
	}
	c.Close()
}

// TestExecExitStatus runs a command under a fault and checks what it saw.
func TestExecExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	addr := echoServer(t)
	fault := temblortest.Parse(t, `
spec:
  duration: 30s
  syscall: {syscalls: [connect], errno: ECONNREFUSED}
`)
	script := fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%s || exit 42", addr.Port())
	res := temblortest.Exec(t, fault, exec.Command("bash", "-c", script))
	if res.ExitCode != 42 || res.Counters.SyscallsFailed < 1 {
		t.Fatalf("got exit %d with %+v; want 42 and a failed connect", res.ExitCode, res.Counters)
	}
}

// retryingRequest sends "ping" to addr until it reads a reply, at most
// attempts times, each with the given timeout.
func retryingRequest(addr string, attempts int, timeout time.Duration) (reply string, failures int, err error) {
	for i := 0; i < attempts; i++ {
		reply, err = request(addr, timeout)
		if err == nil {
			return reply, failures, nil
		}
		failures++
	}
	return "", failures, err
}

func request(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// echoServer answers "pong" to every line, on every host address (so that a
// fresh namespace reaches it through its veth), until the test ends.
func echoServer(t *testing.T) *hostPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := c.Write([]byte("pong\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &hostPort{port: port}
}

type hostPort struct{ port string }

func (h *hostPort) Port() string   { return h.port }
func (h *hostPort) String() string { return "127.0.0.1:" + h.port }
