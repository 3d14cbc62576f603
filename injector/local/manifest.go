package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// MinDuration and MaxDuration bound spec.duration, as the CRD does.
const (
	MinDuration = time.Second
	MaxDuration = 24 * time.Hour
)

// ParseFault reads one Fault manifest strictly: unknown fields are errors.
// It checks what local mode needs (exactly one action, a duration from 1s
// to 24h) but not
// the CRD's full validation, which only an API server applies.
func ParseFault(data []byte) (*chaosv1.Fault, error) {
	if docs := SplitDocuments(data); len(docs) > 1 {
		return nil, fmt.Errorf("parse fault: %d YAML documents, want one", len(docs))
	}
	// Field names are matched case-sensitively, as the API server does:
	// encoding/json (behind yaml.UnmarshalStrict) would take "speC" for spec.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse fault: %w", err)
	}
	f := &chaosv1.Fault{}
	strict, err := kjson.UnmarshalStrict(js, f)
	if err != nil {
		return nil, fmt.Errorf("parse fault: %w", err)
	}
	if err := errors.Join(strict...); err != nil {
		return nil, fmt.Errorf("parse fault: %w", err)
	}
	if f.Kind != "" && f.Kind != "Fault" {
		return nil, fmt.Errorf("parse fault: kind is %q, want Fault", f.Kind)
	}
	if (f.Spec.Network == nil) == (f.Spec.Syscall == nil) {
		return nil, fmt.Errorf("parse fault %s: exactly one action must be set: network or syscall", f.Name)
	}
	if d := f.Spec.Duration.Duration; d < MinDuration || d > MaxDuration {
		return nil, fmt.Errorf("parse fault %s: spec.duration %v: duration must be between 1s and 24h", f.Name, d)
	}
	applyDefaults(f)
	return f, nil
}

// applyDefaults fills in the CRD's defaults, which an API server would set.
func applyDefaults(f *chaosv1.Fault) {
	if f.Spec.Mode == "" {
		f.Spec.Mode = chaosv1.ModeAll
	}
	if n := f.Spec.Network; n != nil {
		if n.Direction == "" {
			n.Direction = chaosv1.DirectionBoth
		}
		if n.Probability == "" {
			n.Probability = "100"
		}
		if n.Corrupt != nil && n.Corrupt.Checksum == "" {
			n.Corrupt.Checksum = chaosv1.ChecksumRepair
		}
	}
	if s := f.Spec.Syscall; s != nil && s.Probability == "" {
		s.Probability = "100"
	}
}

// LoadFault reads and parses the Fault manifest at path.
func LoadFault(path string) (*chaosv1.Fault, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fault manifest: %w", err)
	}
	f, err := ParseFault(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// HasSelector reports whether the Fault selects pods, which local mode
// ignores.
func HasSelector(f *chaosv1.Fault) bool {
	s := f.Spec.Selector
	return len(s.MatchLabels) > 0 || len(s.MatchExpressions) > 0 || len(s.PodNames) > 0 || len(s.ContainerNames) > 0
}

// SplitDocuments splits a YAML stream at its "---" separator lines and its
// "..." document end markers, and drops documents that hold only blank lines
// and comments. (A YAML parser reads only the first document of a stream, so
// a second one after "..." would be ignored without a word.)
func SplitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur [][]byte
	flush := func() {
		doc := bytes.Join(cur, []byte("\n"))
		if hasContent(doc) {
			docs = append(docs, doc)
		}
		cur = nil
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if t := bytes.TrimRight(line, " \t\r"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) || bytes.Equal(t, []byte("...")) || bytes.HasPrefix(t, []byte("... ")) {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

func hasContent(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return true
		}
	}
	return false
}
