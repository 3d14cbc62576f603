package v1alpha1_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// TestCRDPathPrefixRule reads the generated CRDs and checks that the CEL
// rule on pathPrefix lists exactly PathFilterableSyscalls: the API accepts
// a prefix where some backend can filter by path, and nowhere else.
func TestCRDPathPrefixRule(t *testing.T) {
	files, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRD under config/crd/bases: %v", err)
	}
	want := sysfault.PathFilterableSyscalls()
	listRE := regexp.MustCompile(`^!has\(self\.pathPrefix\) \|\| self\.syscalls\.all\(s, s in \[([^\]]*)\]\)$`)
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		walkCEL(doc, func(rule, message string) {
			if !strings.Contains(rule, "self.pathPrefix") || !strings.Contains(rule, "self.syscalls") {
				return
			}
			found++
			m := listRE.FindStringSubmatch(rule)
			if m == nil {
				t.Errorf("%s: pathPrefix rule %q is not of the form the test reads", filepath.Base(f), rule)
				return
			}
			var got []string
			for _, q := range strings.Split(m[1], ",") {
				got = append(got, strings.Trim(strings.TrimSpace(q), "'"))
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: CEL pathPrefix list %v\nwant sysfault.PathFilterableSyscalls() %v", filepath.Base(f), got, want)
			}
			for _, s := range want {
				if !strings.Contains(message, s) {
					t.Errorf("%s: message %q does not name %s", filepath.Base(f), message, s)
				}
			}
		})
	}
	if found == 0 {
		t.Fatal("no CEL rule on pathPrefix found in the CRDs")
	}
}

// walkCEL calls fn for every x-kubernetes-validations entry under v.
func walkCEL(v any, fn func(rule, message string)) {
	switch x := v.(type) {
	case map[string]any:
		if list, ok := x["x-kubernetes-validations"].([]any); ok {
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					rule, _ := m["rule"].(string)
					msg, _ := m["message"].(string)
					fn(rule, msg)
				}
			}
		}
		for _, c := range x {
			walkCEL(c, fn)
		}
	case []any:
		for _, c := range x {
			walkCEL(c, fn)
		}
	}
}
