package bpf

import (
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// BenchmarkNetfault measures ns/packet of each program with BPF_PROG_TEST_RUN
// on a UDP frame, beside an empty program of the same type run the same way
// on the same frame: BPF_PROG_TEST_RUN itself costs tens of ns (context set
// up, the run loop), so the figure that reads on its own is the delta over
// empty. "pass" is a filter that does not match (the cost every other packet
// pays); the others match and act on every packet. A table is printed at
// the end.
func BenchmarkNetfault(b *testing.B) {
	objs := loadObjects(b)
	miss := dropAll()
	miss.Dports, miss.N_dports = ranges([2]uint16{1, 10}, [2]uint16{20, 30}, [2]uint16{100, 200})
	// Matches but rolls a 0% probability: the whole match path, no action.
	match0 := dropAll()
	match0.Dports, match0.N_dports = ranges([2]uint16{1, 10}, [2]uint16{20, 30}, [2]uint16{53, 53})
	match0.Probability = 0
	payloadRepair := corruptCfg(NetfaultTbFieldTB_FIELD_PAYLOAD, NetfaultTbModeTB_MODE_DELTA, 0, true)
	payloadRepair.PayloadBytes = 4
	udpLen := corruptCfg(NetfaultTbFieldTB_FIELD_UDP_LEN, NetfaultTbModeTB_MODE_DELTA, -8, true)

	frame := buildFrame(udp4())
	type row struct {
		prog, cfg   string
		ns, overNop float64
	}
	var rows []row
	for _, prog := range []struct {
		name string
		prog *ebpf.Program
		cfgs map[string]NetfaultNetCfg
	}{
		{"tc_egress", objs.TbTcEgress, map[string]NetfaultNetCfg{
			"pass": miss, "match_prob0": match0, "match_drop": dropAll(),
			"match_corrupt_udplen": udpLen, "match_corrupt_payload4": payloadRepair,
		}},
		{"tc_ingress", objs.TbTcIngress, map[string]NetfaultNetCfg{"pass": miss, "match_drop": dropAll()}},
		{"xdp_ingress", objs.TbXdpIngress, map[string]NetfaultNetCfg{"pass": miss, "match_prob0": match0, "match_drop": dropAll()}},
	} {
		empty := emptyProgram(b, prog.prog.Type())
		var emptyNs float64
		b.Run(prog.name+"/empty", func(b *testing.B) {
			emptyNs = benchRun(b, empty, frame)
		})
		rows = append(rows, row{prog.name, "empty", emptyNs, 0})
		for _, name := range []string{"pass", "match_prob0", "match_drop", "match_corrupt_udplen", "match_corrupt_payload4"} {
			cfg, ok := prog.cfgs[name]
			if !ok {
				continue
			}
			var ns float64
			b.Run(prog.name+"/"+name, func(b *testing.B) {
				setConfig(b, objs, cfg)
				ns = benchRun(b, prog.prog, frame)
				b.ReportMetric(ns-emptyNs, "ns-over-empty/packet")
			})
			rows = append(rows, row{prog.name, name, ns, ns - emptyNs})
		}
	}
	var table [][]string
	for _, r := range rows {
		over := "(baseline)"
		if r.cfg != "empty" {
			over = fmt.Sprintf("%+.1f ns", r.overNop)
		}
		table = append(table, []string{r.prog, r.cfg, fmt.Sprintf("%.1f", r.ns), over})
	}
	testutil.BenchTable(fmt.Sprintf("netfault programs: BPF_PROG_TEST_RUN on a %d-byte UDP/IPv4 frame, beside an empty program of the same type", len(frame)),
		[]string{"program", "case", "ns/packet", "over empty"}, table)
}

// benchRun runs prog b.N times on frame in the kernel and returns (and
// reports) the kernel's ns per run.
func benchRun(b *testing.B, prog *ebpf.Program, frame []byte) float64 {
	b.Helper()
	_, per, err := prog.Benchmark(frame, b.N, b.ResetTimer)
	if err != nil {
		b.Fatal(err)
	}
	ns := float64(per.Nanoseconds())
	b.ReportMetric(ns, "ns/packet")
	return ns
}

// emptyProgram loads a program of type typ that returns "pass" at once
// (TC_ACT_OK for tc, XDP_PASS for XDP): the floor of BPF_PROG_TEST_RUN.
func emptyProgram(b *testing.B, typ ebpf.ProgramType) *ebpf.Program {
	b.Helper()
	ret := int32(0) // TC_ACT_OK
	if typ == ebpf.XDP {
		ret = 2 // XDP_PASS
	}
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "tb_empty",
		Type:         typ,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, ret), asm.Return()},
	})
	if err != nil {
		b.Fatalf("load empty %s program: %v", typ, err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}
