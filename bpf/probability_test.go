package bpf

import (
	_ "embed"
	"regexp"
	"strconv"
	"testing"
)

// probabilityHeader is include/probability.h, embedded so that the test
// binary carries it into the kernel matrix's VMs, which have no source tree.
//
//go:embed include/probability.h
var probabilityHeader []byte

// TestProbabilityOneMatchesHeader holds Go's unit of probability to the one
// both BPF families compile with.
func TestProbabilityOneMatchesHeader(t *testing.T) {
	m := regexp.MustCompile(`(?m)^#define TB_PROB_ONE (\d+)$`).FindSubmatch(probabilityHeader)
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
