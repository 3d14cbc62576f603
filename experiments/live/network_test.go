package live_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/temblor-dev/temblor/injector/local"
	"github.com/temblor-dev/temblor/internal/testutil"
)

const (
	noAnswer = 300 * time.Millisecond // a query unanswered this long is lost
	dialWait = 1500 * time.Millisecond
)

func init() {
	register("dns-blackhole", check{
		expected: "queries to :53 over UDP and TCP get no answer while other ports answer; :53 answers again after expiry",
		run:      runDNSBlackhole,
	})
	register("flaky-dependency", check{
		expected: "about 20% of the TCP packets to :8080 are dropped, none to other ports; every byte still arrives",
		run:      runFlakyDependency,
	})
	register("ingress-blackhole", check{
		expected: "connections into :8080 time out while other ports accept; :8080 accepts after expiry",
		run:      runIngressBlackhole,
	})
	register("partition-tiers", check{
		expected: "no traffic either way with 10.244.2.0/24, traffic with other peers untouched; restored after expiry",
		run:      runPartitionTiers,
	})
	register("payload-bitflip", check{
		expected: "TCP payload from :5432 reaches the application with flipped bytes (checksums repaired), at most 2 per corrupted packet",
		run:      runPayloadBitflip,
	})
	register("tcp-data-offset", check{
		expected: "segments to :443 leave with data offset 15 (checksum repaired); the peer takes 40 payload bytes of some as options and delivers the rest at the wrong offset, discards others whose payload fails its option checks: streams arrive changed or short, and segments are retransmitted",
		run:      runTCPDataOffset,
	})
	register("udp-packet-of-death", check{
		expected: "about 5% of datagrams to :8125 arrive 8 bytes short, none lost, other ports untouched",
		run:      runUDPPacketOfDeath,
	})
}

func runDNSBlackhole(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	peer := func(port int) string { return fmt.Sprintf("%s:%d", p.B4, port) }
	udpEcho(t, p.B, peer(53))
	udpEcho(t, p.B, peer(5353))
	tcpListen(t, p.B, peer(53), discard)
	tcpListen(t, p.B, peer(8053), discard)
	if got := udpAnswers(t, p.A, "", peer(53), 5, time.Second); got != 5 || !canConnect(t, p.A, peer(53), dialWait) {
		t.Fatalf("before the fault: %d of 5 UDP answers from :53 or no TCP connection", got)
	}
	var sessions []*local.Session
	for _, f := range r.faults {
		sessions = append(sessions, r.attach(ctx, f, p.A))
	}
	udp53 := udpAnswers(t, p.A, "", peer(53), 10, noAnswer)
	udpOther := udpAnswers(t, p.A, "", peer(5353), 10, time.Second)
	tcp53 := canConnect(t, p.A, peer(53), dialWait)
	tcpOther := canConnect(t, p.A, peer(8053), dialWait)
	if udp53 != 0 || udpOther != 10 || tcp53 || !tcpOther {
		t.Errorf("under the fault: UDP :53 %d/10 answered (want 0), :5353 %d/10 (want 10); TCP :53 connects %v (want false), :8053 %v (want true)", udp53, udpOther, tcp53, tcpOther)
	}
	var dropped []int64
	for i, s := range sessions {
		c := r.counters(s)
		if c.PacketsDropped == 0 {
			t.Errorf("%s dropped nothing", r.faults[i].Name)
		}
		dropped = append(dropped, c.PacketsDropped)
		r.detach(s)
	}
	after53 := udpAnswers(t, p.A, "", peer(53), 5, time.Second)
	if after53 != 5 || !canConnect(t, p.A, peer(53), dialWait) {
		t.Errorf("after expiry: %d of 5 UDP answers from :53, or TCP :53 still refused", after53)
	}
	r.measure("UDP :53 %d/10 answered, :5353 %d/10; TCP :53 connected=%v, :8053 connected=%v; packetsDropped %v (%s, %s); after expiry :53 %d/5", udp53, udpOther, tcp53, tcpOther, dropped, r.faults[0].Name, r.faults[1].Name, after53)
}

