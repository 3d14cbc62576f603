package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/temblor-dev/temblor/injector/local"
	"github.com/temblor-dev/temblor/injector/netns"
)

// The workloads run in a child process, the test binary itself started
// again: a syscall fault attaches to a cgroup, and only the child is in it
// (from its first instruction), never the test's own threads.
const (
	childModeEnv = "TEMBLOR_LIVE_CHILD"
	childArgsEnv = "TEMBLOR_LIVE_ARGS"
)

// childModes are the workloads a child can run: each takes its JSON
// arguments and returns a JSON-encodable tally.
var childModes = map[string]func(args json.RawMessage) (any, error){}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

func childMain(mode string) int {
	fn, ok := childModes[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 2
	}
	out, err := fn(json.RawMessage(os.Getenv(childArgsEnv)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: encode: %v\n", mode, err)
		return 1
	}
	return 0
}

// runChild runs workload mode with args and decodes its tally into out. With
// a session, the child starts inside it (in its cgroup, or its network
// namespace); with nil, it runs outside any fault (the baseline). nsPath,
// when set, is the network namespace the child starts in.
func runChild(ctx context.Context, t *testing.T, s *local.Session, nsPath, mode string, args, out any) {
	t.Helper()
	a, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childModeEnv+"="+mode, childArgsEnv+"="+string(a))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := cmd.Start
	if s != nil {
		start = func() error { return s.Start(cmd) }
	}
	if nsPath != "" {
		err = netns.Do(nsPath, start)
	} else {
		err = start()
	}
	if err != nil {
		t.Fatalf("start child %s: %v", mode, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child %s: %v\nstderr: %s", mode, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("child %s: decode %q: %v\nstderr: %s", mode, stdout.String(), err, stderr.String())
	}
}
