//go:build !amd64 && !arm64

package syscall

import (
	"context"
	"fmt"
	"runtime"
)

func errNoEntryPrograms() error {
	return fmt.Errorf("%w: no syscall entry programs built for %s", errNotSupported, runtime.GOARCH)
}

func probeKprobeOverride(context.Context) error { return errNoEntryPrograms() }

func probeFmodRet(context.Context) error { return errNoEntryPrograms() }

func attachKprobe(*attachState, []Syscall) error { return errNoEntryPrograms() }

func attachFmodRet(*attachState, []Syscall) error { return errNoEntryPrograms() }
