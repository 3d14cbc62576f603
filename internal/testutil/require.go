package testutil

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
)

// InCI reports whether the tests run in CI (CI=true), where a skipped
// privileged test is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// Skip skips the test with reason outside CI and fails it in CI, where every
// privileged test must run.
func Skip(tb testing.TB, reason string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("would skip, but CI=true requires this test to run: %s", reason)
	}
	tb.Skip(reason)
}

// RequireRoot skips (outside CI) or fails (in CI) a test that needs root.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Skip(tb, "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run with sudo or in CI")
	}
}

// SkipIfNotSupported skips (outside CI) or fails (in CI) when err says the
// kernel lacks a feature; any other non-nil error fails the test.
func SkipIfNotSupported(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		Skip(tb, "kernel feature not supported: "+err.Error())
		return
	}
	tb.Fatalf("%+v", err)
}
