package netns_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/injector/netns"
	"github.com/temblor-dev/temblor/internal/testutil"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestDo(t *testing.T) {
	testutil.RequireRoot(t)
	name := "tb-nstest-" + t.Name()[4:]
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	path := "/run/netns/" + name
	want := inode(t, path)
	before := inode(t, "/proc/thread-self/ns/net")

	var inside uint64
	if err := netns.Do(path, func() error { inside = inode(t, "/proc/thread-self/ns/net"); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != want {
		t.Errorf("inside netns inode %d, want %d", inside, want)
	}

	sentinel := errors.New("boom")
	if err := netns.Do(path, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("error %v, want %v", err, sentinel)
	}
	if err := netns.Do(path, func() error { panic("oops") }); err == nil {
		t.Error("panic not reported")
	}
	if err := netns.Do("/nonexistent/ns", func() error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing netns: %v", err)
	}
	// Many concurrent calls, then every thread of the process must be back
	// in the original namespace (or gone).
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			netns.Do(path, func() error { runtime.Gosched(); return nil })
		}()
	}
	wg.Wait()
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		var st unix.Stat_t
		if err := unix.Stat(task, &st); err != nil {
			continue // thread exited
		}
		if st.Ino != before {
			t.Errorf("%s is in netns %d, want %d", task, st.Ino, before)
		}
	}
	t.Logf("%d threads checked", len(tasks))
}
