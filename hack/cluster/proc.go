package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const holderArg = "__temblor_cluster_nsholder"

// runHolder is the mount-namespace holder: started with CLONE_NEWNS (Go makes
// "/" recursively private in the child before exec), it covers the sysctl
// files that kubelet and the bridge plugin write with plain files, then
// sleeps. containerd and kubelet join its namespace with nsenter, so they see
// each other's mounts while the host sees none of them; when the last of
// them exits, the namespace and every mount in it are gone.
func runHolder() {
	root := os.Args[2]
	dir := filepath.Join(root, "sysctl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf("holder: %v", err)
	}
	for _, k := range watchedSysctls {
		src := "/proc/sys/" + k
		b, err := os.ReadFile(src)
		if err != nil {
			continue
		}
		f := filepath.Join(dir, strings.ReplaceAll(k, "/", "."))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			fatalf("holder: %v", err)
		}
		if err := syscall.Mount(f, src, "", syscall.MS_BIND, ""); err != nil {
			fatalf("holder: bind %s over %s: %v", f, src, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "run", "nsholder.ready"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		fatalf("holder: %v", err)
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP)
	<-ch
}

// startHolder starts the holder if it is not running and returns its pid.
func startHolder() (int, error) {
	if pid, ok := alive("nsholder"); ok {
		return pid, nil
	}
	os.Remove(state.p("run", "nsholder.ready"))
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// Keep a copy of ourselves: `go run` deletes its binary when it exits.
	bin := state.p("bin", "cluster-nsholder")
	if err := copyFile(self, bin, 0o755); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(state.log("nsholder"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, holderArg, state.root)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := os.WriteFile(state.pid("nsholder"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return 0, err
	}
	if err := waitFor("mount namespace holder", 10*time.Second, func() error {
		_, err := os.Stat(state.p("run", "nsholder.ready"))
		return err
	}); err != nil {
		return 0, err
	}
	return pid, nil
}

// ensureDaemon makes sure one component runs with these arguments and is
// healthy: a running one is kept if its arguments are the same and it passes
// its health check within a few seconds; otherwise it is restarted.
func ensureDaemon(name string, nsPid int, health func() error, timeout time.Duration, bin string, args ...string) error {
	want := bin + " " + strings.Join(args, " ") + configDigest(args)
	if _, ok := alive(name); ok {
		had, _ := os.ReadFile(state.p("run", name+".args"))
		switch {
		case string(had) != want:
			logf("%s runs with other arguments: restarting it", name)
			stopDaemon(name, 15*time.Second)
		case health == nil:
			return nil
		case waitFor(name, 15*time.Second, health) == nil:
			logf("%s already running and healthy", name)
			return nil
		default:
			logf("%s runs but is not healthy: restarting it", name)
			stopDaemon(name, 15*time.Second)
		}
	}
	if err := startDaemon(name, nsPid, bin, args...); err != nil {
		return err
	}
	if err := os.WriteFile(state.p("run", name+".args"), []byte(want), 0o644); err != nil {
		return err
	}
	if health == nil {
		return nil
	}
	if err := waitFor(name, timeout, func() error {
		if _, ok := alive(name); !ok {
			return fmt.Errorf("%s exited", name)
		}
		return health()
	}); err != nil {
		return withLog(err, name)
	}
	return nil
}

// startDaemon starts one component in its own session, logging to
// logs/<name>.log, unless it is already running. With nsPid > 0 it runs inside
// that process's mount namespace.
func startDaemon(name string, nsPid int, bin string, args ...string) error {
	if pid, ok := alive(name); ok {
		logf("%s already running (pid %d)", name, pid)
		return nil
	}
	lf, err := os.OpenFile(state.log(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "\n==== %s starting %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))
	var cmd *exec.Cmd
	if nsPid > 0 {
		cmd = exec.Command("nsenter", append([]string{"-t", strconv.Itoa(nsPid), "-m", "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Dir = state.root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	// Reap it if it dies while we are still running, so alive() sees it gone.
	go cmd.Wait()
	logf("started %s (pid %d), log %s", name, pid, state.log(name))
	return os.WriteFile(state.pid(name), []byte(strconv.Itoa(pid)), 0o644)
}

// alive reports whether the component recorded in its pid file still runs.
func alive(name string) (int, bool) {
	b, err := os.ReadFile(state.pid(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// state field after "comm)"; Z means a zombie
	if i := strings.LastIndex(string(st), ")"); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
		return 0, false
	}
	cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cl), state.root) && !strings.Contains(string(cl), holderArg) {
		return 0, false // pid reused by something else
	}
	return pid, true
}

// stopDaemon sends SIGTERM to the component's process group, then SIGKILL.
func stopDaemon(name string, grace time.Duration) {
	pid, ok := alive(name)
	if !ok {
		os.Remove(state.pid(name))
		return
	}
	logf("stopping %s (pid %d)", name, pid)
	syscall.Kill(-pid, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if _, ok := alive(name); !ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, ok := alive(name); ok {
		syscall.Kill(-pid, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		time.Sleep(200 * time.Millisecond)
	}
	os.Remove(state.pid(name))
}

func waitFor(what string, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// run runs a command, returning combined output in the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return string(out), err
	}
	return string(out), nil
}

// configDigest hashes the files under the state dir that the arguments name
// (configs, kubeconfigs, certificates), so that a changed configuration
// restarts the component even when its command line is the same.
func configDigest(args []string) string {
	h := sha256.New()
	for _, a := range args {
		if i := strings.Index(a, "="); i >= 0 {
			a = a[i+1:]
		}
		if !strings.HasPrefix(a, state.root+"/") {
			continue
		}
		if st, err := os.Stat(a); err == nil && st.Mode().IsRegular() {
			b, _ := os.ReadFile(a)
			h.Write([]byte(a))
			h.Write(b)
		}
	}
	return fmt.Sprintf(" #%x", h.Sum(nil)[:8])
}
