package bpf

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// stubSlots is the tb_net_cnt size of loadShared: enough slots to show that
// a stub's slot picks its entry.
const stubSlots = 4

// loadShared loads the object as injector/network does for shared use:
// tb_net_cnt with stubSlots entries and the main programs in the prog
// arrays.
func loadShared(tb testing.TB) *NetfaultObjects {
	tb.Helper()
	testutil.RequireRoot(tb)
	testutil.LeakCheckEventually(tb)
	spec, err := LoadNetfault()
	if err != nil {
		tb.Fatal(err)
	}
	spec.Maps[NetfaultMapTbNetCnt].MaxEntries = stubSlots
	var objs NetfaultObjects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		testutil.SkipIfNotSupported(tb, err)
	}
	tb.Cleanup(func() { objs.Close() })
	for _, e := range []struct {
		m     *ebpf.Map
		index uint32
		prog  *ebpf.Program
	}{
		{objs.TbTcProgs, NetfaultTailTCIngress, objs.TbTcIngress},
		{objs.TbTcProgs, NetfaultTailTCEgress, objs.TbTcEgress},
		{objs.TbXdpProgs, NetfaultTailXDPIngress, objs.TbXdpIngress},
	} {
		if err := e.m.Put(e.index, e.prog); err != nil {
			tb.Fatalf("put %s into prog array: %v", e.prog, err)
		}
	}
	return &objs
}

// stubLoad loads the spec NetfaultTCStub or NetfaultXDPStub returns.
type stubLoad func(*ebpf.ProgramSpec, error) *ebpf.Program

// stubLoader returns a function that loads the spec NetfaultTCStub or
// NetfaultXDPStub returns, for the test's lifetime.
func stubLoader(tb testing.TB) stubLoad {
	return func(spec *ebpf.ProgramSpec, err error) *ebpf.Program {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		p, err := ebpf.NewProgram(spec)
		if err != nil {
			tb.Fatalf("load stub %s: %+v", spec.Name, err)
		}
		tb.Cleanup(func() { p.Close() })
		return p
	}
}

// slotCounters sums the counters of one slot over CPUs.
func slotCounters(tb testing.TB, objs *NetfaultObjects, slot uint32) NetfaultNetCnt {
	tb.Helper()
	var per []NetfaultNetCnt
	if err := objs.TbNetCnt.Lookup(slot, &per); err != nil {
		tb.Fatalf("lookup counters of slot %d: %v", slot, err)
	}
	var sum NetfaultNetCnt
	for _, c := range per {
		sum.Seen += c.Seen
		sum.Matched += c.Matched
		sum.Dropped += c.Dropped
	}
	return sum
}

// TestNetfaultStubs runs each stub on a frame: it reaches the main program
// through the tail call, which counts into the stub's slot only; a slot
// outside tb_net_cnt, or an empty prog array, lets the packet pass.
func TestNetfaultStubs(t *testing.T) {
	objs := loadShared(t)
	setConfig(t, objs, dropAll())
	frame := buildFrame(udp4())
	for _, tc := range []struct {
		name string
		slot uint32
		load func(loadStub stubLoad, slot uint32) *ebpf.Program
		drop uint32
		pass uint32
	}{
		{"tc egress", 2, func(loadStub stubLoad, s uint32) *ebpf.Program {
			return loadStub(NetfaultTCStub(NetfaultStubTCEgress, s, objs.TbTcProgs, NetfaultTailTCEgress))
		}, tcShot, tcNext},
		{"tc ingress", 1, func(loadStub stubLoad, s uint32) *ebpf.Program {
			return loadStub(NetfaultTCStub(NetfaultStubTCIngress, s, objs.TbTcProgs, NetfaultTailTCIngress))
		}, tcShot, tcNext},
		{"xdp", 3, func(loadStub stubLoad, s uint32) *ebpf.Program {
			return loadStub(NetfaultXDPStub(s, objs.TbNetSlot, objs.TbXdpProgs))
		}, xdpDrop, xdpPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadStub := stubLoader(t)
			var before [stubSlots]NetfaultNetCnt
			for s := range uint32(stubSlots) {
				before[s] = slotCounters(t, objs, s)
			}
			if got, _ := run(t, tc.load(loadStub, tc.slot), frame); got != tc.drop {
				t.Errorf("slot %d: verdict %d, want %d (drop)", tc.slot, got, tc.drop)
			}
			for s := range uint32(stubSlots) {
				after, want := slotCounters(t, objs, s), uint64(0)
				if s == tc.slot {
					want = 1
				}
				if after.Seen-before[s].Seen != want || after.Dropped-before[s].Dropped != want {
					t.Errorf("slot %d counters %+v -> %+v, want one more drop only in slot %d", s, before[s], after, tc.slot)
				}
			}
			if got, _ := run(t, tc.load(loadStub, stubSlots+5), frame); got != tc.pass {
				t.Errorf("slot outside the map: verdict %d, want %d (pass)", got, tc.pass)
			}
		})
	}

	t.Run("empty prog array", func(t *testing.T) {
		loadStub := stubLoader(t)
		eg := loadStub(NetfaultTCStub(NetfaultStubTCEgress, 0, objs.TbTcProgs, NetfaultTailTCEgress))
		xdp := loadStub(NetfaultXDPStub(0, objs.TbNetSlot, objs.TbXdpProgs))
		for _, e := range []struct {
			m     *ebpf.Map
			index uint32
		}{{objs.TbTcProgs, NetfaultTailTCEgress}, {objs.TbXdpProgs, NetfaultTailXDPIngress}} {
			if err := e.m.Delete(e.index); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := run(t, eg, frame); got != tcNext {
			t.Errorf("tc: verdict %d, want %d (next)", got, tcNext)
		}
		if got, _ := run(t, xdp, frame); got != xdpPass {
			t.Errorf("xdp: verdict %d, want %d (pass)", got, xdpPass)
		}
	})
}
