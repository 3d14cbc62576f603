package network

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// BenchmarkIperf3 measures TCP throughput over the veth pair with iperf3 (3
// seconds per run) in both directions through the faulted end: with nothing
// attached, with Temblor attached at 0% drop (tcx ingress and egress; XDP
// ingress), and with the iptables baseline: a `-m statistic --mode random
// --probability 0` DROP rule in INPUT and OUTPUT of the same namespace.
// Run with -bench Iperf3 -benchtime 5x (5 rounds); it prints a table of
// medians.
func BenchmarkIperf3(b *testing.B) {
	testutil.RequireRoot(b)
	for _, tool := range []string{"iperf3", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			testutil.Skip(b, tool+" not installed")
		}
	}
	p := testutil.NewVethPair(b)
	variants := []struct {
		name  string
		setup func(b *testing.B) func()
	}{
		{"none", func(b *testing.B) func() { return func() {} }},
		{"temblor-0%-tcx", temblorZero(p, Config{Method: MethodTCX, XDP: XDPDisabled})},
		{"temblor-0%-xdp+tcx", temblorZero(p, Config{Method: MethodTCX, XDP: XDPAuto})},
		{"iptables-statistic-0", func(b *testing.B) func() {
			for _, chain := range []string{"INPUT", "OUTPUT"} {
				testutil.Run(b, "ip", "netns", "exec", p.NameA, "iptables", "-A", chain, "-m", "statistic", "--mode", "random", "--probability", "0", "-j", "DROP")
			}
			return func() { testutil.Run(b, "ip", "netns", "exec", p.NameA, "iptables", "-F") }
		}},
	}
	// Round-robin over the variants, b.N rounds, and the median per
	// variant: the machine's background load drifts between runs, so
	// running each variant's runs back to back would bias the comparison.
	runs := map[string][]float64{}
	for i := 0; i < b.N; i++ {
		for _, v := range variants {
			undo := v.setup(b)
			runs[v.name] = append(runs[v.name], iperf3(b, p)/1e9)
			undo()
		}
	}
	none := median(runs["none"])
	var table [][]string
	for _, v := range variants {
		m := median(runs[v.name])
		b.ReportMetric(m, v.name+"-Gbit/s")
		table = append(table, []string{v.name, fmt.Sprintf("%.2f", m), fmt.Sprintf("%.1f%%", 100*m/none), fmt.Sprintf("%.2f", runs[v.name])})
	}
	testutil.BenchTable(fmt.Sprintf("TCP throughput over a veth pair (iperf3, median of %d rounds), beside nothing attached and an iptables -m statistic rule", b.N),
		[]string{"variant", "Gbit/s", "vs none", "runs"}, table)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func temblorZero(p *testutil.VethPair, cfg Config) func(b *testing.B) func() {
	return func(b *testing.B) func() {
		cfg.Action, cfg.Direction, cfg.ProbabilityBasisPoints = ActionDrop, Both, 0
		a, err := Attach(context.Background(), p.A, cfg)
		if err != nil {
			b.Fatalf("%+v", err)
		}
		b.Logf("attached: %v", a.Describe())
		return func() {
			c, _ := a.Counters()
			b.Logf("counters: %+v", c)
			if err := a.Close(); err != nil {
				b.Error(err)
			}
		}
	}
}

// iperf3 runs one 3-second TCP test from A to B and returns bits/s received.
func iperf3(b *testing.B, p *testutil.VethPair) float64 {
	b.Helper()
	srv := exec.Command("ip", "netns", "exec", p.NameB, "iperf3", "-s", "-1", "-B", p.B4.String())
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	var out []byte
	var err error
	for try := 0; try < 20; try++ { // wait for the server to listen
		time.Sleep(100 * time.Millisecond)
		out, err = exec.Command("ip", "netns", "exec", p.NameA, "iperf3", "-c", p.B4.String(), "-t", "3", "-J").Output()
		if err == nil {
			break
		}
	}
	if err != nil {
		b.Fatalf("iperf3 client: %v: %s", err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("iperf3 output: %v", err)
	}
	return res.End.SumReceived.BitsPerSecond
}