func runFlakyDependency(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	var received atomic.Int64
	count := func(c net.Conn) {
		deadline(c, time.Minute)
		n, differ, _ := readPattern(c)
		received.Add(n)
		if differ != 0 {
			t.Errorf("%d bytes arrived changed", differ)
		}
	}
	tcpListen(t, p.B, fmt.Sprintf("%s:8080", p.B4), count)
	tcpListen(t, p.B, fmt.Sprintf("%s:9090", p.B4), count)
	s := r.attach(ctx, r.faults[0], p.A)
	send := func(port int, n int64) {
		t.Helper()
		c, err := tcpDial(t, p.A, fmt.Sprintf("%s:%d", p.B4, port), 30*time.Second)
		if err != nil {
			t.Fatalf("connect to :%d: %v", port, err)
		}
		deadline(c, time.Minute)
		if err := writePattern(c, n); err != nil {
			t.Fatalf("send to :%d: %v", port, err)
		}
		c.Close()
	}
	send(9090, 1<<20)
	if c := r.counters(s); c.PacketsMatched != 0 {
		t.Errorf("traffic to :9090 matched %d packets, want none", c.PacketsMatched)
	}
	var sent int64
	start := time.Now()
	for r.counters(s).PacketsMatched < 400 && time.Since(start) < 40*time.Second {
		send(8080, 256<<10)
		sent += 256 << 10
	}
	c := r.counters(s)
	expectRate(t, "dropped of matched", int(c.PacketsDropped), int(c.PacketsMatched), 0.20)
	sent += 1 << 20
	waitFor(func() bool { return received.Load() == sent }, 30*time.Second)
	if got := received.Load(); got != sent {
		t.Errorf("received %d bytes, sent %d", got, sent)
	}
	r.measure("packetsDropped %d of packetsMatched %d (%.1f%%); :9090 matched 0; %d of %d bytes arrived intact", c.PacketsDropped, c.PacketsMatched, 100*float64(c.PacketsDropped)/float64(max(c.PacketsMatched, 1)), received.Load(), sent)
}

func runIngressBlackhole(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	tcpListen(t, p.A, fmt.Sprintf("%s:8080", p.A4), discard)
	tcpListen(t, p.A, fmt.Sprintf("%s:9090", p.A4), discard)
	target := func(port int) string { return fmt.Sprintf("%s:%d", p.A4, port) }
	if !canConnect(t, p.B, target(8080), dialWait) {
		t.Fatal("before the fault: :8080 does not accept")
	}
	s := r.attach(ctx, r.faults[0], p.A)
	in8080 := canConnect(t, p.B, target(8080), dialWait)
	in9090 := canConnect(t, p.B, target(9090), dialWait)
	if in8080 || !in9090 {
		t.Errorf("under the fault: :8080 accepts %v (want false), :9090 %v (want true)", in8080, in9090)
	}
	c := r.counters(s)
	if c.PacketsDropped == 0 {
		t.Error("packetsDropped 0")
	}
	r.detach(s)
	after := canConnect(t, p.B, target(8080), dialWait)
	if !after {
		t.Error("after expiry: :8080 still does not accept")
	}
	r.measure(":8080 accepted=%v, :9090 accepted=%v, packetsDropped %d (SYNs); after expiry :8080 accepted=%v", in8080, in9090, c.PacketsDropped, after)
}

