//go:build linux

// Command init is PID 1 of a kernel-matrix guest: it mounts the pseudo
// filesystems the privileged tests expect, brings up lo, loads the kernel
// modules shipped in the initramfs, runs one test binary with the arguments
// and environment the runner put on the kernel command line, prints an exit
// marker on the console and reboots (qemu runs with -no-reboot, so it exits).
//
// It must be built static (CGO_ENABLED=0): the initramfs holds no libc.
//
// Command line: temblor.run=<base64 (std, no padding) of a JSON [spec]>.
// Test output goes to /dev/ttyS1 in raw mode (no CRLF mangling), kernel and
// init messages to the console (ttyS0); the marker goes to both.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Marker starts the line that reports the test binary's exit status; the
// runner parses "<Marker><status>".
const Marker = "TEMBLOR-KERNELMATRIX-EXIT: "

// spec is what the runner asks the guest to run.
type spec struct {
	// Bin is the test binary's path inside the initramfs.
	Bin string `json:"bin"`
	// Dir is the working directory (the package's directory, as with go test).
	Dir string `json:"dir"`
	// Args are the test binary's arguments.
	Args []string `json:"args"`
	// Env is added to the minimal environment.
	Env []string `json:"env"`
}

var console *os.File

func logf(format string, args ...any) {
	fmt.Fprintf(console, "kernelmatrix-init: "+format+"\n", args...)
}

func main() {
	console = os.Stderr // /dev/console, opened by the kernel for init
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "kernelmatrix-init: must run as PID 1 of a test VM (see test/kernelmatrix)")
		os.Exit(2)
	}
	status := run()
	line := fmt.Sprintf("\n%s%d\n", Marker, status)
	if out, err := os.OpenFile("/dev/ttyS1", os.O_WRONLY, 0); err == nil {
		out.WriteString(line)
		out.Sync()
		out.Close()
	}
	console.WriteString(line)
	console.Sync()
	unix.Sync()
	// RESTART rather than POWER_OFF: a kernel without ACPI (the tiny custom
	// one) turns POWER_OFF into a halt that never returns to qemu; with
	// -no-reboot qemu exits on a restart.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART); err != nil {
		logf("reboot: %v", err)
	}
	select {}
}

func run() int {
	start := time.Now()
	if err := mountAll(); err != nil {
		logf("%v", err)
		return 125
	}
	if err := loopbackUp(); err != nil {
		logf("bring up lo: %v", err)
		return 125
	}
	if err := loadModules("/modules"); err != nil {
		logf("%v", err)
		return 125
	}
	sp, err := readSpec()
	if err != nil {
		logf("%v", err)
		return 125
	}
	if sp.Bin == "" {
		logf("ready in %v; no test binary (probe boot)", time.Since(start).Round(time.Millisecond))
		return 0
	}
	out := openTestOutput()

	cmd := exec.Command(sp.Bin, sp.Args...)
	cmd.Dir = sp.Dir
	cmd.Env = append([]string{
		"PATH=/bin:/usr/bin:/sbin:/usr/sbin",
		"HOME=/tmp",
		"TMPDIR=/tmp",
	}, sp.Env...)
	cmd.Stdout = out
	cmd.Stderr = out
	logf("ready in %v; running %s %s", time.Since(start).Round(time.Millisecond), sp.Bin, strings.Join(sp.Args, " "))
	err = cmd.Run()
	out.Sync()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(unix.WaitStatus); ok && ws.Signaled() {
			logf("test binary killed by %v", ws.Signal())
			return 128 + int(ws.Signal())
		}
		return exitErr.ExitCode()
	default:
		logf("run %s: %v", sp.Bin, err)
		return 126
	}
}

// mountAll mounts what a privileged test expects on a normal host. cgroup2
// goes to /sys/fs/cgroup/unified (the hybrid layout) under a tmpfs, which
// both cgroup root lookups (internal/testutil and injector/syscall) find
// through /proc/self/mountinfo.
func mountAll() error {
	mounts := []struct {
		fstype, target string
		flags          uintptr
		data           string
	}{
		{"proc", "/proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", unix.MS_NOSUID, "mode=0755"},
		{"tmpfs", "/tmp", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"tmpfs", "/run", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
		{"bpf", "/sys/fs/bpf", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "mode=0700"},
		{"tracefs", "/sys/kernel/tracing", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"debugfs", "/sys/kernel/debug", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"securityfs", "/sys/kernel/security", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"tmpfs", "/sys/fs/cgroup", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "mode=0755"},
		{"cgroup2", "/sys/fs/cgroup/unified", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "nsdelegate"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", m.target, err)
		}
		err := unix.Mount(m.fstype, m.target, m.fstype, m.flags, m.data)
		if errors.Is(err, unix.EBUSY) { // devtmpfs automounted (DEVTMPFS_MOUNT)
			continue
		}
		if errors.Is(err, unix.ENODEV) && m.fstype != "proc" && m.fstype != "sysfs" && m.fstype != "cgroup2" {
			logf("%s not in this kernel: %s not mounted", m.fstype, m.target)
			continue
		}
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	_ = os.MkdirAll("/var", 0o755)
	for _, l := range [][2]string{{"/run", "/var/run"}, {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}} {
		_ = os.Symlink(l[0], l[1])
	}
	return nil
}

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

// loadModules loads dir/*.ko in the order of dir/modules.load (dependencies
// first). A module already loaded or built in is fine.
func loadModules(dir string) error {
	list, err := os.ReadFile(filepath.Join(dir, "modules.load"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var loaded []string
	for _, name := range strings.Fields(string(list)) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("module %s: %w", name, err)
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load module %s: %w", name, err)
		}
		loaded = append(loaded, strings.TrimSuffix(name, ".ko"))
	}
	if len(loaded) > 0 {
		logf("modules: %s", strings.Join(loaded, " "))
	}
	return nil
}

func readSpec() (spec, error) {
	var sp spec
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return sp, err
	}
	for _, f := range strings.Fields(string(cmdline)) {
		v, ok := strings.CutPrefix(f, "temblor.run=")
		if !ok {
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(v)
		if err != nil {
			return sp, fmt.Errorf("decode temblor.run: %w", err)
		}
		if err := json.Unmarshal(raw, &sp); err != nil {
			return sp, fmt.Errorf("decode temblor.run: %w", err)
		}
		if sp.Dir == "" {
			sp.Dir = "/"
		}
		return sp, nil
	}
	return sp, errors.New("no temblor.run= on the kernel command line")
}

// openTestOutput returns the second serial port in raw mode, or the console.
func openTestOutput() *os.File {
	f, err := os.OpenFile("/dev/ttyS1", os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		logf("no /dev/ttyS1 (%v): test output on the console", err)
		return console
	}
	if t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
		t.Oflag &^= unix.OPOST // no \n -> \r\n
		t.Cflag |= unix.CLOCAL
		_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
	}
	return f
}
