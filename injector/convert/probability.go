package convert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"

	"github.com/temblor-dev/temblor/bpf"
)

// probabilityPattern and maxProbabilityLen are the CRD's for Probability
// (api/v1alpha1): BasisPoints accepts exactly what the API server does.
var probabilityPattern = regexp.MustCompile(`^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$`)

const maxProbabilityLen = 6

// BasisPoints converts a percentage with at most two decimals ("30.5",
// "0.05", "100") to basis points (3050, 5, 10000). The empty string is the
// API default, 100%.
func BasisPoints(p chaosv1.Probability) (uint32, error) {
	s := string(p)
	if s == "" {
		return bpf.ProbabilityOne, nil
	}
	if len(s) > maxProbabilityLen || !probabilityPattern.MatchString(s) {
		return 0, fmt.Errorf("probability %q: want a percentage from 0 to 100 with at most two decimals", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseUint(whole, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("probability %q: %w", s, err)
	}
	f, err := strconv.ParseUint(frac, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("probability %q: %w", s, err)
	}
	bp := w*100 + f
	if bp > bpf.ProbabilityOne {
		return 0, fmt.Errorf("probability %q: above 100", s)
	}
	return uint32(bp), nil
}
