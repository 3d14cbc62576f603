package syscall

// The test binary doubles as the process that makes syscalls under a fault:
// TestMain runs a helper mode instead of the tests when
// TEMBLOR_SYSFAULT_HELPER is set. Results travel through a shared memory
// mapping of an inherited file, so that reporting needs no write(2), which a
// fault may be failing.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	helperEnv     = "TEMBLOR_SYSFAULT_HELPER"
	resultSize    = 1 << 16
	resultFD      = 3 // ExtraFiles[0]
	netnsFD       = 4 // ExtraFiles[1], optional
	helperTimeout = 60 * time.Second
)

// helperResult is what a helper reports.
type helperResult struct {
	OK      int            `json:"ok"`
	Errnos  map[string]int `json:"errnos,omitempty"`
	Other   []string       `json:"other,omitempty"`
	NsPerOp float64        `json:"ns_per_op,omitempty"`
}

func (r helperResult) String() string {
	return fmt.Sprintf("ok=%d errnos=%v other=%v", r.OK, r.Errnos, r.Other)
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

func helperMain(mode string) int {
	runtime.LockOSThread() // setns below applies to this thread only
	count, _ := strconv.Atoi(os.Getenv("TB_COUNT"))
	if count == 0 {
		count = 1
	}
	if os.Getenv("TB_NETNS") != "" {
		if err := unix.Setns(netnsFD, unix.CLONE_NEWNET); err != nil {
			fmt.Fprintln(os.Stderr, "setns:", err)
			return 2
		}
		if err := loopbackUp(); err != nil {
			fmt.Fprintln(os.Stderr, "lo up:", err)
			return 2
		}
	}
	if cg := os.Getenv("TB_JOIN_CGROUP"); cg != "" {
		// Join the target only now, after the runtime started: its start-up
		// reads and the exec's own would otherwise be faulted too.
		if err := os.WriteFile(cg+"/cgroup.procs", []byte("0"), 0); err != nil {
			fmt.Fprintln(os.Stderr, "join cgroup:", err)
			return 2
		}
	}
	var res helperResult
	var err error
	switch mode {
	case "attach":
		return helperAttach()
	case "connectloop":
		res, err = helperConnectLoop(count)
	case "fdops":
		res, err = helperFDOps(count) // path_fd_test.go
	default:
		res, err = helperSyscalls(mode, count)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, mode+":", err)
		return 2
	}
	data, _ := json.Marshal(res)
	mem, err := unix.Mmap(resultFD, 0, resultSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmap result:", err)
		return 2
	}
	copy(mem, data)
	return 0
}

// helperSyscalls makes count calls of the syscall under test and tallies
// their outcomes by errno.
func helperSyscalls(mode string, count int) (helperResult, error) {
	res := helperResult{Errnos: map[string]int{}}
	tally := func(err error) {
		var errno unix.Errno
		switch {
		case err == nil:
			res.OK++
		case errors.As(err, &errno):
			res.Errnos[unix.ErrnoName(errno)]++
		default:
			res.Other = append(res.Other, err.Error())
		}
	}
	addr := os.Getenv("TB_ADDR")
	path := os.Getenv("TB_PATH")
	if mode == "connect" && addr == "" {
		// No address: listen in our own (new) network namespace.
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return res, fmt.Errorf("listen: %w", err)
		}
		defer ln.Close()
		addr = ln.Addr().String()
	}
	var wfd int = -1
	switch mode {
	case "write", "read":
		flags := unix.O_WRONLY | unix.O_CREAT
		if mode == "read" {
			flags = unix.O_RDONLY
		}
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return res, fmt.Errorf("open %s: %w", path, err)
		}
		defer unix.Close(fd)
		wfd = fd
	}
	for i := 0; i < count; i++ {
		switch mode {
		case "connect":
			tally(connectTCP4(addr))
		case "bind":
			tally(bindTCP4())
		case "socket":
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			tally(err)
		case "open":
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
			if err == nil {
				unix.Close(fd)
			}
			tally(err)
		case "write":
			_, err := unix.Write(wfd, []byte("x"))
			tally(err)
		case "read":
			_, err := unix.Read(wfd, make([]byte, 1))
			tally(err)
		case "fork":
			tally(forkOnce())
		case "setsockopt":
			tally(setsockoptTCP4())
		case "connect-len":
			tally(connectLen(addr, os.Getenv("TB_ADDRLEN")))
		case "mkdirat":
			err := unix.Mkdirat(unix.AT_FDCWD, path, 0o700)
			if err == nil {
				unix.Rmdir(path)
			}
			tally(err)
		case "connect-addr", "bind-addr", "sendto", "sendmsg":
			tally(helperSock(mode, addr))
		default:
			return res, fmt.Errorf("unknown helper mode %q", mode)
		}
	}
	return res, nil
}

// connectTCP4 connects a fresh TCP socket to addr with raw syscalls, so the
// errno is the kernel's, untouched by net's dialer.
func connectTCP4(addr string) error {
	ap, err := netipAddrPort(addr)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	return unix.Connect(fd, ap)
}

// errForkChild: a forked child did not exit with status 0.
var errForkChild = errors.New("forked child did not exit cleanly")

func setsockoptTCP4() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
}

