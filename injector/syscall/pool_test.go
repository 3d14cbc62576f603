package syscall

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/temblor-dev/temblor/bpf"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// connectFault is the fault the shared-load tests attach: every connect of
// a target refused, on the cgroup backend this host has.
func connectFault() Config {
	return Config{Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: 10000, Backend: Cgroup}
}

// temblorPrograms counts the Temblor programs loaded, by name.
func temblorPrograms(t *testing.T) map[string]int {
	t.Helper()
	objs, err := testutil.TemblorBPF()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, o := range objs {
		if o.Kind == "prog" {
			out[o.Name]++
		}
	}
	return out
}

// connects runs n connects from the cgroup open at fd and returns the
// helper's report.
func connects(t *testing.T, fd int, addr string, n int) helperResult {
	t.Helper()
	return runHelper(t, "connect", helperOpts{cgroupFD: fd, env: []string{"TB_ADDR=" + addr}, count: n})
}

func counters(t *testing.T, a *Attachment) Counters {
	t.Helper()
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlotsMirrorObject: the Go side hands out the slots tb_sf_stats has.
func TestSlotsMirrorObject(t *testing.T) {
	spec, err := bpf.LoadSysfaultCgroup()
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Maps[bpf.SysfaultCgroupMapTbSfStats].MaxEntries; got != loadSlots*statMax {
		t.Errorf("tb_sf_stats has %d entries, want loadSlots*statMax = %d", got, loadSlots*statMax)
	}
	if got := spec.Maps[bpf.SysfaultCgroupMapTbSfTargets].MaxEntries; got != MaxTargets {
		t.Errorf("tb_sf_targets has %d entries, want MaxTargets = %d", got, MaxTargets)
	}
}

// TestSharedLoad attaches one fault to three cgroups: the programs are
// loaded once, each target fails and counts only its own calls, closing
// one frees only that target, and closing all leaves nothing loaded.
func TestSharedLoad(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, Cgroup)
	testutil.LeakCheck(t)
	addr := loopbackListener(t)
	const n = 10

	var cgs []*testutil.Cgroup
	var fds []int
	var atts []*Attachment
	for i := 0; i < 3; i++ {
		cg := testutil.NewCgroup(t)
		cgs, fds = append(cgs, cg), append(fds, cg.Open(t))
		a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, connectFault())
		if err != nil {
			t.Fatalf("attach %s: %+v", cg, err)
		}
		defer a.Close()
		atts = append(atts, a)
	}
	progs := temblorPrograms(t)
	if progs[bpf.SysfaultCgroupProgTbSfConnect4] != 1 || progs[bpf.SysfaultCgroupProgTbSfConnect6] != 1 {
		t.Errorf("programs loaded for 3 targets: %v, want connect4 and connect6 once each", progs)
	}
	if nl, refs := loads.loadsInUse(); nl != 1 || refs != 3 {
		t.Errorf("pool: %d loads, %d attachments; want 1 load of 3", nl, refs)
	}
	slots := map[uint32]bool{}
	for _, a := range atts {
		slots[a.slot] = true
	}
	if len(slots) != 3 {
		t.Errorf("slots %v: want three different", slots)
	}

	// Each target fails, and only its own counters move.
	for i := range atts {
		if res := connects(t, fds[i], addr, n); res.Errnos["ECONNREFUSED"] != n {
			t.Errorf("target %d: %s, want %d x ECONNREFUSED", i, res, n)
		}
		for j, a := range atts {
			want := uint64(0)
			if j <= i {
				want = n
			}
			if c := counters(t, a); c.Failed != want || c.Matched != want {
				t.Errorf("after target %d's calls, target %d counts %+v, want %d matched and failed", i, j, c, want)
			}
		}
	}
	if res := connects(t, -1, addr, n); res.OK != n {
		t.Errorf("task outside the targets: %s, want %d successes", res, n)
	}

	// Closing the middle target frees it alone.
	if err := atts[1].Close(); err != nil {
		t.Fatal(err)
	}
	if res := connects(t, fds[1], addr, n); res.OK != n {
		t.Errorf("closed target: %s, want %d successes", res, n)
	}
	for _, i := range []int{0, 2} {
		if res := connects(t, fds[i], addr, n); res.Errnos["ECONNREFUSED"] != n {
			t.Errorf("target %d after another closed: %s, want %d x ECONNREFUSED", i, res, n)
		}
	}

	// A new target takes the freed slot with its counters at zero.
	cg := testutil.NewCgroup(t)
	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, connectFault())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.slot != atts[1].slot {
		t.Errorf("new target got slot %d, want the freed slot %d", a.slot, atts[1].slot)
	}
	if c := counters(t, a); c != (Counters{}) {
		t.Errorf("reused slot starts at %+v, want zero", c)
	}
	if res := connects(t, cg.Open(t), addr, n); res.Errnos["ECONNREFUSED"] != n {
		t.Errorf("target in the reused slot: %s, want %d x ECONNREFUSED", res, n)
	}
	if c := counters(t, a); c.Failed != n {
		t.Errorf("reused slot counts %+v, want %d failed", c, n)
	}

	for _, a := range append(atts, a) {
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if nl, refs := loads.loadsInUse(); nl != 0 || refs != 0 {
		t.Errorf("pool after the last Close: %d loads, %d attachments; want none", nl, refs)
	}
	if left := temblorPrograms(t); len(left) != 0 {
		t.Errorf("programs left after the last Close: %v", left)
	}
}

