package bpf

import (
	"testing"

	"github.com/cilium/ebpf"
)

// BenchmarkNetfault measures ns/packet of each program with BPF_PROG_TEST_RUN
// on a UDP frame: "pass" is a filter that does not match (the cost every
// other packet pays), the others match and act on every packet.
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
		for _, name := range []string{"pass", "match_prob0", "match_drop", "match_corrupt_udplen", "match_corrupt_payload4"} {
			cfg, ok := prog.cfgs[name]
			if !ok {
				continue
			}
			b.Run(prog.name+"/"+name, func(b *testing.B) {
				setConfig(b, objs, cfg)
				_, per, err := prog.prog.Benchmark(frame, b.N, b.ResetTimer)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(per.Nanoseconds()), "ns/packet")
			})
		}
	}
}
