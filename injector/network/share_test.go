package network

import (
	"context"
	"sync"
	"testing"

	"github.com/temblor-dev/temblor/bpf"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// udpEgressDrop drops every UDP packet a target sends: background traffic
// the kernel sends by itself (ICMPv6) is seen but never matched, so Matched
// and Dropped count the test's packets only.
func udpEgressDrop() Config {
	return Config{Action: ActionDrop, Direction: Egress, Protocol: ProtocolUDP, ProbabilityBasisPoints: ProbabilityOne}
}

// countProgs returns how many programs named name are loaded.
func countProgs(t *testing.T, name string) int {
	t.Helper()
	objs, err := testutil.TemblorBPF()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o.Kind == "prog" && o.Name == name {
			n++
		}
	}
	return n
}

// setSlotCapacity makes loads created during the test serve n targets.
func setSlotCapacity(t *testing.T, n int) {
	t.Helper()
	sharedPool.mu.Lock()
	old := sharedPool.capacity
	sharedPool.capacity = n
	sharedPool.mu.Unlock()
	t.Cleanup(func() {
		sharedPool.mu.Lock()
		sharedPool.capacity = old
		sharedPool.mu.Unlock()
	})
}

func mustAttach(t *testing.T, ns string, cfg Config) *Attachment {
	t.Helper()
	a, err := Attach(context.Background(), ns, cfg)
	if err != nil {
		t.Fatalf("attach in %s: %+v", ns, err)
	}
	return a
}

