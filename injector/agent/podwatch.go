package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/temblor-dev/temblor/internal/inotify"
)

// podWatch tells the agent at once when a target pod's cgroup v2 directory
// gains or loses a child directory: a container restarted or the sandbox was
// recreated. The faults targeting that pod are then reconciled without
// waiting for the status interval, so that the new container or namespace is
// faulted again within a second (issue 11, hole 4).
type podWatch struct {
	file *os.File // inotify descriptor, nil when inotify is unavailable

	mu   sync.Mutex
	wds  map[int32]string                         // watch descriptor → pod directory
	dirs map[string]int32                         // pod directory → watch descriptor
	keys map[string]map[types.NamespacedName]bool // pod directory → faults
}

const podWatchEvents = unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW

func newPodWatch() (*podWatch, error) {
	w := &podWatch{wds: map[int32]string{}, dirs: map[string]int32{}, keys: map[string]map[types.NamespacedName]bool{}}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return w, fmt.Errorf("watch pod cgroups: inotify_init1: %w", err)
	}
	w.file = os.NewFile(uintptr(fd), "inotify-pods")
	return w, nil
}

// watch reports changes below dir to key's fault.
func (w *podWatch) watch(dir string, key types.NamespacedName) error {
	if w == nil || w.file == nil || dir == "" {
		return errors.New("no pod cgroup watch")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.dirs[dir]; !ok {
		wd, err := unix.InotifyAddWatch(int(w.file.Fd()), dir, podWatchEvents)
		if err != nil {
			return fmt.Errorf("watch pod cgroup %s: %w", dir, err)
		}
		w.dirs[dir], w.wds[int32(wd)] = int32(wd), dir
		w.keys[dir] = map[types.NamespacedName]bool{}
	}
	w.keys[dir][key] = true
	return nil
}

// forget stops reporting to key's fault, and stops watching directories no
// fault needs any more.
func (w *podWatch) forget(key types.NamespacedName) {
	if w == nil || w.file == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir, ks := range w.keys {
		delete(ks, key)
		if len(ks) > 0 {
			continue
		}
		if wd, ok := w.dirs[dir]; ok {
			_, _ = unix.InotifyRmWatch(int(w.file.Fd()), uint32(wd))
			delete(w.wds, wd)
		}
		delete(w.dirs, dir)
		delete(w.keys, dir)
	}
}

// watched returns how many pod directories are watched.
func (w *podWatch) watched() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.dirs)
}

// run calls notify for every fault whose pod directory changed, until ctx
// ends.
func (w *podWatch) run(ctx context.Context, notify func(types.NamespacedName)) error {
	if w.file == nil {
		return nil
	}
	go func() {
		<-ctx.Done()
		w.file.Close()
	}()
	buf := make([]byte, inotify.BufSize)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read pod cgroup events: %w", err)
		}
		for _, key := range w.affected(ctx, buf[:n]) {
			notify(key)
		}
	}
}

// affected decodes inotify events into the faults to reconcile.
func (w *podWatch) affected(ctx context.Context, buf []byte) []types.NamespacedName {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, ev := range inotify.Decode(buf) {
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			// Events were lost: every watched fault looks again.
			log.FromContext(ctx).Info("Pod cgroup events overflowed; reconciling every watched fault")
			for _, ks := range w.keys {
				for k := range ks {
					if !seen[k] {
						seen[k] = true
						out = append(out, k)
					}
				}
			}
			continue
		}
		dir, ok := w.wds[ev.Wd]
		if !ok {
			continue
		}
		if ev.Mask&unix.IN_IGNORED != 0 {
			// The pod directory itself is gone (the pod left).
			delete(w.wds, ev.Wd)
			delete(w.dirs, dir)
		}
		for k := range w.keys[dir] {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		if ev.Mask&unix.IN_IGNORED != 0 {
			delete(w.keys, dir)
		}
	}
	return out
}