// connectLen connects a TCP socket to the IPv4 addr passing addrlen (a
// decimal string) as the address length: the whole sockaddr_in is in the
// buffer, the kernel is told only addrlen bytes.
func connectLen(addr, addrlen string) error {
	sa, err := netipAddrPort(addr)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(addrlen)
	if err != nil {
		return fmt.Errorf("TB_ADDRLEN %q: %w", addrlen, err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	raw := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: sa.Addr}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&raw.Port))[:], uint16(sa.Port))
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&raw)), uintptr(n))
	runtime.KeepAlive(&raw)
	if errno != 0 {
		return errno
	}
	return nil
}

func bindTCP4() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	return unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
}

func netipAddrPort(addr string) (*unix.SockaddrInet4, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return nil, fmt.Errorf("not IPv4: %s", host)
	}
	sa := &unix.SockaddrInet4{Port: p}
	copy(sa.Addr[:], ip)
	return sa, nil
}

// helperConnectLoop times count connect(2) calls of one UDP socket to a
// loopback address: the cheapest connect there is, so hook overhead shows.
func helperConnectLoop(count int) (helperResult, error) {
	var res helperResult
	sa, err := netipAddrPort(os.Getenv("TB_ADDR"))
	if err != nil {
		return res, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return res, err
	}
	defer unix.Close(fd)
	start := time.Now()
	for i := 0; i < count; i++ {
		if err := unix.Connect(fd, sa); err != nil {
			res.Other = append(res.Other, err.Error())
			break
		}
		res.OK++
	}
	res.NsPerOp = float64(time.Since(start).Nanoseconds()) / float64(count)
	return res, nil
}

// loopbackUp sets lo up in the current network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// helperOpts places and parameterises a helper process.
type helperOpts struct {
	cgroupFD int      // -1: stay in the test's cgroup
	netns    *os.File // nil: stay in the test's network namespace
	env      []string
	count    int
	wrap     []string // command to run the helper under (strace ...)
}

// runHelper runs the test binary in helper mode and returns its report.
func runHelper(t testing.TB, mode string, o helperOpts) helperResult {
	t.Helper()
	res, err := execHelper(mode, o)
	if err != nil {
		t.Fatalf("helper %s: %v", mode, err)
	}
	return res
}

func helperCommand(mode string, o helperOpts) (*exec.Cmd, *os.File, error) {
	args := append(append([]string{}, o.wrap...), os.Args[0], "-test.run=^$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, fmt.Sprintf("TB_COUNT=%d", o.count))
	// No asynchronous preemption in the helper: the runtime's SIGURG can hit
	// the thread while a call blocks (a TCP connect waiting for the
	// handshake, slow under TCG), and the kernel then restarts the call
	// (SA_RESTART). The restart passes the LSM hook (security_socket_connect)
	// again, so one connect(2) would be matched twice and the counters of
	// TestProbability would be off by one (Matched 2001 for 2000 calls).
	godebug := "asyncpreemptoff=1"
	if v := os.Getenv("GODEBUG"); v != "" {
		godebug = v + "," + godebug
	}
	cmd.Env = append(cmd.Env, "GODEBUG="+godebug)
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Stderr = os.Stderr
	result, err := os.CreateTemp("", "temblor-helper-")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(result.Name())
	if err := result.Truncate(resultSize); err != nil {
		result.Close()
		return nil, nil, err
	}
	cmd.ExtraFiles = []*os.File{result}
	if o.netns != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, o.netns)
		cmd.Env = append(cmd.Env, "TB_NETNS=1")
	}
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if o.cgroupFD >= 0 {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = o.cgroupFD
	}
	return cmd, result, nil
}

func execHelper(mode string, o helperOpts) (helperResult, error) {
	var res helperResult
	cmd, result, err := helperCommand(mode, o)
	if err != nil {
		return res, err
	}
	defer result.Close()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start: %w", err)
	}
	timer := time.AfterFunc(helperTimeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("wait: %w", err)
	}
	buf := make([]byte, resultSize)
	if _, err := result.ReadAt(buf, 0); err != nil {
		return res, fmt.Errorf("read result: %w", err)
	}
	data := strings.TrimRight(string(buf), "\x00")
	if err := json.Unmarshal([]byte(data), &res); err != nil {
		return res, fmt.Errorf("decode result %q: %w", data, err)
	}
	return res, nil
}

// newNetNS creates a network namespace, held open by the returned file,
// without moving the test's threads into it: a locked thread unshares, opens
// its namespace, and restores; a thread that fails to restore is left locked
// so that it dies with its goroutine.
func newNetNS(t testing.TB) (*os.File, uint64) {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("unshare: %w", err)}
			return
		}
		ns, nsErr := os.Open("/proc/thread-self/ns/net")
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("restore netns: %w", err)}
			return // thread stays locked and dies
		}
		runtime.UnlockOSThread()
		ch <- result{f: ns, err: nsErr}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("new netns: %v", r.err)
	}
	t.Cleanup(func() { r.f.Close() })
	var st unix.Stat_t
	if err := unix.Fstat(int(r.f.Fd()), &st); err != nil {
		t.Fatalf("stat netns: %v", err)
	}
	return r.f, st.Ino
}

// loopbackListener accepts and closes TCP connections on 127.0.0.1 until
// the test ends.
func loopbackListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	acceptAndClose(t, ln)
	return ln.Addr().String()
}

// acceptAndClose accepts and closes connections on ln until the test ends,
// then closes ln.
func acceptAndClose(t testing.TB, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}
