package testutil

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
)

// Markers around a table printed by BenchTable; hack/bench/run.sh (make
// bench) keeps the last table of each title.
const (
	BenchTableStart = "=== BENCH TABLE: "
	BenchTableEnd   = "=== END BENCH TABLE"
)

// BenchTable prints a benchmark's result table to stdout between markers, so
// that make bench can collect it: header then rows, tab-aligned. A benchmark
// function runs more than once (b.N grows); print on every run, the last one
// counts.
func BenchTable(title string, header []string, rows [][]string) {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(os.Stdout, "\n%s%s\n%s%s\n", BenchTableStart, title, sb.String(), BenchTableEnd)
}
