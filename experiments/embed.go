// Package experiments ships Temblor's ready-made game-day experiments: one
// directory per experiment with its Fault manifests and a README that states
// the hypothesis, the blast radius and the expected result. The package
// embeds them so that tests (experiments/live runs each one for real in the
// kernel matrix) read the very files a user applies.
package experiments

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed */README.md */*.yaml
var files embed.FS

// Names returns the experiments, sorted: every directory with a README.
func Names() ([]string, error) {
	readmes, err := fs.Glob(files, "*/README.md")
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	names := make([]string, 0, len(readmes))
	for _, r := range readmes {
		names = append(names, path.Dir(r))
	}
	sort.Strings(names)
	return names, nil
}

// Manifests returns the Fault manifests of experiment name, keyed by file
// name (e.g. "fault-udp.yaml").
func Manifests(name string) (map[string][]byte, error) {
	paths, err := fs.Glob(files, name+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list manifests of %s: %w", name, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("experiment %s has no manifest", name)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		data, err := files.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		out[strings.TrimPrefix(p, name+"/")] = data
	}
	return out, nil
}

// README returns the README of experiment name.
func README(name string) (string, error) {
	data, err := files.ReadFile(name + "/README.md")
	if err != nil {
		return "", fmt.Errorf("read README of %s: %w", name, err)
	}
	return string(data), nil
}
