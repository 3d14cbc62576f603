package local

import (
	"strings"
	"testing"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

func TestParseFault(t *testing.T) {
	f, err := ParseFault([]byte(`
# a comment before the document marker
---
apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata: {name: x}
spec:
  selector: {matchLabels: {app: web}}
  duration: 30s
  network: {type: Corrupt, protocol: UDP, corrupt: {field: UDPLength, delta: 4}}
`))
	if err != nil {
		t.Fatal(err)
	}
	n := f.Spec.Network
	if f.Spec.Mode != chaosv1.ModeAll || n.Direction != chaosv1.DirectionBoth || n.Probability != "100" || n.Corrupt.Checksum != chaosv1.ChecksumRepair {
		t.Errorf("defaults not applied: %+v %+v", f.Spec, n)
	}
	if !HasSelector(f) {
		t.Errorf("selector not seen")
	}

	for name, bad := range map[string]string{
		"unknown field":                        "spec: {duration: 1s, syscall: {syscalls: [connect], errno: EIO, propability: '5'}}",
		"two actions":                          "spec: {duration: 1s, network: {type: Drop}, syscall: {syscalls: [connect], errno: EIO}}",
		"no action":                            "spec: {duration: 1s}",
		"no duration":                          "spec: {network: {type: Drop}}",
		"wrong kind":                           "kind: Pod\nspec: {duration: 1s, network: {type: Drop}}",
		"two documents":                        "spec: {duration: 1s, network: {type: Drop}}\n---\nspec: {duration: 1s, network: {type: Drop}}",
		"two documents split by an end marker": "spec: {duration: 1s, network: {type: Drop}}\n...\nspec: {duration: 1s, syscall: {syscalls: [read], errno: EIO}}",
		"field name in another case":           "speC: {durAtion: 10s, network: {type: Drop}}",
		"duration above 24h":                   "spec: {duration: 25h, network: {type: Drop}}",
		"duration below 1s":                    "spec: {duration: 500ms, network: {type: Drop}}",
	} {
		if _, err := ParseFault([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSplitDocuments(t *testing.T) {
	docs := SplitDocuments([]byte("---\na: 1\n--- \n# only a comment\n---\nb: 2\n...\n"))
	if len(docs) != 2 || !strings.Contains(string(docs[0]), "a: 1") || !strings.Contains(string(docs[1]), "b: 2") {
		t.Errorf("got %q", docs)
	}
}
