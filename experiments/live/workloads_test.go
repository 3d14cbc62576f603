package live_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// tally counts outcomes by errno name ("ok" for success).
type tally map[string]int

func (t tally) add(err error) {
	if err == nil {
		t["ok"]++
		return
	}
	if e, ok := err.(unix.Errno); ok {
		t[unix.ErrnoName(e)]++
		return
	}
	t[err.Error()]++
}

func (t tally) total() int {
	n := 0
	for _, v := range t {
		n += v
	}
	return n
}

func (t tally) String() string {
	var parts []string
	for k, v := range t {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	return strings.Join(parts, " ")
}

func init() {
	childModes["connect"] = connectWorkload
	childModes["fork"] = forkWorkload
	childModes["read"] = fileWorkload(false)
	childModes["write"] = fileWorkload(true)
}

// connectArgs: connect(2) Tries times to each "tcp|udp:addr:port".
type connectArgs struct {
	Targets []string
	Tries   int
}

func connectWorkload(raw json.RawMessage) (any, error) {
	var a connectArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	out := map[string]tally{}
	for _, target := range a.Targets {
		proto, addr, _ := strings.Cut(target, ":")
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", target, err)
		}
		typ := unix.SOCK_STREAM
		if proto == "udp" {
			typ = unix.SOCK_DGRAM
		}
		tl := tally{}
		for range a.Tries {
			tl.add(connectOnce(ap, typ))
		}
		out[target] = tl
	}
	return out, nil
}

func connectOnce(ap netip.AddrPort, typ int) error {
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if ap.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	return unix.Connect(fd, sa)
}

// forkArgs: Tries raw forks, half through clone(2), half through fork(2).
type forkArgs struct{ Tries int }

func forkWorkload(raw json.RawMessage) (any, error) {
	var a forkArgs
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	out := map[string]tally{"clone": {}, "fork": {}}
	for i := range a.Tries {
		nr, name := uintptr(unix.SYS_CLONE), "clone"
		if i%2 == 1 {
			nr, name = unix.SYS_FORK, "fork"
		}
		pid, errno := rawFork(nr)
		if errno != 0 {
			out[name].add(errno)
			continue
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(int(pid), &ws, 0, nil); err != nil {
			return nil, fmt.Errorf("wait4 %d: %w", pid, err)
		}
		if !ws.Exited() || ws.ExitStatus() != 0 {
			return nil, fmt.Errorf("forked child %d: status %v", pid, ws)
		}
		out[name].add(nil)
	}
	return out, nil
}

// rawFork forks with the raw syscall nr (clone with SIGCHLD, or fork); the
// child runs no Go code beyond the return of the syscall and exits at once.
//
//go:nosplit
func rawFork(nr uintptr) (uintptr, unix.Errno) {
	var r1 uintptr
	var e syscall.Errno
	if nr == unix.SYS_CLONE {
		r1, _, e = syscall.RawSyscall6(nr, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	} else {
		r1, _, e = syscall.RawSyscall(nr, 0, 0, 0)
	}
	if e != 0 {
		return 0, unix.Errno(e)
	}
	if r1 == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return r1, 0
}

// fileArgs: in the root Root (the child chroots there, as a container's
// root is not the host's), each file of Files is read or written Tries
// times with each syscall of the read (write) family.
type fileArgs struct {
	Root  string
	Files []string
	Tries int
}

// fileWorkload returns the read or write workload: a tally per
// "file syscall".
func fileWorkload(write bool) func(json.RawMessage) (any, error) {
	return func(raw json.RawMessage) (any, error) {
		var a fileArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
		if err := unix.Chroot(a.Root); err != nil {
			return nil, fmt.Errorf("chroot %s: %w", a.Root, err)
		}
		if err := os.Chdir("/"); err != nil {
			return nil, err
		}
		out := map[string]tally{}
		for _, f := range a.Files {
			flags := unix.O_RDONLY
			if write {
				flags = unix.O_WRONLY | unix.O_CREAT
			}
			fd, err := unix.Open(f, flags|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", f, err)
			}
			for _, op := range fileOps(write) {
				tl := tally{}
				for range a.Tries {
					tl.add(op.do(fd))
				}
				out[filepath.Clean(f)+" "+op.name] = tl
			}
			unix.Close(fd)
		}
		return out, nil
	}
}

type fileOp struct {
	name string
	do   func(fd int) error
}

func fileOps(write bool) []fileOp {
	buf := make([]byte, 512)
	if write {
		return []fileOp{
			{"write", func(fd int) error { _, err := unix.Write(fd, buf); return err }},
			{"pwrite64", func(fd int) error { _, err := unix.Pwrite(fd, buf, 0); return err }},
			{"writev", func(fd int) error { _, err := unix.Writev(fd, [][]byte{buf[:256], buf[256:]}); return err }},
		}
	}
	return []fileOp{
		{"read", func(fd int) error {
			if _, err := unix.Seek(fd, 0, 0); err != nil {
				return fmt.Errorf("lseek: %w", err)
			}
			_, err := unix.Read(fd, buf)
			return err
		}},
		{"pread64", func(fd int) error { _, err := unix.Pread(fd, buf, 0); return err }},
		{"readv", func(fd int) error {
			if _, err := unix.Seek(fd, 0, 0); err != nil {
				return fmt.Errorf("lseek: %w", err)
			}
			_, err := unix.Readv(fd, [][]byte{buf[:256], buf[256:]})
			return err
		}},
	}
}
