// Package netns runs code inside another network namespace, safely with
// respect to the Go scheduler.
package netns

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on a dedicated OS thread that has joined the network namespace
// at nsPath (for example /proc/PID/ns/net or /run/netns/NAME), and returns
// fn's error.
//
// The thread is locked for the whole call. After fn returns (or panics) the
// thread's original namespace is restored; only when that succeeds is the
// thread unlocked and given back to the scheduler. A thread that cannot be
// restored stays locked, so the runtime terminates it when the goroutine
// exits instead of reusing it in the wrong namespace.
//
// Everything namespace-bound (netlink sockets, ifindex lookups, attaching
// programs by ifindex) must be created inside fn. Goroutines that fn starts do
// not run in the namespace.
func Do(nsPath string, fn func() error) error {
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer unix.Close(target)

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- doLocked(target, nsPath, fn)
	}()
	return <-errc
}

// doLocked runs on the locked thread and unlocks it only after restoring the
// original namespace.
func doLocked(target int, nsPath string, fn func() error) error {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread() // not entered yet: the thread is clean
		return fmt.Errorf("open current netns: %w", err)
	}
	defer unix.Close(orig)

	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread() // setns failed: still in the original namespace
		return fmt.Errorf("enter netns %s: %w", nsPath, err)
	}

	fnErr := runCatching(fn)

	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// Stay locked: the goroutine ends and the runtime kills the thread.
		return fmt.Errorf("restore netns after %s (thread discarded): %w", nsPath, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// runCatching turns a panic in fn into an error, so that the namespace is
// restored before the panic is reported.
func runCatching(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in netns function: %v", r)
		}
	}()
	return fn()
}
