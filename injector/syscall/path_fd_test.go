package syscall

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// fdCase is one syscall on a file descriptor failed under a path prefix.
type fdCase struct {
	syscall, errno string
}

var fdCases = []fdCase{
	{"read", "EIO"}, {"pread64", "EIO"}, {"write", "ENOSPC"},
	{"fsync", "EIO"}, {"fdatasync", "EIO"}, {"ftruncate", "EIO"},
}

// pathBackends are the backends that compare a path prefix with the path of
// an open file: LSM (file_permission, file_truncate) on every VM kernel,
// kprobe override and fmod_ret (fd argument) on the custom kernel.
var pathBackends = []Backend{LSM, KprobeOverride, FmodRet}

// planOrSkip plans cfg and skips when b cannot serve the syscall on this
// kernel for a reason of that syscall alone (no LSM hook for fsync; no
// file_truncate hook before Linux 6.2; an ambiguous fmod_ret entry point).
// Any other refusal fails.
func planOrSkip(t *testing.T, b Backend, cfg Config) Choice {
	t.Helper()
	choices, err := Plan(context.Background(), cfg)
	if err == nil {
		t.Logf("plan: %s (%s)", choices[0], choices[0].Note)
		return choices[0]
	}
	s := syscallTable[cfg.Syscalls[0]]
	msg := choices[0].Err.Error()
	switch {
	case errors.Is(choices[0].Err, errAmbiguousEntry),
		b == LSM && s.LSMHook == "",
		b == LSM && strings.Contains(msg, "not in this kernel"):
		t.Skip(perSyscallSkip + msg)
	}
	t.Fatalf("plan %s on %s: %v", cfg.Syscalls[0], b, err)
	return Choice{}
}

// pathDirs makes dir/index/f (under the prefix dir/index/) and dir/other
// (outside it), each holding a few bytes.
func pathDirs(t *testing.T) (dir, in, out string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "index"), 0o700); err != nil {
		t.Fatal(err)
	}
	in, out = filepath.Join(dir, "index", "f"), filepath.Join(dir, "other")
	for _, p := range []string{in, out} {
		if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, in, out
}

// attachPath attaches cfg for the tasks of a new cgroup and returns the
// attachment and the cgroup's descriptor for helpers.
func attachPath(t *testing.T, cfg Config) (*Attachment, int) {
	t.Helper()
	cg := testutil.NewCgroup(t)
	cgFD := cg.Open(t)
	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, cfg)
	if err != nil {
		t.Fatalf("attach: %+v", err)
	}
	t.Cleanup(func() { a.Close() })
	t.Logf("backends: %s", a)
	return a, cgFD
}

// fdOps runs the fdops helper in the cgroup and returns its tally.
func fdOps(t *testing.T, cgFD int, op string, n int, env ...string) map[string]int {
	t.Helper()
	res := runHelper(t, "fdops", helperOpts{cgroupFD: cgFD, count: n, env: append([]string{"TB_OP=" + op}, env...)})
	if len(res.Other) > 0 {
		t.Fatalf("fdops %s: %s", op, res)
	}
	return res.Errnos
}

// TestPathFD checks, per backend and syscall, that a call on a file under
// the prefix fails with the errno at probability 100 and the same call, by
// the same process, on a file opened the same way elsewhere succeeds.
func TestPathFD(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range pathBackends {
		t.Run(b.String(), func(t *testing.T) {
			requireBackend(t, b)
			for _, c := range fdCases {
				t.Run(c.syscall+"-"+c.errno, func(t *testing.T) {
					dir, in, out := pathDirs(t)
					cfg := Config{Syscalls: []string{c.syscall}, Errno: c.errno, ProbabilityBasisPoints: 10000,
						PathPrefix: dir + "/index/", Backend: b}
					ch := planOrSkip(t, b, cfg)
					if ch.Backend != b {
						t.Fatalf("planned %s, want %s", ch, b)
					}
					testutil.LeakCheck(t)
					a, cgFD := attachPath(t, cfg)
					const n = 10
					got := fdOps(t, cgFD, c.syscall, n, "TB_PATH="+in, "TB_PATH2="+out)
					if got["in:"+c.errno] != n || got["out:OK"] != n {
						t.Errorf("%s: got %v, want %d x in:%s and %d x out:OK", c.syscall, got, n, c.errno, n)
					}
					cnt, err := a.Counters()
					if err != nil {
						t.Fatal(err)
					}
					if cnt.Failed != n {
						t.Errorf("counters %+v, want %d failed", cnt, n)
					}
				})
			}
		})
	}
}