func runPartitionTiers(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	// The peer namespace plays both tiers: 10.244.2.10 (the partitioned
	// database tier) and 10.244.3.10 (another tier).
	for _, a := range []string{"10.244.2.10/32", "10.244.3.10/32"} {
		testutil.Run(t, "ip", "-n", p.NameB, "addr", "add", a, "dev", p.Ifname)
	}
	testutil.Run(t, "ip", "-n", p.NameA, "route", "add", "10.244.0.0/16", "via", p.B4.String())
	udpEcho(t, p.B, "10.244.2.10:7007")
	udpEcho(t, p.B, "10.244.3.10:7007")
	inbound := fmt.Sprintf("%s:7008", p.A4)
	udpEcho(t, p.A, inbound)
	both := func() (outDB, outOther, inDB, inOther int) {
		return udpAnswers(t, p.A, "", "10.244.2.10:7007", 10, noAnswer), udpAnswers(t, p.A, "", "10.244.3.10:7007", 10, time.Second),
			udpAnswers(t, p.B, "10.244.2.10:0", inbound, 10, noAnswer), udpAnswers(t, p.B, "10.244.3.10:0", inbound, 10, time.Second)
	}
	if a, b, c, d := both(); a+b+c+d != 40 {
		t.Fatalf("before the fault: %d %d %d %d of 10 answered", a, b, c, d)
	}
	s := r.attach(ctx, r.faults[0], p.A)
	outDB, outOther, inDB, inOther := both()
	if outDB != 0 || inDB != 0 || outOther != 10 || inOther != 10 {
		t.Errorf("under the fault: to 10.244.2.10 %d/10, from it %d/10 (want 0, 0); to 10.244.3.10 %d/10, from it %d/10 (want 10, 10)", outDB, inDB, outOther, inOther)
	}
	c := r.counters(s)
	r.detach(s)
	a, b, cc, d := both()
	if a+b+cc+d != 40 {
		t.Errorf("after expiry: %d %d %d %d of 10 answered", a, b, cc, d)
	}
	r.measure("to 10.244.2.10 %d/10 answered, from it %d/10; 10.244.3.10 %d/10 and %d/10; packetsDropped %d; after expiry %d/40", outDB, inDB, outOther, inOther, c.PacketsDropped, a+b+cc+d)
}

func runPayloadBitflip(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	const chunk = 4 << 20
	tcpListen(t, p.B, fmt.Sprintf("%s:5432", p.B4), func(c net.Conn) {
		deadline(c, time.Minute)
		_ = writePattern(c, chunk)
	})
	s := r.attach(ctx, r.faults[0], p.A)
	var total, differ int64
	start := time.Now()
	for r.counters(s).PacketsCorrupted < 3 && time.Since(start) < 60*time.Second {
		c, err := tcpDial(t, p.A, fmt.Sprintf("%s:5432", p.B4), 10*time.Second)
		if err != nil {
			t.Fatalf("connect to :5432: %v", err)
		}
		deadline(c, time.Minute)
		n, d, err := readPattern(c)
		c.Close()
		if err != nil || n != chunk {
			t.Fatalf("read %d of %d bytes from :5432: %v", n, chunk, err)
		}
		total, differ = total+n, differ+d
	}
	c := r.counters(s)
	if c.PacketsCorrupted == 0 || differ == 0 || differ > 2*c.PacketsCorrupted {
		t.Errorf("packetsCorrupted %d, %d bytes differ in %d read: want some, and at most 2 per corrupted packet", c.PacketsCorrupted, differ, total)
	}
	r.measure("packetsCorrupted %d of packetsMatched %d; %d of %d bytes read differ", c.PacketsCorrupted, c.PacketsMatched, differ, total)
}

