package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// Result is what running a command under a local fault came to.
type Result struct {
	// ExitCode is the command's exit status, 128+N when signal N killed it.
	ExitCode int
	// Methods are the backends or hooks the fault used.
	Methods []string
	// Counters are the kernel counters when the fault was detached.
	Counters chaosv1.Counters
	// Attached is how long the fault was attached.
	Attached time.Duration
	// Ran is how long the command ran.
	Ran time.Duration
	// Network is true for a network fault, false for a syscall fault.
	Network bool
	// DetachReason says why the fault ended: "duration ended" or
	// "command exited".
	DetachReason string
}

// Run starts cmd in the session, forwards the signals arriving on signals
// (may be nil) to it, detaches the fault when its duration ends or cmd exits
// (whichever comes first; cmd then goes on un-faulted), and returns once cmd
// has exited. Cancelling ctx kills cmd. The caller still Closes s.
func Run(ctx context.Context, s *Session, cmd *exec.Cmd, duration time.Duration, signals <-chan os.Signal) (Result, error) {
	started := time.Now()
	if err := s.Start(cmd); err != nil {
		return Result{}, err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	timer := time.NewTimer(duration)
	defer timer.Stop()
	res := Result{Methods: s.Methods(), Network: s.fault.Spec.Network != nil}
	var detachErr error
	detach := func(reason string) {
		if res.DetachReason == "" {
			res.DetachReason = reason
			detachErr = s.Detach()
		}
	}
	ctxDone := ctx.Done()
	for {
		select {
		case sig := <-signals:
			_ = cmd.Process.Signal(sig)
		case <-timer.C:
			detach("duration ended")
		case <-ctxDone:
			_ = cmd.Process.Kill()
			ctxDone = nil
		case err := <-waited:
			res.Ran = time.Since(started)
			detach("command exited")
			res.Counters, _ = s.Counters()
			res.Attached = s.Attached()
			code, werr := exitCode(cmd, err)
			res.ExitCode = code
			return res, errors.Join(werr, detachErr)
		}
	}
}

// exitCode turns cmd's outcome into a shell-style exit status.
func exitCode(cmd *exec.Cmd, waitErr error) (int, error) {
	st := cmd.ProcessState
	if st == nil {
		return 1, fmt.Errorf("wait for %s: %w", cmd.Path, waitErr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return st.ExitCode(), fmt.Errorf("wait for %s: %w", cmd.Path, waitErr)
	}
	return st.ExitCode(), nil
}

// Summary formats r for people, one fact per line.
func (r Result) Summary() []string {
	lines := []string{fmt.Sprintf("fault detached after %s (%s)", r.Attached.Round(time.Millisecond), r.DetachReason)}
	for _, m := range r.Methods {
		lines = append(lines, "  attached: "+m)
	}
	c := r.Counters
	if r.Network {
		lines = append(lines, fmt.Sprintf("  packets: matched %d, dropped %d, corrupted %d", c.PacketsMatched, c.PacketsDropped, c.PacketsCorrupted))
	} else {
		lines = append(lines, fmt.Sprintf("  syscalls: matched %d, failed %d", c.SyscallsMatched, c.SyscallsFailed))
	}
	lines = append(lines, fmt.Sprintf("command ran %s, exit status %d", r.Ran.Round(time.Millisecond), r.ExitCode))
	return lines
}