// TestPathFDTaskView checks that the path compared is the one the task
// sees: through a bind mount (the same file fails under the mount point in
// the prefix and not at its source), through a chroot (the prefix is
// relative to the task's root, not the host's), and that a path deeper than
// the walk limit does not match.
func TestPathFDTaskView(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range pathBackends {
		t.Run(b.String(), func(t *testing.T) {
			requireBackend(t, b)
			const n = 10
			read := func(t *testing.T, prefix string) (int, Config) {
				cfg := Config{Syscalls: []string{"read"}, Errno: "EIO", ProbabilityBasisPoints: 10000, PathPrefix: prefix, Backend: b}
				planOrSkip(t, b, cfg)
				testutil.LeakCheck(t)
				_, cgFD := attachPath(t, cfg)
				return cgFD, cfg
			}

			t.Run("bind-mount", func(t *testing.T) {
				dir, _, _ := pathDirs(t)
				src := filepath.Join(dir, "src")
				mnt := filepath.Join(dir, "index", "mnt")
				for _, d := range []string{src, mnt} {
					if err := os.Mkdir(d, 0o700); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := unix.Mount(src, mnt, "", unix.MS_BIND, ""); err != nil {
					t.Fatalf("bind mount: %v", err)
				}
				t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
				cgFD, _ := read(t, dir+"/index/")
				got := fdOps(t, cgFD, "read", n, "TB_PATH="+filepath.Join(mnt, "f"), "TB_PATH2="+filepath.Join(src, "f"))
				if got["in:EIO"] != n || got["out:OK"] != n {
					t.Errorf("same file through the bind mount (in) and its source (out): %v, want %d x in:EIO, %d x out:OK", got, n, n)
				}
			})

			t.Run("chroot", func(t *testing.T) {
				dir, _, _ := pathDirs(t)
				cgFD, _ := read(t, "/index/")
				got := fdOps(t, cgFD, "read", n, "TB_CHROOT="+dir, "TB_PATH=/index/f", "TB_PATH2=/other")
				if got["in:EIO"] != n || got["out:OK"] != n {
					t.Errorf("chrooted at %s: %v, want %d x in:EIO (/index/f), %d x out:OK", dir, got, n, n)
				}
				// Without the chroot the same file is dir/index/f: no match.
				got = fdOps(t, cgFD, "read", n, "TB_PATH="+filepath.Join(dir, "index", "f"))
				if got["in:OK"] != n {
					t.Errorf("not chrooted, %s/index/f against prefix /index/: %v, want %d x in:OK", dir, got, n)
				}
			})

			t.Run("deeper-than-walk", func(t *testing.T) {
				dir, _, _ := pathDirs(t)
				deep := filepath.Join(dir, "index")
				base := len(strings.Split(strings.Trim(deep, "/"), "/"))
				var shallow string
				for i := base; i <= MaxPathDepth; i++ {
					deep = filepath.Join(deep, "d")
					if i == base+2 {
						shallow = deep
					}
				}
				if err := os.MkdirAll(deep, 0o700); err != nil {
					t.Fatal(err)
				}
				deepFile, shallowFile := filepath.Join(deep, "f"), filepath.Join(shallow, "f")
				for _, p := range []string{deepFile, shallowFile} {
					if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if c := len(strings.Split(strings.Trim(deepFile, "/"), "/")); c <= MaxPathDepth {
					t.Fatalf("deep file has %d components, want more than %d", c, MaxPathDepth)
				}
				cgFD, _ := read(t, dir+"/index/")
				got := fdOps(t, cgFD, "read", n, "TB_PATH="+shallowFile, "TB_PATH2="+deepFile)
				if got["in:EIO"] != n || got["out:OK"] != n {
					t.Errorf("shallow (in) and %d-component (out) files under the prefix: %v, want %d x in:EIO, %d x out:OK",
						len(strings.Split(strings.Trim(deepFile, "/"), "/")), got, n, n)
				}
			})
		})
	}
}
