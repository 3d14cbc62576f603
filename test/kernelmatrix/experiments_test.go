package main

import (
	"strings"
	"testing"
)

func TestExperimentProblems(t *testing.T) {
	line := func(exp string) []string {
		return []string{"    live_test.go:109: " + resultMarker + exp + " lsm | want X | got X"}
	}
	run := func(kernel string, tests map[string]*testResult) *pkgRun {
		r := &pkgRun{Kernel: kernel, Pkg: experimentsPkg, Tests: tests}
		for n := range tests {
			r.Order = append(r.Order, n)
		}
		return r
	}
	runs := []*pkgRun{
		run("debian-6.1", map[string]*testResult{
			"TestExperimentsRun/disk-full/lsm": {Action: "pass", Output: line("disk-full")},
			"TestExperimentsRun/fork-failures": {Action: "skip", Output: line("fork-failures")},
		}),
		run("custom", map[string]*testResult{
			"TestExperimentsRun/dns-blackhole": {Action: "fail", Output: line("dns-blackhole")},
		}),
	}
	got := experimentProblems(runs, []string{"disk-full", "dns-blackhole", "fork-failures", "never-ran"})
	want := []string{"dns-blackhole", "fork-failures", "never-ran"}
	if len(got) != len(want) {
		t.Fatalf("problems %q, want one each for %v", got, want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], "experiment "+w+" passed on no kernel") {
			t.Errorf("problem %d = %q, want it about %s", i, got[i], w)
		}
	}
	res := experimentResults(runs)
	if len(res) != 1 || res[0].Kernel != "debian-6.1" || res[0].How != "lsm" || res[0].Expected != "want X" || res[0].Measured != "got X" {
		t.Errorf("results %+v, want the one passing disk-full line", res)
	}
	if p := experimentProblems(runs[:0], []string{"x"}); p != nil {
		t.Errorf("without the experiments package: %q, want none", p)
	}
}

func TestShippedExperiments(t *testing.T) {
	// go test runs in the package directory; the runner in the repository root.
	t.Chdir("../..")
	names, err := shippedExperiments()
	if err != nil || len(names) < 11 {
		t.Fatalf("shippedExperiments() = %v, %v; want at least 11", names, err)
	}
}
