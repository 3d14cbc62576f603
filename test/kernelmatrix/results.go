package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// testEvent is one line of `go tool test2json` output.
type testEvent struct {
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

// testResult is the outcome of one test or subtest.
type testResult struct {
	Name    string
	Action  string // pass, fail, skip, or "" (started, never finished)
	Elapsed time.Duration
	Output  []string // its output lines, for skip and failure reasons
}

// pkgRun is one package booted on one kernel.
type pkgRun struct {
	Kernel, Pkg string
	Wall        time.Duration // qemu start to exit
	ExitStatus  int           // from the marker; -1 if none
	Err         error         // boot, timeout, or harness failure
	Tests       map[string]*testResult
	Order       []string
	Problems    []string // why this run fails the matrix
	LogDir      string
}

// parseTestOutput converts the raw `-test.v=test2json` output of a test
// binary to results with `go tool test2json`.
func parseTestOutput(ctx context.Context, goBin string, raw []byte) (map[string]*testResult, []string, error) {
	cmd := exec.CommandContext(ctx, goBin, "tool", "test2json")
	cmd.Stdin = bytes.NewReader(raw)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("go tool test2json: %w: %s", err, out.String())
	}
	return decodeEvents(&out)
}

func decodeEvents(r io.Reader) (map[string]*testResult, []string, error) {
	results := map[string]*testResult{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev testEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue // a non-JSON line: test2json passes some through
		}
		if ev.Test == "" {
			continue
		}
		tr := results[ev.Test]
		if tr == nil {
			tr = &testResult{Name: ev.Test}
			results[ev.Test] = tr
			order = append(order, ev.Test)
		}
		switch ev.Action {
		case "pass", "fail", "skip":
			tr.Action = ev.Action
			tr.Elapsed = time.Duration(ev.Elapsed * float64(time.Second))
		case "output":
			line := strings.TrimRight(ev.Output, "\n")
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- ") {
				tr.Output = append(tr.Output, t)
			}
		}
	}
	return results, order, sc.Err()
}

// counts returns how many tests (every level) passed, skipped, failed and
// never finished.
func (r *pkgRun) counts() (pass, skip, fail, unfinished int) {
	for _, t := range r.Tests {
		switch t.Action {
		case "pass":
			pass++
		case "skip":
			skip++
		case "fail":
			fail++
		default:
			unfinished++
		}
	}
	return
}

// backendCell is what one kernel did with one syscall backend.
type backendCell struct {
	State     string // pass, skip, fail, "" (not run)
	Scenarios [2]int // passed, total
	Skipped   int    // scenarios skipped for a per-syscall reason
	Required  bool
	Reason    string
}

// perSyscallSkip starts the skip message of a TestBackends scenario whose
// syscall alone the forced backend cannot serve on this kernel (say, an
// fmod_ret target that is ambiguous in the kernel's BTF); injector/syscall's
// runScenario writes it.
const perSyscallSkip = "backend cannot serve this syscall on this kernel: "

// backendResults reads TestBackends/<backend> and its scenario subtests. A
// backend passes when its subtest passed, every scenario passed or skipped
// for a per-syscall reason, and at least one passed: a Go subtest passes
// even when all its children skipped.
func backendResults(r *pkgRun, required []string) map[string]*backendCell {
	cells := map[string]*backendCell{}
	for _, b := range backends {
		c := &backendCell{Required: slices.Contains(required, b)}
		cells[b] = c
		parent := "TestBackends/" + b
		if t := r.Tests[parent]; t != nil {
			c.State = t.Action
			if c.State == "" {
				c.State = "unfinished"
			}
			c.Reason = reasonLine(t)
		}
		var undocumented []string
		for _, name := range r.Order {
			t := r.Tests[name]
			if !strings.HasPrefix(name, parent+"/") || strings.Count(name, "/") != 2 {
				continue
			}
			c.Scenarios[1]++
			switch {
			case t.Action == "pass":
				c.Scenarios[0]++
			case t.Action == "skip" && strings.Contains(reasonLine(t), perSyscallSkip):
				c.Skipped++
			default:
				if t.Action == "skip" {
					undocumented = append(undocumented, name)
				}
				if c.Reason == "" && len(t.Output) > 0 {
					c.Reason = name + ": " + reasonLine(t)
				}
			}
		}
		if c.State == "pass" {
			switch {
			case len(undocumented) > 0:
				c.State = "fail"
				c.Reason = fmt.Sprintf("scenarios skipped without a per-syscall reason: %s", strings.Join(undocumented, ", "))
			case c.Scenarios[0] == 0:
				c.State = "fail"
				c.Reason = fmt.Sprintf("no scenario passed (%d skipped for a per-syscall reason)", c.Skipped)
			}
		}
	}
	return cells
}

// judge fills r.Problems: a failed run, a failed test, or a backend the
// kernel must support that did not pass.
func (r *pkgRun) judge(required []string, isSyscallPkg bool) {
	if r.Err != nil {
		r.Problems = append(r.Problems, r.Err.Error())
	}
	if r.ExitStatus != 0 && r.Err == nil {
		r.Problems = append(r.Problems, fmt.Sprintf("test binary exited with status %d", r.ExitStatus))
	}
	for _, name := range r.Order {
		t := r.Tests[name]
		if t.Action == "fail" && !hasFailedChild(r, name) {
			r.Problems = append(r.Problems, "FAIL "+name+prefixed(reasonLine(t)))
		}
	}
	if isSyscallPkg {
		for _, b := range backends {
			c := backendResults(r, required)[b]
			if c.Required && c.State != "pass" {
				state := c.State
				if state == "" {
					state = "did not run"
				}
				r.Problems = append(r.Problems, fmt.Sprintf("backend %s is required on %s but %s%s", b, r.Kernel, state, reasonSuffix(c.Reason)))
			}
		}
	}
}

func hasFailedChild(r *pkgRun, name string) bool {
	for n, t := range r.Tests {
		if t.Action == "fail" && strings.HasPrefix(n, name+"/") {
			return true
		}
	}
	return false
}

// reasonLine explains a result: the last output line of a skip (the t.Skip
// message); for a failure, its output lines (t.Log and t.Error look alike)
// without the leak check's all-clear, at most three, joined.
func reasonLine(t *testResult) string {
	if len(t.Output) == 0 {
		return ""
	}
	if t.Action == "skip" {
		return t.Output[len(t.Output)-1]
	}
	var lines []string
	for _, l := range t.Output {
		if strings.Contains(l, "no Temblor BPF program or link loaded") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > 3 {
		lines = append(lines[:3], "…")
	}
	return strings.Join(lines, " | ")
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func reasonSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
