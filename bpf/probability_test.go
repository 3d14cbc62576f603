package bpf

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestProbabilityOneMatchesHeader holds Go's unit of probability to the one
// both BPF families compile with.
func TestProbabilityOneMatchesHeader(t *testing.T) {
	b, err := os.ReadFile("include/probability.h")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define TB_PROB_ONE (\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("include/probability.h: no #define TB_PROB_ONE")
	}
	got, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if got != ProbabilityOne {
		t.Fatalf("TB_PROB_ONE is %d in include/probability.h, ProbabilityOne is %d in Go", got, ProbabilityOne)
	}
}
