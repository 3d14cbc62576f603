package app

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/temblor-dev/temblor/injector/attach"
	"github.com/temblor-dev/temblor/injector/convert"
	"github.com/temblor-dev/temblor/injector/local"
)

// execCmd is local mode: it runs COMMAND under the Fault on this machine,
// with no cluster, and exits with COMMAND's status.
func execCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("exec")
	file := fs.String("f", "", "Fault manifest")
	nsPath := fs.String("netns", "", "network fault: use this existing network namespace instead of a fresh one")
	backend := fs.String("syscall-backend", "auto", "syscall fault: auto, kprobe-override, fmod_ret, lsm or cgroup")
	quiet := fs.Bool("q", false, "print no summary")
	var command []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, command = args[:i], args[i+1:]
	}
	if extra, err := parse(fs, args); err != nil {
		return 2
	} else if len(extra) > 0 {
		fmt.Fprintf(a.io.Stderr, "error: unexpected arguments %q: put the command after --\n", extra)
		return 2
	}
	if *file == "" || len(command) == 0 {
		fmt.Fprintf(a.io.Stderr, "usage: %s exec -f FAULT.yaml [--netns PATH] -- COMMAND [ARGS...]\n", a.name)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(a.io.Stderr, "error: %s exec needs root: it loads eBPF programs and creates cgroups and network namespaces (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN); run it with sudo\n", a.name)
		return 1
	}
	if _, err := exec.LookPath(command[0]); err != nil {
		fmt.Fprintf(a.io.Stderr, "error: %v\n", err)
		return 127 // before anything is attached; as a shell's "command not found"
	}
	fault, err := local.LoadFault(*file)
	if err != nil {
		return a.fail(err)
	}
	be, err := convert.ParseBackend(*backend)
	if err != nil {
		return a.fail(err)
	}
	s, err := local.New(ctx, fault, local.Options{NetNS: *nsPath, SyscallBackend: be, Warn: a.io.Stderr})
	if err != nil {
		return a.fail(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			fmt.Fprintf(a.io.Stderr, "temblor: cleanup: %v\n", err)
		}
	}()
	a.announce(s, action(fault), fault.Spec.Duration.Duration.String(), command)

	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.io.Stdin, a.io.Stdout, a.io.Stderr
	res, err := local.Run(ctx, s, cmd, fault.Spec.Duration.Duration, a.io.Signals)
	if err != nil && cmd.Process == nil {
		fmt.Fprintf(a.io.Stderr, "error: %v\n", err)
		switch {
		case errors.Is(err, exec.ErrNotFound), errors.Is(err, iofs.ErrNotExist):
			return 127 // as a shell says "command not found"
		case errors.Is(err, iofs.ErrPermission):
			return 126
		}
		return 1
	}
	if err != nil {
		fmt.Fprintf(a.io.Stderr, "temblor: %v\n", err)
	}
	if !*quiet {
		for _, l := range res.Summary() {
			fmt.Fprintln(a.io.Stderr, "temblor: "+l)
		}
	}
	return res.ExitCode
}

// announce says on stderr what is attached where, before COMMAND starts.
func (a *app) announce(s *local.Session, action, duration string, command []string) {
	where := "cgroup " + s.CgroupPath()
	if s.NetNSPath() != "" {
		where = "netns " + s.NetNSPath()
		if h := s.HostAddr(); h != "" {
			where += fmt.Sprintf(" (host reachable at %s=%s)", local.HostAddrEnv, h)
		}
	}
	fmt.Fprintf(a.io.Stderr, "temblor: %s for %s in %s via %s\n", action, duration, where, attach.JoinMethods(s.Methods()))
	fmt.Fprintf(a.io.Stderr, "temblor: running %s\n", strings.Join(command, " "))
}