func mustClose(t *testing.T, a *Attachment) {
	t.Helper()
	if err := a.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func counters(t *testing.T, a *Attachment) Counters {
	t.Helper()
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sendDropped sends UDP from p.A to p.B and reports whether none arrived.
func sendDropped(t *testing.T, p *testutil.VethPair) bool {
	t.Helper()
	return len(udpExchange(t, p.A, p.B, p.B4, []byte("a->b"))) == 0
}

// TestSharedLoad attaches one Config to three targets: the main program is
// loaded once, each target has its own stub, traffic is dropped on each,
// each Attachment counts only its own packets, closing one leaves the
// others working and closing all leaves nothing loaded.
func TestSharedLoad(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	const n = 3
	var pairs []*testutil.VethPair
	for range n {
		pairs = append(pairs, testutil.NewVethPair(t))
	}
	mainBefore, stubsBefore := countProgs(t, bpf.NetfaultProgTbTcEgress), countProgs(t, bpf.NetfaultStubTCEgress)
	var atts []*Attachment
	for _, p := range pairs {
		atts = append(atts, mustAttach(t, p.A, udpEgressDrop()))
	}
	if got := countProgs(t, bpf.NetfaultProgTbTcEgress) - mainBefore; got != 1 {
		t.Errorf("%d attachments loaded %s %d times, want once", n, bpf.NetfaultProgTbTcEgress, got)
	}
	if got := countProgs(t, bpf.NetfaultStubTCEgress) - stubsBefore; got != n {
		t.Errorf("%d attachments loaded %d stubs, want %d", n, got, n)
	}
	for i := range atts {
		if atts[i].load != atts[0].load {
			t.Errorf("attachment %d has its own load", i)
		}
	}

	// Traffic on one target raises only its counters.
	for i, p := range pairs {
		before := make([]Counters, n)
		for j, a := range atts {
			before[j] = counters(t, a)
		}
		if i == 0 {
			for j, c := range before {
				if c.Matched != 0 || c.Dropped != 0 {
					t.Errorf("attachment %d starts at %+v, want zero", j, c)
				}
			}
		}
		if !sendDropped(t, p) {
			t.Errorf("target %d: UDP not dropped", i)
		}
		for j, a := range atts {
			after := counters(t, a)
			grew := after.Dropped > before[j].Dropped
			if grew != (i == j) || after.Matched != after.Dropped {
				t.Errorf("traffic on target %d: attachment %d counters %+v -> %+v", i, j, before[j], after)
			}
		}
	}

	mustClose(t, atts[0])
	if !flows(t, pairs[0]) {
		t.Error("target 0 still blocked after its Close")
	}
	for i := 1; i < n; i++ {
		if !sendDropped(t, pairs[i]) {
			t.Errorf("target %d: UDP not dropped after another target's Close", i)
		}
	}
	if got := countProgs(t, bpf.NetfaultProgTbTcEgress) - mainBefore; got != 1 {
		t.Errorf("main program loaded %d times after one Close, want 1", got)
	}
	for _, a := range atts[1:] {
		mustClose(t, a)
	}
	if left := testutil.WaitNoTemblorBPF(t, testutil.ReleaseGrace); len(left) > 0 {
		t.Errorf("left loaded after the last Close: %v", left)
	}
	for i, p := range pairs {
		if !flows(t, p) {
			t.Errorf("target %d blocked after the last Close", i)
		}
	}
}

// TestSharedLoadKeys: Configs that load differently get their own loads;
// Configs that differ only in how they attach share one.
func TestSharedLoadKeys(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p, q, r := testutil.NewVethPair(t), testutil.NewVethPair(t), testutil.NewVethPair(t)
	udp := mustAttach(t, p.A, udpEgressDrop())
	defer mustClose(t, udp)
	tcp := udpEgressDrop()
	tcp.Protocol = ProtocolTCP
	other := mustAttach(t, q.A, tcp)
	defer mustClose(t, other)
	if udp.load == other.load {
		t.Error("UDP and TCP drops share a load")
	}
	legacy := udpEgressDrop()
	legacy.Method, legacy.Interface = MethodNetlinkTC, r.Ifname
	same := mustAttach(t, r.A, legacy)
	defer mustClose(t, same)
	if same.load != udp.load {
		t.Error("drops that differ only in method and interface do not share a load")
	}
	if got := countProgs(t, bpf.NetfaultProgTbTcEgress); got != 2 {
		t.Errorf("%s loaded %d times, want 2", bpf.NetfaultProgTbTcEgress, got)
	}
	for i, pair := range []*testutil.VethPair{p, r} {
		if !sendDropped(t, pair) {
			t.Errorf("UDP target %d: not dropped", i)
		}
	}
	if !flows(t, q) {
		t.Error("a TCP drop blocks UDP")
	}
}

// TestSharedLoadSpills: a load at capacity is not shared further; the next
// target with the same Config gets a new load.
func TestSharedLoadSpills(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	setSlotCapacity(t, 2)
	var atts []*Attachment
	for range 3 {
		p := testutil.NewVethPair(t)
		a := mustAttach(t, p.A, udpEgressDrop())
		atts = append(atts, a)
		if !sendDropped(t, p) {
			t.Errorf("slot %d: UDP not dropped", a.slot)
		}
		if c := counters(t, a); c.Dropped == 0 {
			t.Errorf("slot %d: counted nothing: %+v", a.slot, c)
		}
	}
	if atts[0].load != atts[1].load || atts[2].load == atts[0].load {
		t.Error("want two targets in the first load and the third in a second")
	}
	if got, want := []uint32{atts[0].slot, atts[1].slot, atts[2].slot}, []uint32{0, 1, 0}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("slots %v, want %v", got, want)
	}
	if got := countProgs(t, bpf.NetfaultProgTbTcEgress); got != 2 {
		t.Errorf("%s loaded %d times, want 2", bpf.NetfaultProgTbTcEgress, got)
	}
	for _, a := range atts {
		mustClose(t, a)
	}
	if left := testutil.WaitNoTemblorBPF(t, testutil.ReleaseGrace); len(left) > 0 {
		t.Errorf("left loaded after the last Close: %v", left)
	}
}

// TestSlotReuseStartsAtZero: a slot given out again counts from zero, not
// from where its previous target left it.
func TestSlotReuseStartsAtZero(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p, q := testutil.NewVethPair(t), testutil.NewVethPair(t)
	keep := mustAttach(t, p.A, udpEgressDrop())
	defer mustClose(t, keep)
	first := mustAttach(t, q.A, udpEgressDrop())
	if !sendDropped(t, q) || counters(t, first).Dropped == 0 {
		t.Fatalf("first target: nothing dropped: %+v", counters(t, first))
	}
	slot := first.slot
	mustClose(t, first)
	again := mustAttach(t, q.A, udpEgressDrop())
	defer mustClose(t, again)
	if again.slot != slot || again.load != keep.load {
		t.Fatalf("got slot %d of load %p, want slot %d of load %p again", again.slot, again.load, slot, keep.load)
	}
	if c := counters(t, again); c != (Counters{}) {
		t.Errorf("reused slot starts at %+v, want zero", c)
	}
}

// TestConcurrentAttachLoadsOnce: 16 parallel Attach calls with one Config
// (as the agent attaches) load the main program once.
func TestConcurrentAttachLoadsOnce(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	const n = 16
	pairs := make([]*testutil.VethPair, n)
	for i := range pairs {
		pairs[i] = testutil.NewVethPair(t)
	}
	before := countProgs(t, bpf.NetfaultProgTbTcEgress)
	atts := make([]*Attachment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { atts[i], errs[i] = Attach(context.Background(), pairs[i].A, udpEgressDrop()) })
	}
	wg.Wait()
	slots := map[uint32]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attach %d: %+v", i, err)
		}
		defer mustClose(t, atts[i])
		slots[atts[i].slot] = true
	}
	if got := countProgs(t, bpf.NetfaultProgTbTcEgress) - before; got != 1 {
		t.Errorf("%d concurrent attachments loaded %s %d times, want once", n, bpf.NetfaultProgTbTcEgress, got)
	}
	if len(slots) != n {
		t.Errorf("%d attachments got %d distinct slots", n, len(slots))
	}
	for _, i := range []int{0, n - 1} {
		if !sendDropped(t, pairs[i]) {
			t.Errorf("target %d: UDP not dropped", i)
		}
	}
}
