package syscall

import "golang.org/x/sys/unix"

// forkOnce makes one fork(2) itself (not clone(2), which the runtime and
// unix.ForkExec use), so that the syscall configured is the one made. The
// child runs no Go code beyond the return of the raw call: it exits at
// once, as syscall.forkAndExecInChild's children do; the parent reaps it.
//
//go:norace
func forkOnce() error {
	pid, _, errno := unix.RawSyscall(unix.SYS_FORK, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if pid == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(int(pid), &ws, 0, nil); err != nil {
		return err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return errForkChild
	}
	return nil
}

// forkScenarios are the fork scenarios of this architecture.
var forkScenarios = []scenario{scFork}
