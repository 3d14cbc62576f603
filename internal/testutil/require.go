package testutil

import (
	"errors"
	"os"
	"strings"
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

// AbsentFeaturesEnv lists, comma-separated, kernel features that the kernel
// under test is known to lack (the kernel matrix sets it per kernel, e.g.
// "tcx" on Linux 6.1). A test needing such a feature skips even in CI; a
// feature not listed must be there in CI.
const AbsentFeaturesEnv = "TEMBLOR_ABSENT_FEATURES"

// SkipAbsentFeature skips a test whose kernel feature is missing: always
// when the feature is declared absent in $TEMBLOR_ABSENT_FEATURES, and
// otherwise as Skip does (a failure in CI).
func SkipAbsentFeature(tb testing.TB, feature, reason string) {
	tb.Helper()
	for _, f := range strings.Split(os.Getenv(AbsentFeaturesEnv), ",") {
		if strings.TrimSpace(f) == feature {
			tb.Skipf("%s is declared absent on this kernel (%s=%s): %s", feature, AbsentFeaturesEnv, os.Getenv(AbsentFeaturesEnv), reason)
		}
	}
	Skip(tb, reason)
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
