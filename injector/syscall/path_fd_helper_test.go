package syscall

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// helperFDOps is the "fdops" helper mode: it opens TB_PATH (key "in") and
// TB_PATH2 (key "out", optional) with the same flags, the same way, then
// makes count calls of TB_OP on each descriptor, tallying outcomes as
// "in:OK", "in:EIO", "out:OK", ... in Errnos. With TB_CHROOT it first
// chroots there, so that paths are resolved, and seen by the programs,
// from the new root. With TB_TIME it times the calls on "in" only.
func helperFDOps(count int) (helperResult, error) {
	res := helperResult{Errnos: map[string]int{}}
	if root := os.Getenv("TB_CHROOT"); root != "" {
		if err := unix.Chroot(root); err != nil {
			return res, fmt.Errorf("chroot %s: %w", root, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return res, fmt.Errorf("chdir /: %w", err)
		}
	}
	op := os.Getenv("TB_OP")
	type target struct {
		key string
		fd  int
	}
	var targets []target
	for _, kv := range [][2]string{{"in", os.Getenv("TB_PATH")}, {"out", os.Getenv("TB_PATH2")}} {
		if kv[1] == "" {
			continue
		}
		fd, err := unix.Open(kv[1], unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return res, fmt.Errorf("open %s: %w", kv[1], err)
		}
		defer unix.Close(fd)
		targets = append(targets, target{kv[0], fd})
	}
	buf := make([]byte, 1)
	call := func(fd int) error {
		var err error
		switch op {
		case "read":
			_, err = unix.Read(fd, buf)
		case "pread64":
			_, err = unix.Pread(fd, buf, 0)
		case "write":
			_, err = unix.Write(fd, []byte("x"))
		case "fsync":
			err = unix.Fsync(fd)
		case "fdatasync":
			err = unix.Fdatasync(fd)
		case "ftruncate":
			err = unix.Ftruncate(fd, 1)
		default:
			err = fmt.Errorf("unknown TB_OP %q", op)
		}
		return err
	}
	if os.Getenv("TB_TIME") != "" {
		start := time.Now()
		for i := 0; i < count; i++ {
			if err := call(targets[0].fd); err != nil {
				res.Other = append(res.Other, err.Error())
				break
			}
			res.OK++
		}
		res.NsPerOp = float64(time.Since(start).Nanoseconds()) / float64(count)
		return res, nil
	}
	for _, tg := range targets {
		for i := 0; i < count; i++ {
			err := call(tg.fd)
			var errno unix.Errno
			switch {
			case err == nil:
				res.Errnos[tg.key+":OK"]++
			case errors.As(err, &errno):
				res.Errnos[tg.key+":"+unix.ErrnoName(errno)]++
			case strings.HasPrefix(err.Error(), "unknown"):
				return res, err
			default:
				res.Other = append(res.Other, err.Error())
			}
		}
	}
	return res, nil
}
