// Package envtestutil finds the kube-apiserver, etcd and kubectl binaries
// that hack/build-k8s.sh builds from source, for envtest suites.
package envtestutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// K8sVersion is the Kubernetes version the test binaries are built at.
const K8sVersion = "v1.34.2"

// AssetsDir returns the directory holding kube-apiserver, etcd and kubectl:
// $KUBEBUILDER_ASSETS when set, else the hack/build-k8s.sh cache.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		cache := os.Getenv("TEMBLOR_CACHE")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find home directory: %w", err)
			}
			cache = filepath.Join(home, ".cache", "temblor")
		}
		dir = filepath.Join(cache, "k8s", K8sVersion, "bin")
	}
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s not found in %s (run hack/build-k8s.sh, or make test): %w", bin, dir, err)
		}
	}
	return dir, nil
}

// CRDDir returns the repository's config/crd/bases directory.
func CRDDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic(errors.New("no caller information"))
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "config", "crd", "bases")
}