// TestSharedLoadKeys: different faults never share a load; nested cgroup
// scopes of one fault do not either (a key holds one slot), and each still
// holds when the other closes.
func TestSharedLoadKeys(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, Cgroup)
	testutil.LeakCheck(t)
	addr := loopbackListener(t)
	const n = 5

	outer := testutil.NewCgroup(t)
	inner := filepath.Join(outer.Path, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(inner) })
	innerFD := (&testutil.Cgroup{Path: inner}).Open(t)

	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{outer.Path}}, connectFault())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Attach(context.Background(), Scope{CgroupPaths: []string{inner}}, connectFault())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other := connectFault()
	other.Errno = "ENETUNREACH"
	c, err := Attach(context.Background(), Scope{CgroupPaths: []string{testutil.NewCgroup(t).Path}}, other)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a.load == b.load || a.load == c.load || b.load == c.load {
		t.Errorf("nested scopes or different faults share a load")
	}
	if nl, _ := loads.loadsInUse(); nl != 3 {
		t.Errorf("pool holds %d loads, want 3", nl)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if res := connects(t, innerFD, addr, n); res.Errnos["ECONNREFUSED"] != n {
		t.Errorf("inner target after the outer closed: %s, want %d x ECONNREFUSED", res, n)
	}
	if got := counters(t, b); got.Failed != n {
		t.Errorf("inner target counts %+v, want %d failed", got, n)
	}
}

// TestSharedLoadAncestorSlot: a task in a cgroup below a target that is
// not (yet) a key, as a container cgroup the follower has not seen, is
// failed by the attach point and counted in its target's slot through the
// ancestor walk.
func TestSharedLoadAncestorSlot(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, Cgroup)
	testutil.LeakCheck(t)
	addr := loopbackListener(t)
	const n = 5

	cg := testutil.NewCgroup(t)
	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, connectFault())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.follower.Close(); err != nil { // no following from here on
		t.Fatal(err)
	}
	child := filepath.Join(cg.Path, "late")
	if err := os.Mkdir(child, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(child) })
	childID, err := CgroupID(child)
	if err != nil {
		t.Fatal(err)
	}
	var slot uint32
	if err := a.load.maps.targets.Lookup(targetKey{Kind: kindCgroup, Id: childID}, &slot); err == nil {
		t.Fatalf("the new cgroup is a key (slot %d): the follower was not stopped", slot)
	}
	if res := connects(t, (&testutil.Cgroup{Path: child}).Open(t), addr, n); res.Errnos["ECONNREFUSED"] != n {
		t.Errorf("task in an unfollowed child cgroup: %s, want %d x ECONNREFUSED", res, n)
	}
	if got := counters(t, a); got.Failed != n {
		t.Errorf("target counts %+v, want the child's %d calls", got, n)
	}
	a.follower = nil // closed above
}

// TestSharedLoadConcurrent: sixteen attachments of one fault at once, as
// the agent makes them, load it once; a load whose slots run out spills
// into a second.
func TestSharedLoadConcurrent(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, Cgroup)
	testutil.LeakCheck(t)
	const n = 16
	paths := make([]string, n)
	for i := range paths {
		paths[i] = testutil.NewCgroup(t).Path
	}
	atts := make([]*Attachment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atts[i], errs[i] = Attach(context.Background(), Scope{CgroupPaths: []string{paths[i]}}, connectFault())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attach %d: %+v", i, err)
		}
		defer atts[i].Close()
	}
	if nl, refs := loads.loadsInUse(); nl != 1 || refs != n {
		t.Errorf("pool: %d loads, %d attachments; want 1 load of %d", nl, refs, n)
	}
	if got := temblorPrograms(t)[bpf.SysfaultCgroupProgTbSfConnect4]; got != 1 {
		t.Errorf("connect4 loaded %d times for %d concurrent targets, want once", got, n)
	}

	// Scopes of cgroup ids have other scope bits, so a key of their own:
	// fill one such load's slots; the next attachment needs a second load.
	var more []*Attachment
	defer func() {
		for _, a := range more {
			a.Close()
		}
	}()
	for i := 0; i < loadSlots-1; i++ {
		a, err := Attach(context.Background(), Scope{CgroupIDs: []uint64{uint64(1<<40) + uint64(i)}}, connectFault())
		if err != nil {
			t.Fatalf("attach %d: %+v", i, err)
		}
		more = append(more, a)
	}
	a, err := Attach(context.Background(), Scope{CgroupIDs: []uint64{1 << 41}}, connectFault())
	if err != nil {
		t.Fatal(err)
	}
	more = append(more, a)
	if a.load == more[0].load {
		t.Errorf("attachment %d joined a load of %d slots", loadSlots, loadSlots-1)
	}
	if nl, refs := loads.loadsInUse(); nl != 3 || refs != n+loadSlots {
		t.Errorf("pool: %d loads, %d attachments; want 3 (paths; ids, full; ids, spilled) of %d", nl, refs, n+loadSlots)
	}
}
