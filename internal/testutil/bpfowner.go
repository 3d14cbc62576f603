package testutil

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LeakCheckOwn is LeakCheckEventually for hosts where other processes (a
// node agent, another package's tests) load Temblor programs at the same
// time: a Temblor program still loaded when the test ends fails it only if
// no other process holds it (through a program or link descriptor), that is
// if it is this process's or nobody's. Call it first in a test.
func LeakCheckOwn(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(func() {
		if left := WaitNoOwnTemblorBPF(tb, ReleaseGrace); len(left) > 0 {
			tb.Fatalf("Temblor BPF programs left loaded, held by this process or by none: %v", left)
		}
	})
}

// WaitNoOwnTemblorBPF waits up to timeout for every Temblor program that no
// other process holds to be gone, and returns those still loaded then (nil
// on success). It logs what other processes hold.
func WaitNoOwnTemblorBPF(tb testing.TB, timeout time.Duration) []BPFObject {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ours, others := ownTemblorProgs(tb)
		if len(ours) == 0 {
			if len(others) > 0 {
				tb.Logf("no Temblor BPF program of this process loaded (other processes hold %d)", len(others))
			} else {
				tb.Logf("no Temblor BPF program or link loaded")
			}
			return nil
		}
		if time.Now().After(deadline) {
			return ours
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ownTemblorProgs splits the loaded Temblor programs into those held by
// another process and the rest.
func ownTemblorProgs(tb testing.TB) (ours, others []BPFObject) {
	tb.Helper()
	objs, err := TemblorBPF()
	if err != nil {
		tb.Fatalf("list BPF objects: %v", err)
	}
	held := progsHeldByOthers()
	for _, o := range objs {
		if o.Kind != "prog" {
			continue // a link pins its program: the program decides
		}
		if held[o.ID] {
			others = append(others, o)
		} else {
			ours = append(ours, o)
		}
	}
	return ours, others
}

// progsHeldByOthers returns the ids of the programs that processes other
// than this one hold a program or link descriptor of, from
// /proc/PID/fdinfo.
func progsHeldByOthers() map[uint32]bool {
	held := map[uint32]bool{}
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*/fdinfo")
	for _, dir := range dirs {
		if filepath.Base(filepath.Dir(dir)) == self {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or not ours to read
		}
		for _, e := range entries {
			if id, ok := fdProgID(filepath.Join(dir, e.Name())); ok {
				held[id] = true
			}
		}
	}
	return held
}

// fdProgID reads the prog_id line of a BPF program or link descriptor.
func fdProgID(path string) (uint32, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "prog_id:"); ok {
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			return uint32(id), err == nil
		}
	}
	return 0, false
}
