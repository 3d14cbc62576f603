//go:build !amd64

package syscall

import "errors"

// forkOnce: arm64 has no fork(2) (glibc's fork is clone).
func forkOnce() error { return errors.New("no fork(2) on this architecture") }

// forkScenarios are the fork scenarios of this architecture: none.
var forkScenarios []scenario
