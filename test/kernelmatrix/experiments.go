package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// experimentsPkg is the package that runs every experiment of experiments/
// for real; its tests log one line per measured run, starting with
// resultMarker (experiments/live's ResultMarker).
const (
	experimentsPkg = "experiments/live"
	resultMarker   = "RESULT "
	experimentTest = "TestExperimentsRun/"
)

// experimentResult is one measured run of an experiment on one kernel.
type experimentResult struct {
	Kernel, Experiment, How, Expected, Measured string
}

// experimentResults collects the result lines of the passing runs of the
// experiments package: a line from a failed or skipped test does not count.
func experimentResults(runs []*pkgRun) []experimentResult {
	var out []experimentResult
	for _, r := range runs {
		if r.Pkg != experimentsPkg {
			continue
		}
		for _, name := range r.Order {
			t := r.Tests[name]
			if t.Action != "pass" || !strings.HasPrefix(name, experimentTest) {
				continue
			}
			for _, line := range t.Output {
				_, rest, ok := strings.Cut(line, resultMarker)
				if !ok {
					continue
				}
				head, tail, _ := strings.Cut(rest, " | ")
				expected, measured, _ := strings.Cut(tail, " | ")
				exp, how, _ := strings.Cut(strings.TrimSpace(head), " ")
				out = append(out, experimentResult{Kernel: r.Kernel, Experiment: exp, How: how, Expected: expected, Measured: strings.TrimSpace(measured)})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Experiment < out[j].Experiment })
	return out
}

// shippedExperiments lists the experiments of experiments/ (a directory with
// a README), relative to the repository root the runner works in.
func shippedExperiments() ([]string, error) {
	readmes, err := filepath.Glob("experiments/*/README.md")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(readmes))
	for _, r := range readmes {
		names = append(names, filepath.Base(filepath.Dir(r)))
	}
	sort.Strings(names)
	return names, nil
}

// experimentProblems fails the matrix for every shipped experiment that no
// kernel ran to a passing, measured result: an experiment no kernel can run
// must not ship. It applies only when the experiments package was run.
func experimentProblems(runs []*pkgRun, shipped []string) []string {
	ran := false
	for _, r := range runs {
		ran = ran || r.Pkg == experimentsPkg
	}
	if !ran {
		return nil
	}
	passed := map[string]bool{}
	for _, res := range experimentResults(runs) {
		passed[res.Experiment] = true
	}
	var problems []string
	for _, e := range shipped {
		if !passed[e] {
			problems = append(problems, fmt.Sprintf("experiment %s passed on no kernel of the matrix (%s)", e, experimentsPkg))
		}
	}
	return problems
}

// reportExperiments prints one row per experiment and kernel that measured
// it: how it attached, what its README expects, what the run measured.
func reportExperiments(w io.Writer, runs []*pkgRun) {
	results := experimentResults(runs)
	if len(results) == 0 {
		return
	}
	fmt.Fprintln(w, "\n== experiments (experiments/live: each manifest of experiments/ run for real)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPERIMENT\tKERNEL\tBACKEND\tMEASURED")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Experiment, r.Kernel, r.How, r.Measured)
	}
	tw.Flush()
	fmt.Fprintln(w, "expected results:")
	seen := map[string]bool{}
	for _, r := range results {
		if !seen[r.Experiment] {
			seen[r.Experiment] = true
			fmt.Fprintf(w, "  %-22s %s\n", r.Experiment, r.Expected)
		}
	}
}
