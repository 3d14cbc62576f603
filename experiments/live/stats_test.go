package live_test

import (
	"math"
	"testing"
)

// binomialBounds returns the range of successes out of n at probability p
// that a correct injector leaves with overwhelming likelihood (six standard
// deviations: a false failure about once in 10^9 runs).
func binomialBounds(n int, p float64) (lo, hi int) {
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	return int(math.Floor(mean - 6*sd)), int(math.Ceil(mean + 6*sd))
}

// expectRate fails t unless got of n is a plausible outcome of probability p.
func expectRate(t *testing.T, what string, got, n int, p float64) {
	t.Helper()
	lo, hi := binomialBounds(n, p)
	if got < lo || got > hi || (p > 0 && got == 0) || (p < 1 && got == n) {
		t.Errorf("%s: %d of %d, want about %.0f%% (%d..%d, and neither none nor all)", what, got, n, 100*p, max(lo, 1), min(hi, n-1))
	}
}

func TestBinomialBounds(t *testing.T) {
	for _, c := range []struct {
		n      int
		p      float64
		lo, hi int
	}{{1000, 0.1, 43, 157}, {400, 0.5, 140, 260}} {
		lo, hi := binomialBounds(c.n, c.p)
		if lo != c.lo || hi != c.hi {
			t.Errorf("binomialBounds(%d, %v) = %d..%d, want %d..%d", c.n, c.p, lo, hi, c.lo, c.hi)
		}
	}
}
