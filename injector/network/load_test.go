package network

import (
	"context"
	"slices"
	"testing"

	"github.com/temblor-dev/temblor/bpf"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// TestNeededPrograms: only the programs a Config can attach are loaded (and
// verified); every program an attach may fall back to is among them.
func TestNeededPrograms(t *testing.T) {
	eg, ing, xdp := bpf.NetfaultProgTbTcEgress, bpf.NetfaultProgTbTcIngress, bpf.NetfaultProgTbXdpIngress
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"egress drop", Config{Action: ActionDrop, Direction: Egress}, []string{eg}},
		{"ingress drop, XDP auto (tc fallback)", Config{Action: ActionDrop, Direction: Ingress, XDP: XDPAuto}, []string{xdp, ing}},
		{"ingress drop, XDP disabled", Config{Action: ActionDrop, Direction: Ingress, XDP: XDPDisabled}, []string{ing}},
		{"both drop, XDP forced", Config{Action: ActionDrop, Direction: Both, XDP: XDPNative}, []string{eg, xdp}},
		{"ingress corrupt (never XDP)", Config{Action: ActionCorrupt, Direction: Ingress, XDP: XDPAuto}, []string{ing}},
		{"both corrupt", Config{Action: ActionCorrupt, Direction: Both}, []string{eg, ing}},
	} {
		got := neededPrograms(tc.cfg)
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: load %v, want %v", tc.name, got, want)
		}
	}
}

// TestEgressDropLoadsOneProgram attaches an egress drop for real and lists
// the kernel's programs: of the main programs only tc egress is loaded, not
// the ingress tc or XDP programs it would never attach, and the target's
// only stub is the tc egress one.
func TestEgressDropLoadsOneProgram(t *testing.T) {
	testutil.RequireRoot(t)
	// netlink-tc (kernels before 6.6) frees a filter's program after an RCU
	// grace period.
	testutil.LeakCheckEventually(t)
	vp := testutil.NewVethPair(t)
	a, err := Attach(context.Background(), vp.A, Config{Action: ActionDrop, Direction: Egress, ProbabilityBasisPoints: 10000})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	defer a.Close()
	objs, err := testutil.TemblorBPF()
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, o := range objs {
		if o.Kind == "prog" {
			progs = append(progs, o.Name)
		}
	}
	slices.Sort(progs)
	want := []string{bpf.NetfaultStubTCEgress, bpf.NetfaultProgTbTcEgress}
	slices.Sort(want)
	if !slices.Equal(progs, want) {
		t.Errorf("loaded programs %v, want only %v (main program and its stub)", progs, want)
	}
}
