package local

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// manifestSeeds are Fault manifests as users write them for local mode,
// valid and not, in YAML and JSON.
var manifestSeeds = []string{
	"apiVersion: chaos.temblor.dev/v1alpha1\nkind: Fault\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {app: web}}\n  duration: 30s\n  network: {type: Corrupt, protocol: UDP, corrupt: {field: UDPLength, delta: 4}}\n",
	"# comment\n---\nkind: Fault\nspec:\n  duration: 1m30s\n  syscall: {syscalls: [openat, read], errno: EIO, probability: '0.5', pathPrefix: /data/}\n",
	"spec: {duration: 1s, network: {type: Drop, direction: Egress, protocol: TCP, ports: [{from: 80, to: 90}], peerCIDRs: [10.0.0.0/8]}}",
	`{"kind":"Fault","spec":{"duration":"24h","network":{"type":"Drop"}}}`,
	"spec: {duration: 1s, network: {type: Drop}, syscall: {syscalls: [connect], errno: EIO}}",
	"spec: {duration: 25h, network: {type: Drop}}",
	"spec: {duration: 500ms, network: {type: Drop}}",
	"spec: {duration: -5s, network: {type: Drop}}",
	"spec: {duration: 1s, network: {type: Drop}}\n---\nspec: {duration: 1s, network: {type: Drop}}",
	"spec: {duration: 1s, network: {type: Drop}}\n...\nspec: {duration: 1s, syscall: {syscalls: [read], errno: EIO}}",
	"kind: Pod\nspec: {duration: 1s, network: {type: Drop}}",
	"spec: {duration: 1s, syscall: {syscalls: [connect], errno: EIO, propability: '5'}}",
	"spec: {duration: 1s, network: null}",
	"spec: {duration: 1s, mode: Fixed, count: 3, network: {type: Drop}}",
	"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
	"speC: {durAtion: 10s, network: {type: Drop}}",
}

// FuzzParseFault checks the local-mode manifest loader: it never panics,
// refuses with a reason, and what it accepts holds exactly one action, a
// duration within the CRD's 1s..24h, the CRD's defaults, one document of
// kind Fault, and parses again, once written out, to the same Fault.
func FuzzParseFault(f *testing.F) {
	for _, s := range manifestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fault, err := ParseFault(data)
		if err != nil {
			if reason, _ := strings.CutPrefix(err.Error(), "parse fault"); strings.TrimSpace(reason) == "" {
				t.Fatalf("refused without a reason: %q", err)
			}
			return
		}
		checkFault(t, data, fault)
		if js, err := yaml.YAMLToJSON(data); err == nil && bytes.Contains(bytes.ToLower(js), []byte(`"spec"`)) && !bytes.Contains(js, []byte(`"spec"`)) {
			t.Fatalf("%q: accepted a spec not spelt \"spec\"", data)
		}
		out, err := yaml.Marshal(fault)
		if err != nil {
			t.Fatalf("marshal accepted fault: %v", err)
		}
		again, err := ParseFault(out)
		if err != nil {
			t.Fatalf("accepted fault, written out, is refused: %v\n%s", err, out)
		}
		// Compared as written out: an empty map and a missing one are the
		// same manifest.
		if out2, err := yaml.Marshal(again); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the fault (%v):\n%s\n%s", err, out, out2)
		}
	})
}

// checkFault asserts what ParseFault promises of a Fault it accepts.
func checkFault(t *testing.T, data []byte, f *chaosv1.Fault) {
	t.Helper()
	if (f.Spec.Network == nil) == (f.Spec.Syscall == nil) {
		t.Fatalf("%q: accepted with network %v and syscall %v", data, f.Spec.Network, f.Spec.Syscall)
	}
	if d := f.Spec.Duration.Duration; d < time.Second || d > 24*time.Hour {
		t.Fatalf("%q: accepted duration %v, outside 1s..24h", data, d)
	}
	if f.Kind != "" && f.Kind != "Fault" {
		t.Fatalf("%q: accepted kind %q", data, f.Kind)
	}
	if n := len(SplitDocuments(data)); n > 1 {
		t.Fatalf("%q: accepted %d documents", data, n)
	}
	if f.Spec.Mode == "" {
		t.Fatalf("%q: mode not defaulted", data)
	}
	if n := f.Spec.Network; n != nil && (n.Direction == "" || n.Probability == "" || n.Corrupt != nil && n.Corrupt.Checksum == "") {
		t.Fatalf("%q: network defaults not applied: %+v", data, n)
	}
	if s := f.Spec.Syscall; s != nil && s.Probability == "" {
		t.Fatalf("%q: syscall defaults not applied: %+v", data, s)
	}
}
