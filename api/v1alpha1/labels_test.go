package v1alpha1_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// TestFaultInjectionNameIsInjective checks that two different (fault, node)
// pairs never share a FaultInjection name: the pairs that collided with
// "<fault>-<node>" first, then many random valid names.
func TestFaultInjectionNameIsInjective(t *testing.T) {
	for _, pair := range [][2][2]string{
		{{"a", "b-c"}, {"a-b", "c"}},
		{{"db", "node-1"}, {"db-node", "1"}},
		{{"x.y", "z"}, {"x", "y.z"}},
		{{strings.Repeat("f", 253), "node-a"}, {strings.Repeat("f", 253), "node-b"}},
		{{strings.Repeat("f", 200) + "a", "n"}, {strings.Repeat("f", 200) + "b", "n"}},
		{{"f", strings.Repeat("n", 240) + "a"}, {"f", strings.Repeat("n", 240) + "b"}},
	} {
		a := chaosv1.FaultInjectionName(pair[0][0], pair[0][1])
		b := chaosv1.FaultInjectionName(pair[1][0], pair[1][1])
		if a == b {
			t.Errorf("FaultInjectionName(%q, %q) == FaultInjectionName(%q, %q) == %q", pair[0][0], pair[0][1], pair[1][0], pair[1][1], a)
		}
		for _, name := range []string{a, b} {
			checkName(t, name)
		}
	}

	rng := rand.New(rand.NewPCG(11, 12))
	seen := map[string][2]string{}
	for range 20000 {
		fault, node := randomSubdomain(rng), randomSubdomain(rng)
		name := chaosv1.FaultInjectionName(fault, node)
		checkName(t, name)
		if name != chaosv1.FaultInjectionName(fault, node) {
			t.Fatalf("FaultInjectionName(%q, %q) is not stable", fault, node)
		}
		if prev, ok := seen[name]; ok && prev != [2]string{fault, node} {
			t.Fatalf("FaultInjectionName(%q, %q) == FaultInjectionName(%q, %q) == %q", fault, node, prev[0], prev[1], name)
		}
		seen[name] = [2]string{fault, node}
	}
}

// TestFaultInjectionNameIsReadable keeps short names recognisable.
func TestFaultInjectionNameIsReadable(t *testing.T) {
	if got := chaosv1.FaultInjectionName("flaky-db", "node-a"); !strings.HasPrefix(got, "flaky-db-node-a-") {
		t.Errorf("FaultInjectionName(flaky-db, node-a) = %q, want it to start with flaky-db-node-a-", got)
	}
}

func checkName(t *testing.T, name string) {
	t.Helper()
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		t.Fatalf("%q is not a valid object name: %v", name, errs)
	}
}

// randomSubdomain draws a valid DNS subdomain, biased towards short names
// over a small alphabet (where collisions are likeliest) and the edges of
// the length limit. Each character after the first is a letter, or a '-'
// or '.' between letters.
func randomSubdomain(rng *rand.Rand) string {
	n := 1 + rng.IntN(6)
	if rng.IntN(10) == 0 {
		n = 200 + rng.IntN(54)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = "ab"[rng.IntN(2)]
		if i > 0 && i < n-1 && b[i-1] != '-' && b[i-1] != '.' && rng.IntN(3) == 0 {
			b[i] = "-."[rng.IntN(2)]
		}
	}
	return string(b)
}
