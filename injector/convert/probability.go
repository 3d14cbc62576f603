package convert

import (
	"fmt"
	"strconv"
	"strings"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// BasisPoints converts a percentage with at most two decimals ("30.5",
// "0.05", "100") to basis points (3050, 5, 10000). The empty string is the
// API default, 100%.
func BasisPoints(p chaosv1.Probability) (uint32, error) {
	s := string(p)
	if s == "" {
		return 10000, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("probability %q: want a percentage with at most two decimals", s)
	}
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
	if bp > 10000 {
		return 0, fmt.Errorf("probability %q: above 100", s)
	}
	return uint32(bp), nil
}
