package live_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/experiments"
	"github.com/temblor-dev/temblor/injector/local"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// ResultMarker starts the log line of each measured run; the kernel matrix
// (test/kernelmatrix) collects these lines into its experiments table:
// RESULT <experiment> <backend or hooks> | <expected> | <measured>.
const ResultMarker = "RESULT "

// requireBackendsEnv is the kernel matrix's list of the syscall backends
// the kernel must serve (see test/kernelmatrix/requirements.go).
const requireBackendsEnv = "TEMBLOR_REQUIRE_BACKENDS"

// run is one experiment's attachment and the verdict of its check.
type run struct {
	t        *testing.T
	name     string
	faults   []*chaosv1.Fault
	backend  sysfault.Backend // forced syscall backend; Auto for network
	expected string
	measured []string
	methods  []string // how each session attached, for the result line
}

// check runs one experiment for real and fails r.t when its effect is not
// what the README says.
type check struct {
	// syscallBackends lists the syscall backends the README says can run
	// the experiment; empty for a network experiment.
	syscallBackends []sysfault.Backend
	// expected is the README's expected result, at the kernel's level.
	expected string
	run      func(ctx context.Context, r *run)
}

// checks holds one check per experiment; each *_test.go file registers its
// own in init.
var checks = map[string]check{}

func register(name string, c check) {
	if _, dup := checks[name]; dup {
		panic("experiment check registered twice: " + name)
	}
	checks[name] = c
}

// TestExperimentsRun runs every experiment of experiments/. An experiment
// without a check fails: shipping one is promising it runs.
func TestExperimentsRun(t *testing.T) {
	testutil.RequireRoot(t)
	names, err := experiments.Names()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 11 {
		t.Fatalf("found %d experiments, want at least 11", len(names))
	}
	for name := range checks {
		if !slices.Contains(names, name) {
			t.Errorf("check for %s, which is not an experiment", name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c, ok := checks[name]
			if !ok {
				t.Fatalf("experiment %s has no live check: every shipped experiment must run for real", name)
			}
			faults := loadFaults(t, name)
			if len(c.syscallBackends) == 0 {
				runOne(t, name, c, faults, sysfault.Auto)
				return
			}
			backends := backendsToRun(t, c.syscallBackends)
			for _, b := range backends {
				t.Run(b.String(), func(t *testing.T) { runOne(t, name, c, faults, b) })
			}
		})
	}
}

func runOne(t *testing.T, name string, c check, faults []*chaosv1.Fault, b sysfault.Backend) {
	testutil.LeakCheckOwn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &run{t: t, name: name, faults: faults, backend: b, expected: c.expected}
	c.run(ctx, r)
	if t.Failed() {
		return
	}
	how := strings.Join(slices.Compact(slices.Sorted(slices.Values(r.methods))), ",")
	if b != sysfault.Auto {
		how = b.String()
	}
	t.Logf("%s%s %s | %s | %s", ResultMarker, name, how, c.expected, strings.Join(r.measured, "; "))
}

// measure records one measured figure of the run for the result line.
func (r *run) measure(format string, args ...any) {
	r.measured = append(r.measured, fmt.Sprintf(format, args...))
}

// backendsToRun returns the backends of the experiment to run on this
// kernel: those the kernel must serve (TEMBLOR_REQUIRE_BACKENDS, set by the
// kernel matrix), or, without the list, every one the probe finds. When the
// experiment needs a backend the kernel need not serve, the test skips,
// even in CI: the matrix checks that every experiment passed on some kernel.
func backendsToRun(t *testing.T, want []sysfault.Backend) []sysfault.Backend {
	caps := sysfault.Probe(context.Background())
	list, listed := os.LookupEnv(requireBackendsEnv)
	var out, absent []sysfault.Backend
	for _, b := range want {
		if listed {
			if slices.Contains(strings.Split(list, ","), b.String()) {
				out = append(out, b)
			}
			continue
		}
		if caps.Backends[b].State != sysfault.StateUnsupported {
			out = append(out, b)
		} else {
			absent = append(absent, b)
		}
	}
	if len(out) > 0 {
		return out
	}
	if listed {
		t.Skipf("needs one of %v: not required on this kernel (%s=%s)", want, requireBackendsEnv, list)
	}
	testutil.Skip(t, fmt.Sprintf("no backend of %v on this kernel: %v", want, absent))
	return nil
}

// loadFaults parses the experiment's manifests as local mode does.
func loadFaults(t *testing.T, name string) []*chaosv1.Fault {
	t.Helper()
	manifests, err := experiments.Manifests(name)
	if err != nil {
		t.Fatal(err)
	}
	var faults []*chaosv1.Fault
	for _, file := range slices.Sorted(maps.Keys(manifests)) {
		f, err := local.ParseFault(manifests[file])
		if err != nil {
			t.Fatalf("%s/%s: %v", name, file, err)
		}
		faults = append(faults, f)
	}
	return faults
}

// attach attaches fault in a local session: for a syscall fault, a fresh
// cgroup (the backend forced to r.backend); for a network fault, the
// namespace nsPath.
func (r *run) attach(ctx context.Context, fault *chaosv1.Fault, nsPath string) *local.Session {
	r.t.Helper()
	s, err := local.New(ctx, fault, local.Options{NetNS: nsPath, SyscallBackend: r.backend})
	if err != nil {
		r.t.Fatalf("attach %s: %v", fault.Name, err)
	}
	r.t.Cleanup(func() {
		if err := s.Close(); err != nil {
			r.t.Errorf("close %s: %v", fault.Name, err)
		}
	})
	r.t.Logf("%s attached: %s", fault.Name, strings.Join(s.Methods(), ", "))
	for _, m := range s.Methods() {
		// "eth0 egress tcx" → "egress tcx": the interface is the test's.
		_, hook, _ := strings.Cut(m, " ")
		r.methods = append(r.methods, hook)
	}
	return s
}

// counters reads a session's counters.
func (r *run) counters(s *local.Session) chaosv1.Counters {
	r.t.Helper()
	c, err := s.Counters()
	if err != nil {
		r.t.Fatalf("read counters: %v", err)
	}
	return c
}

// detach ends the fault early, as its expiry would.
func (r *run) detach(s *local.Session) {
	r.t.Helper()
	if err := s.Detach(); err != nil {
		r.t.Fatalf("detach: %v", err)
	}
}
