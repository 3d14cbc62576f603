// Package app is the temblorctl command line, shared by the temblorctl
// binary and the kubectl-temblor plugin: cluster commands (run, get,
// describe, report, stop, validate) that talk to the API server like kubectl does,
// and exec, the local mode that runs a Fault against a command with no
// cluster.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/temblor-dev/temblor/injector/local"
)

// IO is where a command reads and writes, and the signals it reacts to.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Signals delivers SIGINT and SIGTERM: run --wait stops the Fault on
	// one, exec forwards them to its command. Nil means none arrive.
	Signals <-chan os.Signal
	// Terminal forces the live display on or off; nil asks whether Stdout
	// is a terminal.
	Terminal *bool
}

// isTerminal reports whether Stdout gets the redrawn live display.
func (io IO) isTerminal() bool {
	if io.Terminal != nil {
		return *io.Terminal
	}
	f, ok := io.Stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// command is one subcommand.
type command struct {
	name, usage, help string
	run               func(ctx context.Context, a *app, args []string) int
}

var commands = []command{
	{"run", "run -f FAULT.yaml [--wait]", "create a Fault; with --wait follow it until it ends", runCmd},
	{"get", "get [NAME]", "list Faults, or show one", getCmd},
	{"describe", "describe NAME", "show a Fault in detail: targets, nodes, counters, conditions, events", describeCmd},
	{"report", "report NAME [-o table|json]", "what happened in a Fault (or a FaultSchedule's run): timeline, targets, counters, abort checks", reportCmd},
	{"stop", "stop NAME [--wait]", "stop a Fault by deleting it; with --wait until it is gone", stopCmd},
	{"validate", "validate -f FILE...", "check manifests against the cluster's CRD rules (server-side dry run)", validateCmd},
	{"exec", "exec -f FAULT.yaml [--netns PATH] -- COMMAND [ARGS...]", "local mode, no cluster: run COMMAND under the fault (needs root)", execCmd},
}

// app is one invocation's state.
type app struct {
	name string // program name for messages
	io   IO
	kube kubeFlags
}

// Main runs the command line args (without the program name) and returns
// the exit status. name is the program's name for usage messages.
func Main(ctx context.Context, name string, args []string, stdio IO) int {
	a := &app{name: name, io: stdio}
	top := a.flagSet(name)
	top.Usage = a.usage
	if err := top.Parse(args); err != nil {
		return 2
	}
	rest := top.Args()
	if len(rest) == 0 {
		a.usage()
		return 2
	}
	for _, c := range commands {
		if c.name == rest[0] {
			return c.run(ctx, a, rest[1:])
		}
	}
	if rest[0] == "help" {
		a.usage()
		return 0
	}
	fmt.Fprintf(a.io.Stderr, "%s: unknown command %q\n", name, rest[0])
	a.usage()
	return 2
}

func (a *app) usage() {
	w := a.io.Stderr
	fmt.Fprintf(w, "Usage: %s [--kubeconfig FILE] [--context NAME] [-n NAMESPACE] COMMAND\n\nCommands:\n", a.name)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-58s %s\n", c.usage, c.help)
	}
	fmt.Fprintf(w, "\nexec: a syscall fault runs COMMAND in a fresh cgroup; a network fault in a fresh network\n"+
		"namespace whose eth0 reaches the host at $%s (no NAT: nothing leaves the machine).\n", local.HostAddrEnv)
}

// flagSet returns a FlagSet holding the kubeconfig flags, which every
// command accepts anywhere on its command line.
func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.io.Stderr)
	a.kube.register(fs)
	return fs
}

// parse parses args with flags and positional arguments interleaved, as
// kubectl allows ("get NAME -n ns").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// fail prints err and returns status 1.
func (a *app) fail(err error) int {
	fmt.Fprintf(a.io.Stderr, "error: %v\n", err)
	return 1
}

// fileList is a repeatable -f flag.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }

func (f *fileList) Set(v string) error {
	if v == "" {
		return errors.New("empty file name")
	}
	*f = append(*f, v)
	return nil
}

// RunProcess runs the command line of this process under the name name
// (how usage messages call it), wired to the standard streams, with SIGINT
// and SIGTERM delivered to the running command; it returns the exit status.
func RunProcess(name string) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	return Main(context.Background(), name, os.Args[1:], IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Signals: sigs,
	})
}