func runTCPDataOffset(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	type result struct{ n, differ int64 }
	results := make(chan result, 1)
	tcpListen(t, p.B, fmt.Sprintf("%s:443", p.B4), func(c net.Conn) {
		deadline(c, time.Minute)
		n, d, _ := readPattern(c)
		results <- result{n, d}
	})
	before := testutil.NetStats(t, p.A)["TcpRetransSegs"]
	s := r.attach(ctx, r.faults[0], p.A)
	const chunk = 1 << 20
	// A corrupted segment either lands with 40 payload bytes read as
	// options (the stream changes, or ends short when the hit segment
	// carries its end) or is discarded because those bytes fail one of
	// the peer's option checks (PAWS on a timestamp option, for one) and
	// is retransmitted intact: which one depends on the payload. Stream
	// until at least 10 segments were corrupted and one stream was hurt.
	var conns, got, differ, short int64
	start := time.Now()
	for (r.counters(s).PacketsCorrupted < 10 || differ+short == 0) && time.Since(start) < 60*time.Second {
		c, err := tcpDial(t, p.A, fmt.Sprintf("%s:443", p.B4), 30*time.Second)
		if err != nil {
			t.Fatalf("connect to :443: %v", err)
		}
		deadline(c, time.Minute)
		if err := writePattern(c, chunk); err != nil {
			t.Fatalf("send to :443: %v", err)
		}
		c.Close()
		conns++
		select {
		case res := <-results:
			got, differ, short = got+res.n, differ+res.differ, short+chunk-res.n
		case <-time.After(time.Minute):
			t.Fatalf("a stream to :443 never ended")
		}
	}
	c := r.counters(s)
	retrans := testutil.NetStats(t, p.A)["TcpRetransSegs"] - before
	if c.PacketsCorrupted == 0 || differ+short == 0 || retrans == 0 {
		t.Errorf("packetsCorrupted %d; received %d of %d bytes, %d changed; TcpRetransSegs +%d: want corrupted segments, a changed or short stream and retransmissions", c.PacketsCorrupted, got, conns*chunk, differ, retrans)
	}
	r.measure("packetsCorrupted %d of packetsMatched %d; TcpRetransSegs +%d; %d streams, %d of %d bytes arrived, %d changed", c.PacketsCorrupted, c.PacketsMatched, retrans, conns, got, conns*chunk, differ)
}

func runUDPPacketOfDeath(ctx context.Context, r *run) {
	t := r.t
	p := testutil.NewVethPair(t)
	const size, n = 64, 2000
	var rx net.PacketConn
	in(t, p.B, func() (err error) { rx, err = net.ListenPacket("udp", fmt.Sprintf("%s:8125", p.B4)); return err })
	defer rx.Close()
	_ = rx.(*net.UDPConn).SetReadBuffer(8 << 20)
	var rxOther net.PacketConn
	in(t, p.B, func() (err error) { rxOther, err = net.ListenPacket("udp", fmt.Sprintf("%s:8126", p.B4)); return err })
	defer rxOther.Close()
	lengths := func(c net.PacketConn, want int) map[int]int {
		got := map[int]int{}
		buf := make([]byte, 2048)
		for range want {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			m, _, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			got[m]++
		}
		return got
	}
	s := r.attach(ctx, r.faults[0], p.A)
	var tx net.PacketConn
	in(t, p.A, func() (err error) { tx, err = net.ListenPacket("udp", ":0"); return err })
	defer tx.Close()
	sendTo := func(port, count int, into net.PacketConn) map[int]int {
		to := &net.UDPAddr{IP: p.B4.AsSlice(), Port: port}
		done := make(chan map[int]int, 1)
		go func() { done <- lengths(into, count) }()
		msg := make([]byte, size)
		for i := range count {
			if _, err := tx.WriteTo(msg, to); err != nil {
				t.Fatalf("send to :%d: %v", port, err)
			}
			if i%100 == 99 {
				time.Sleep(time.Millisecond)
			}
		}
		return <-done
	}
	other := sendTo(8126, 200, rxOther)
	got := sendTo(8125, n, rx)
	c := r.counters(s)
	if other[size] != 200 || len(other) != 1 {
		t.Errorf(":8126 received lengths %v, want 200 of %d bytes", other, size)
	}
	short := got[size-8]
	if got[size]+short != n || len(got) > 2 {
		t.Errorf(":8125 received lengths %v, want %d datagrams of %d or %d bytes", got, n, size, size-8)
	}
	if int64(short) != c.PacketsCorrupted {
		t.Errorf("%d short datagrams, packetsCorrupted %d", short, c.PacketsCorrupted)
	}
	expectRate(t, "short datagrams", short, n, 0.05)
	r.measure(":8125 %d of %d datagrams 8 bytes short, %d intact; packetsCorrupted %d; :8126 %d of 200 intact", short, n, got[size], c.PacketsCorrupted, other[size])
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(cond func() bool, timeout time.Duration) {
	for end := time.Now().Add(timeout); !cond() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
}
