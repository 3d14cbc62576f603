package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/temblor-dev/temblor/internal/testutil"
)

func TestRequiredBackends(t *testing.T) {
	for name, want := range map[string][]string{
		"debian-6.1":                    {"lsm", "cgroup"},
		"debian-6.1.0-56-cloud-amd64":   {"lsm", "cgroup"},
		"debian-6.12":                   {"lsm", "cgroup"},
		"debian-6.12.117+deb12":         {"lsm", "cgroup"},
		"custom":                        {"kprobe-override", "fmod_ret", "lsm", "cgroup"},
		"custom-6.12.117_1_deb12u1-abc": {"kprobe-override", "fmod_ret", "lsm", "cgroup"},
		"host":                          {"cgroup"},
	} {
		got, ok := requiredBackends(name)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("requiredBackends(%q) = %v %v, want %v", name, got, ok, want)
		}
	}
	if got, ok := requiredBackends("debian-6.10"); ok {
		t.Errorf("debian-6.10 matched %v: a prefix must end at - or .", got)
	}
}

// TestCPIO checks the archive with the system cpio (hack/install-deps.sh
// installs it; in CI its absence is a failure, not a skip).
func TestCPIO(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		testutil.Skip(t, "no cpio binary to check the archive with (apt-get install cpio)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "payload")
	if err := os.WriteFile(src, []byte("hello, guest\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(dir, "a.cpio")
	if err := writeInitramfs(arch, map[string]string{"init": src, "src/x/y.test": src}, false); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	cmd := exec.Command(cpio, "-idm", "--quiet", "-F", arch)
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v: %s", err, b)
	}
	for _, p := range []string{"init", "src/x/y.test"} {
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil || string(b) != "hello, guest\n" {
			t.Errorf("%s: %q %v", p, b, err)
		}
		if st, err := os.Stat(filepath.Join(out, p)); err == nil && st.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v", p, st.Mode())
		}
	}
}

func TestJudge(t *testing.T) {
	events := `{"Action":"output","Test":"TestBackends/kprobe-override","Output":"    x_test.go:1: not required\n"}
{"Action":"skip","Test":"TestBackends/kprobe-override"}
{"Action":"skip","Test":"TestBackends/fmod_ret"}
{"Action":"output","Test":"TestBackends/lsm","Output":"    x_test.go:2: kernel said no\n"}
{"Action":"skip","Test":"TestBackends/lsm"}
{"Action":"pass","Test":"TestBackends/cgroup/connect"}
{"Action":"pass","Test":"TestBackends/cgroup"}
{"Action":"pass","Test":"TestBackends"}
`
	tests, order, err := decodeEvents(strings.NewReader(events))
	if err != nil {
		t.Fatal(err)
	}
	r := &pkgRun{Kernel: "debian-6.12", Pkg: "injector/syscall", Tests: tests, Order: order}
	req, _ := requiredBackends(r.Kernel)
	r.judge(req, true)
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "backend lsm is required") || !strings.Contains(r.Problems[0], "kernel said no") {
		t.Fatalf("problems %q: want one, for the skipped required lsm backend", r.Problems)
	}
	cells := backendResults(r, req)
	if c := cells["cgroup"]; c.State != "pass" || c.Scenarios != [2]int{1, 1} || !c.Required {
		t.Errorf("cgroup cell %+v", c)
	}
}
