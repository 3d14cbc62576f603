// Package testutil holds helpers shared by Temblor's tests: privilege and
// feature gates that skip on a developer laptop but fail in CI, and leak checks
// that list the kernel's BPF programs and links through the bpf syscall.
package testutil
