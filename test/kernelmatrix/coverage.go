package main

import (
	"fmt"
	"strings"
)

// coverageProblems checks that the matrix ran what it was asked to: every
// wanted kernel booted every package and ran at least one test there. A
// kernel that dropped out before the runner (a failed download, a missing
// tool) or a package whose binary never started must fail the matrix, not
// shrink it quietly.
func coverageProblems(runs []*pkgRun, wantKernels, wantPkgs []string) []string {
	byKey := map[string]*pkgRun{}
	for _, r := range runs {
		byKey[r.Kernel+"\x00"+r.Pkg] = r
	}
	var problems []string
	for _, k := range wantKernels {
		for _, p := range wantPkgs {
			r, ok := byKey[k+"\x00"+p]
			if !ok {
				problems = append(problems, fmt.Sprintf("kernel %s: package %s did not run (kernel missing from the matrix)", k, p))
				continue
			}
			if pass, _, _, _ := r.counts(); pass == 0 {
				problems = append(problems, fmt.Sprintf("kernel %s: package %s ran no passing test (exit status %d)", k, p, r.ExitStatus))
			}
		}
	}
	return problems
}

// shortPkgs returns the package paths as the runs name them.
func shortPkgs(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/"))
	}
	return out
}
