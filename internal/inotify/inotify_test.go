package inotify

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDecodeRealEvents reads what the kernel writes for a mkdir and an
// rmdir in a watched directory.
func TestDecodeRealEvents(t *testing.T) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("no inotify: %v", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	dir := t.TempDir()
	wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_DELETE|unix.IN_ONLYDIR)
	if err != nil {
		t.Fatal(err)
	}
	long := "a-rather-long-directory-name-for-padding"
	for _, n := range []string{"x", long} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, BufSize)
	var got []Event
	for len(got) < 3 {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, Decode(buf[:n])...)
	}
	want := []Event{
		{int32(wd), unix.IN_CREATE | unix.IN_ISDIR, "x"},
		{int32(wd), unix.IN_CREATE | unix.IN_ISDIR, long},
		{int32(wd), unix.IN_DELETE | unix.IN_ISDIR, "x"},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// FuzzDecode: any byte string decodes without reading past it, and names
// never hold NUL.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 'x', 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, buf []byte) {
		for _, ev := range Decode(buf) {
			for i := 0; i < len(ev.Name); i++ {
				if ev.Name[i] == 0 {
					t.Fatalf("name %q holds NUL", ev.Name)
				}
			}
		}
	})
}
