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

// TestCRDClosedLists reads the generated CRDs, what the API server really
// enforces, and checks every closed list in them against injector/syscall's
// tables: the syscall and errno enums, and the CEL rules that say which
// syscalls take a path prefix and which take ports and peer CIDRs. A list
// edited by hand in a marker, or a table row added without regenerating,
// fails here.
func TestCRDClosedLists(t *testing.T) {
	files, err := filepath.Glob("../../config/crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRD under config/crd/bases: %v", err)
	}
	rules := []struct {
		field string // the CEL rule's guard names this field
		re    *regexp.Regexp
		want  []string
	}{
		{"pathPrefix", regexp.MustCompile(`^!has\(self\.pathPrefix\) \|\| self\.syscalls\.all\(s, s in \[([^\]]*)\]\)$`), sysfault.PathFilterableSyscalls()},
		{"peerCIDRs", regexp.MustCompile(`^!\(has\(self\.ports\) \|\| has\(self\.peerCIDRs\)\) \|\| self\.syscalls\.all\(s, s in \[([^\]]*)\]\)$`), sysfault.AddressFilterableSyscalls()},
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(f)
		found := map[string]int{}
		walkProperties(doc, func(prop string, schema map[string]any) {
			switch prop {
			case "syscalls":
				items, _ := schema["items"].(map[string]any)
				checkEnum(t, name+" syscalls", items["enum"], sysfault.SyscallNames())
				found["syscalls enum"]++
			case "errno":
				checkEnum(t, name+" errno", schema["enum"], sysfault.ErrnoNames())
				found["errno enum"]++
			}
		})
		walkCEL(doc, func(rule, message string) {
			for _, r := range rules {
				if !strings.Contains(rule, "self."+r.field) || !strings.Contains(rule, "self.syscalls") {
					continue
				}
				found[r.field+" rule"]++
				m := r.re.FindStringSubmatch(rule)
				if m == nil {
					t.Errorf("%s: %s rule %q is not of the form the test reads", name, r.field, rule)
					continue
				}
				var got []string
				for _, q := range strings.Split(m[1], ",") {
					got = append(got, strings.Trim(strings.TrimSpace(q), "'"))
				}
				slices.Sort(got)
				if !slices.Equal(got, r.want) {
					t.Errorf("%s: CEL %s list %v\nwant the injector's %v", name, r.field, got, r.want)
				}
				for _, s := range r.want {
					if !strings.Contains(message, s) {
						t.Errorf("%s: %s message %q does not name %s", name, r.field, message, s)
					}
				}
			}
		})
		// Every CRD embeds a FaultAction: each list must show up, so a
		// renamed field cannot make the test check nothing.
		for _, what := range []string{"syscalls enum", "errno enum", "pathPrefix rule", "peerCIDRs rule"} {
			if found[what] == 0 {
				t.Errorf("%s: no %s found", name, what)
			}
		}
	}
}

func checkEnum(t *testing.T, where string, enum any, want []string) {
	t.Helper()
	list, _ := enum.([]any)
	var got []string
	for _, v := range list {
		s, _ := v.(string)
		got = append(got, s)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: CRD enum %v\nwant the injector's %v", where, got, want)
	}
}

// walkProperties calls fn for every named property schema under v.
func walkProperties(v any, fn func(name string, schema map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if props, ok := x["properties"].(map[string]any); ok {
			for n, p := range props {
				if m, ok := p.(map[string]any); ok {
					fn(n, m)
				}
			}
		}
		for _, c := range x {
			walkProperties(c, fn)
		}
	case []any:
		for _, c := range x {
			walkProperties(c, fn)
		}
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
