package main

import (
	"strings"
	"testing"
)

func TestAudit(t *testing.T) {
	log := `=== RUN   TestBackends
=== RUN   TestBackends/kprobe-override
    sysfault_test.go:94: not required on this kernel (TEMBLOR_REQUIRE_BACKENDS=cgroup): kprobes refused
=== RUN   TestBackends/cgroup
=== RUN   TestBackends/cgroup/openat
    sysfault_test.go:142: backend cannot serve this syscall on this kernel: cgroup has no file hook
=== RUN   TestCPIO
    kernelmatrix_test.go:36: no cpio
=== RUN   TestTCX
    drop_test.go:10: tcx is declared absent on this kernel (TEMBLOR_ABSENT_FEATURES=tcx): needs 6.6
--- PASS: TestBackends (0.10s)
    --- SKIP: TestBackends/kprobe-override (0.00s)
    --- PASS: TestBackends/cgroup (0.05s)
        --- SKIP: TestBackends/cgroup/openat (0.00s)
--- SKIP: TestCPIO (0.00s)
--- SKIP: TestTCX (0.00s)
=== RUN   TestSilent
--- SKIP: TestSilent (0.00s)
`
	bad, total, err := audit(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 {
		t.Errorf("saw %d skips, want 5", total)
	}
	var names []string
	for _, b := range bad {
		names = append(names, b.Test)
	}
	if strings.Join(names, ",") != "TestCPIO,TestSilent" {
		t.Fatalf("undeclared skips %v, want TestCPIO (an undeclared reason) and TestSilent (no reason)", names)
	}
}
