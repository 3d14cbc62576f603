package app

import (
	"fmt"
	"io"
	"strings"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// progress renders a followed Fault: redrawn in place on a terminal, as
// plain lines (one whenever something but the countdown changed) otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	drawn    int    // lines on screen from the last redraw
	last     string // last plain output, to print only changes
}

func newProgress(w io.Writer, terminal bool) *progress {
	return &progress{w: w, terminal: terminal}
}

// show renders f as of now.
func (p *progress) show(f *chaosv1.Fault, now time.Time) {
	if !p.terminal {
		p.plain(f, now)
		return
	}
	lines := render(f, now)
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn) // up, clear to end of screen
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
	io.WriteString(p.w, b.String())
	p.drawn = len(lines)
}

// done leaves the last display on screen.
func (p *progress) done() { p.drawn = 0 }

// plain prints one line per change, with the countdown.
func (p *progress) plain(f *chaosv1.Fault, now time.Time) {
	var nodes []string
	for _, n := range f.Status.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s %s %d/%d", n.NodeName, orPending(n.Phase), n.Injected, n.Targets))
	}
	state := fmt.Sprintf("phase=%s targets=%d nodes=[%s] %s", phase(f), f.Status.TargetCount, strings.Join(nodes, "; "), counters(f, f.Status.Counters))
	if state == p.last {
		return
	}
	p.last = state
	fmt.Fprintf(p.w, "%s fault/%s %s left=%s\n", now.Format("15:04:05"), f.Name, state, timeLeft(f, now))
}

// render is the terminal display of f.
func render(f *chaosv1.Fault, now time.Time) []string {
	lines := []string{
		fmt.Sprintf("fault/%s  %s  %s  targets %d  left %s%s", f.Name, action(f), phase(f), f.Status.TargetCount, timeLeft(f, now), bar(f, now)),
	}
	for _, n := range f.Status.Nodes {
		line := fmt.Sprintf("  node %-20s %-17s %d/%d injected  %s", n.NodeName, orPending(n.Phase), n.Injected, n.Targets, counters(f, n.Counters))
		if n.Message != "" {
			line += "  (" + n.Message + ")"
		}
		lines = append(lines, line)
	}
	if len(f.Status.Nodes) == 0 && f.Status.Phase != chaosv1.FaultFailed {
		lines = append(lines, "  waiting for targets and node agents…")
	}
	lines = append(lines, "  total: "+counters(f, f.Status.Counters))
	return lines
}

// bar is a countdown bar of the fault's duration, "" before it started.
func bar(f *chaosv1.Fault, now time.Time) string {
	if f.Status.StartTime == nil || f.Status.ExpiryTime == nil || f.Status.Phase != chaosv1.FaultRunning {
		return ""
	}
	total := f.Status.ExpiryTime.Sub(f.Status.StartTime.Time)
	if total <= 0 {
		return ""
	}
	const width = 20
	done := int(float64(width) * float64(now.Sub(f.Status.StartTime.Time)) / float64(total))
	done = max(0, min(width, done))
	return "  [" + strings.Repeat("#", done) + strings.Repeat(".", width-done) + "]"
}

func orPending(p chaosv1.InjectionPhase) string {
	if p == "" {
		return string(chaosv1.InjectionPending)
	}
	return string(p)
}
