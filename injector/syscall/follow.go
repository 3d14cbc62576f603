package syscall

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/inotify"
)

// subtreeFollower keeps the cgroup keys of tb_sf_targets equal to the
// cgroup v2 directories below a scope's CgroupPaths as they change. A
// restarted container gets a new cgroup below its pod's directory; the
// kprobe, fmod_ret and LSM backends match a task by its own cgroup id, so
// without this the restarted container would run free. The cgroup backend
// needs no help: programs attached to a directory apply to the cgroups
// created below it later.
//
// It watches every directory of the subtrees with inotify (IN_CREATE and
// IN_DELETE of subdirectories) and adds or removes keys at once. A new
// directory is watched before it is listed, so that nothing created in
// between is missed.
type subtreeFollower struct {
	targets *ebpf.Map
	slot    uint32   // the value of the keys it adds: the attachment's slot
	file    *os.File // the inotify descriptor
	log     logr.Logger

	mu   sync.Mutex
	wds  map[int32]string  // watch descriptor → directory
	ids  map[string]uint64 // directory → cgroup id in targets
	err  error             // the last failure to follow a change
	done chan struct{}

	added, removed atomic.Uint64
}

// followEvents are the inotify events that change a subtree.
const followEvents = unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW

// followSubtrees starts following the subtrees of roots, whose ids are
// already in targets, adding keys with the value slot. Close stops it.
func followSubtrees(ctx context.Context, targets *ebpf.Map, roots []string, slot uint32) (*subtreeFollower, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("follow cgroup subtrees: inotify_init1: %w", err)
	}
	f := &subtreeFollower{
		targets: targets,
		slot:    slot,
		file:    os.NewFile(uintptr(fd), "inotify"),
		log:     logr.FromContextOrDiscard(ctx),
		wds:     map[int32]string{},
		ids:     map[string]uint64{},
		done:    make(chan struct{}),
	}
	for _, root := range roots {
		if err := f.addTree(root); err != nil {
			f.file.Close()
			return nil, fmt.Errorf("follow cgroup subtree %s: %w", root, err)
		}
	}
	f.added.Store(0) // count changes after attach only
	go f.run()
	return f, nil
}

// addTree watches dir and every directory below it and puts their ids in
// the target map. A directory removed meanwhile is skipped.
func (f *subtreeFollower) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		// Watch first, then read the id: a child created after the watch is
		// reported, one created before is found by the walk.
		wd, err := unix.InotifyAddWatch(int(f.file.Fd()), path, followEvents)
		if err != nil {
			if path != dir && errors.Is(err, unix.ENOENT) {
				return filepath.SkipDir
			}
			return fmt.Errorf("inotify watch %s: %w", path, err)
		}
		id, err := CgroupID(path)
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		f.mu.Lock()
		f.wds[int32(wd)] = path
		_, known := f.ids[path]
		f.ids[path] = id
		f.mu.Unlock()
		if !known {
			if err := f.targets.Put(targetKey{Kind: kindCgroup, Id: id}, f.slot); err != nil {
				return fmt.Errorf("add target cgroup %s (id %d): %w", path, id, err)
			}
			f.added.Add(1)
		}
		return nil
	})
}

// removeTree drops the keys of dir and of every directory below it that
// the follower knows.
func (f *subtreeFollower) removeTree(dir string) {
	f.mu.Lock()
	var gone []uint64
	for path, id := range f.ids {
		if path == dir || isBelow(path, dir) {
			gone = append(gone, id)
			delete(f.ids, path)
		}
	}
	f.mu.Unlock()
	for _, id := range gone {
		if err := f.targets.Delete(targetKey{Kind: kindCgroup, Id: id}); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			f.fail(fmt.Errorf("remove target cgroup %s (id %d): %w", dir, id, err))
			continue
		}
		f.removed.Add(1)
	}
}

func isBelow(path, dir string) bool {
	return strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

func (f *subtreeFollower) fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
	f.log.Info("Could not follow a cgroup change", "error", err.Error())
}

// Err returns the last failure to follow a change of the subtrees, or nil.
func (f *subtreeFollower) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// run reads inotify events until Close.
func (f *subtreeFollower) run() {
	defer close(f.done)
	buf := make([]byte, inotify.BufSize)
	for {
		n, err := f.file.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				f.fail(fmt.Errorf("read inotify events: %w", err))
			}
			return
		}
		f.handle(buf[:n])
	}
}

// handle applies one read's worth of inotify events.
func (f *subtreeFollower) handle(buf []byte) {
	for _, ev := range inotify.Decode(buf) {
		name := ev.Name
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			f.fail(errors.New("inotify queue overflowed: cgroup changes may have been missed"))
			continue
		}
		f.mu.Lock()
		dir, ok := f.wds[ev.Wd]
		if ev.Mask&unix.IN_IGNORED != 0 {
			delete(f.wds, ev.Wd)
		}
		f.mu.Unlock()
		if ok && ev.Mask&(unix.IN_DELETE_SELF|unix.IN_IGNORED) != 0 {
			// A watched directory went (a root: its parent is not watched).
			f.removeTree(dir)
			continue
		}
		if !ok || ev.Mask&unix.IN_ISDIR == 0 || name == "" {
			continue
		}
		path := filepath.Join(dir, name)
		switch {
		case ev.Mask&unix.IN_CREATE != 0:
			if err := f.addTree(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				f.fail(err)
			}
		case ev.Mask&unix.IN_DELETE != 0:
			f.removeTree(path)
		}
	}
}

// keys returns the target keys the follower holds now, for the attachment
// to remove when it closes.
func (f *subtreeFollower) keys() []targetKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]targetKey, 0, len(f.ids))
	for _, id := range f.ids {
		out = append(out, targetKey{Kind: kindCgroup, Id: id})
	}
	return out
}

// Close stops following; the keys stay in the map until the attachment
// removes them (keys).
func (f *subtreeFollower) Close() error {
	err := f.file.Close()
	<-f.done
	if err != nil {
		return fmt.Errorf("close cgroup follower: %w", err)
	}
	return nil
}
