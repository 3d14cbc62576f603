package main

import (
	"strings"
	"testing"
)

func TestCoverageProblems(t *testing.T) {
	passing := func(kernel, pkg string) *pkgRun {
		return &pkgRun{Kernel: kernel, Pkg: pkg, Tests: map[string]*testResult{"TestX": {Name: "TestX", Action: "pass"}}}
	}
	pkgs := []string{"bpf", "injector/syscall"}
	kernels := []string{"debian-6.1", "debian-6.12", "custom"}

	var all []*pkgRun
	for _, k := range kernels {
		for _, p := range pkgs {
			all = append(all, passing(k, p))
		}
	}
	if got := coverageProblems(all, kernels, pkgs); len(got) != 0 {
		t.Fatalf("full matrix: want no problems, got %q", got)
	}

	// The regression of issue 11 (hole 14): both Debian kernels dropped out
	// before the runner and only custom ran.
	onlyCustom := []*pkgRun{passing("custom", "bpf"), passing("custom", "injector/syscall")}
	got := coverageProblems(onlyCustom, kernels, pkgs)
	if len(got) != 4 {
		t.Fatalf("only custom ran: want 4 problems (2 kernels x 2 packages), got %q", got)
	}
	if !strings.Contains(got[0], "debian-6.1: package bpf did not run") {
		t.Errorf("problem %q does not name the missing kernel and package", got[0])
	}

	// A package that booted but ran nothing (a binary that died at start).
	empty := append([]*pkgRun(nil), all...)
	empty[1] = &pkgRun{Kernel: "debian-6.1", Pkg: "injector/syscall", ExitStatus: 2, Tests: map[string]*testResult{}}
	got = coverageProblems(empty, kernels, pkgs)
	if len(got) != 1 || !strings.Contains(got[0], "ran no passing test (exit status 2)") {
		t.Fatalf("empty run: got %q", got)
	}
}

func TestShortPkgs(t *testing.T) {
	got := shortPkgs([]string{"./injector/syscall", "bpf"})
	if strings.Join(got, ",") != "injector/syscall,bpf" {
		t.Fatalf("got %q", got)
	}
}
