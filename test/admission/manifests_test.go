package admission_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/temblor-dev/temblor/internal/envtestutil"
)

// configDir is the repository's config/ directory.
func configDir() string {
	return filepath.Join(envtestutil.CRDDir(), "..", "..")
}

// shippedManifests are the files of config/ this suite applies: the
// admission policy, the generated ClusterRoles and their bindings.
func shippedManifests() []string {
	c := configDir()
	return []string{
		filepath.Join(c, "policy", "faultinjection_policy.yaml"),
		filepath.Join(c, "policy", "faultinjection_policy_binding.yaml"),
		filepath.Join(c, "rbac", "manager", "role.yaml"),
		filepath.Join(c, "rbac", "manager_role_binding.yaml"),
		filepath.Join(c, "rbac", "agent", "role.yaml"),
		filepath.Join(c, "agent", "role_binding.yaml"),
	}
}

// immutableSpecRule is the CRD's own rule that FaultInjection spec never
// changes. The API server checks it before admission, so it would refuse a
// spec change before the policy sees it: the suite removes it to test the
// policy's own spec rule, which must hold even if the CRD's is relaxed.
const immutableSpecRule = "self.spec == oldSelf.spec"

// policyTestCRDs reads config/crd/bases, without the FaultInjection CRD's
// immutable-spec rule.
func policyTestCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(envtestutil.CRDDir(), "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list CRDs: %w", err)
	}
	if len(files) == 0 {
		return nil, errors.New("no CRDs in " + envtestutil.CRDDir())
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return nil, fmt.Errorf("decode CRD %s: %w", f, err)
		}
		if crd.Spec.Names.Kind == "FaultInjection" {
			dropRule(crd, immutableSpecRule)
		}
		out = append(out, crd)
	}
	return out, nil
}

// dropRule removes a top-level x-kubernetes-validations rule from every
// version of crd, if it is there.
func dropRule(crd *apiextensionsv1.CustomResourceDefinition, rule string) {
	for i := range crd.Spec.Versions {
		s := crd.Spec.Versions[i].Schema.OpenAPIV3Schema
		kept := s.XValidations[:0]
		for _, v := range s.XValidations {
			if v.Rule != rule {
				kept = append(kept, v)
			}
		}
		s.XValidations = kept
	}
}

// applyFile creates every object of a (multi-document) YAML file.
func applyFile(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if strings.TrimSpace(strings.ReplaceAll(string(doc), "---", "")) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := admin.Create(ctx, u); err != nil {
			return fmt.Errorf("create %s %s from %s: %w", u.GetKind(), u.GetName(), path, err)
		}
	}
}
