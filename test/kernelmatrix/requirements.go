package main

import "strings"

// The syscall-fault backends, as the injector/syscall tests name their
// TestBackends/<backend> subtests (injector/syscall.Backend values).
var backends = []string{"kprobe-override", "fmod_ret", "lsm", "cgroup"}

// mustSupport says which backends each kernel of the matrix MUST run. A
// required backend whose TestBackends/<backend> subtest skips (or fails) fails
// the matrix; the others may skip. The guest gets the list as
// TEMBLOR_REQUIRE_BACKENDS, which the tests honour too (required: unsupported
// is a failure; not required: skip even with CI=true).
//
// Keys are kernel names (-kernel NAME=DIR); "custom" also matches
// "custom-<version>-<hash>", "debian-6.1" matches "debian-6.1.0-56-...", etc.
var mustSupport = map[string][]string{
	// Debian cloud kernels: BPF LSM is built and in CONFIG_LSM (we also put
	// bpf on lsm=); no CONFIG_FUNCTION_ERROR_INJECTION, no
	// CONFIG_BPF_KPROBE_OVERRIDE, so neither kprobe override nor fmod_ret on
	// a syscall entry.
	"debian-6.1":  {"lsm", "cgroup"},
	"debian-6.12": {"lsm", "cgroup"},
	// hack/kernels/custom.config enables everything.
	"custom": {"kprobe-override", "fmod_ret", "lsm", "cgroup"},
	// This CI host (6.18) refuses kprobes and fentry/fmod_ret/lsm programs.
	"host": {"cgroup"},
}

// requiredBackends returns the table entry for kernel name: an exact key, or
// the longest key that name starts with followed by "-" or ".".
func requiredBackends(name string) ([]string, bool) {
	if r, ok := mustSupport[name]; ok {
		return r, true
	}
	best := ""
	for k := range mustSupport {
		if strings.HasPrefix(name, k) && len(name) > len(k) && strings.ContainsRune("-.", rune(name[len(k)])) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return nil, false
	}
	return mustSupport[best], true
}

// absentFeatures lists kernel features (as internal/testutil names them) that
// a kernel of the matrix does not have, so that tests needing them may skip
// there even with CI=true. Everything not listed must work.
var absentFeatures = map[string][]string{
	// tcx arrived in Linux 6.6: 6.1 attaches with netlink clsact + cls_bpf.
	"debian-6.1": {"tcx"},
}

// absentFeaturesOf returns the table entry for kernel name, matched like
// requiredBackends.
func absentFeaturesOf(name string) []string {
	if f, ok := absentFeatures[name]; ok {
		return f
	}
	for k, f := range absentFeatures {
		if strings.HasPrefix(name, k) && len(name) > len(k) && strings.ContainsRune("-.", rune(name[len(k)])) {
			return f
		}
	}
	return nil
}
