package main

import (
	"testing"
	"time"
)

func passingReport(cfg config) *report {
	t := newTally()
	t.started = cfg.cycles
	t.ended[runOut] = cfg.cycles
	rep := &report{tally: t, victims: cfg.pods, netnsSeen: cfg.pods,
		base: procStats{fds: 10, rssKB: 1000}, end: procStats{fds: 10, rssKB: 1000}}
	for range cfg.kills {
		rep.kills = append(rep.kills, killResult{at: time.Now(), back: time.Second})
	}
	return rep
}

func TestReportFailsOnEveryShortfall(t *testing.T) {
	cfg := config{cycles: 60, kills: 2, pods: 5, fdSlack: 2, rssSlackPct: 25}
	rep := passingReport(cfg)
	rep.evaluate(cfg)
	if !rep.ok() {
		t.Fatalf("a clean run fails: %+v", rep.checks)
	}
	for name, spoil := range map[string]func(*report){
		"a cycle short":        func(r *report) { r.tally.ended[runOut]-- },
		"a kill short":         func(r *report) { r.kills = r.kills[:1] },
		"a kill that errored":  func(r *report) { r.kills[1].err = errTest },
		"a Fault not ended":    func(r *report) { r.tally.notEnded = []string{"x"} },
		"a BPF map left":       func(r *report) { r.bpfLeft = []string{"map 1 Hash tb_x"} },
		"a tc filter left":     func(r *report) { r.tcLeft = []string{"eth0 ingress bpf"} },
		"fd growth":            func(r *report) { r.end.fds = 13 },
		"RSS growth":           func(r *report) { r.end.rssKB = 1300 },
		"a netns held":         func(r *report) { r.netnsLeft = []string{"v00"} },
		"a cgroup left":        func(r *report) { r.cgroupsLeft = []string{"v00"} },
		"a victim not checked": func(r *report) { r.netnsSeen-- },
		"a FaultInjection left": func(r *report) {
			r.fisLeft = []string{"fi"}
		},
		"never injected with the agent up": func(r *report) {
			r.tally.neverInjected = []lifetime{{name: "f", created: time.Now().Add(time.Hour), expiry: time.Now().Add(time.Hour + time.Second)}}
		},
	} {
		rep := passingReport(cfg)
		spoil(rep)
		rep.evaluate(cfg)
		if rep.ok() {
			t.Errorf("%s: the report still passes", name)
		}
	}
}

func TestNeverInjectedExcusedOnlyDuringAnOutage(t *testing.T) {
	at := time.Now()
	rep := &report{kills: []killResult{{at: at, back: 3 * time.Second}}}
	if !rep.agentDownDuring(at.Add(-2*time.Second), at.Add(time.Second)) {
		t.Error("a Fault whose life covers the kill is not excused")
	}
	if rep.agentDownDuring(at.Add(6*time.Second), at.Add(8*time.Second)) {
		t.Error("a Fault created after the agent was back (+2 s) is excused")
	}
	if rep.agentDownDuring(at.Add(-9*time.Second), at.Add(-time.Second)) {
		t.Error("a Fault that expired before the kill is excused")
	}
}

func TestKillPositionsLeaveTwoWarmupsAfterTheLast(t *testing.T) {
	for _, c := range []struct{ cycles, warmup, kills int }{{1000, 50, 10}, {60, 10, 2}, {40, 10, 1}} {
		pos := killPositions(c.cycles, c.warmup, c.kills)
		if len(pos) != c.kills {
			t.Fatalf("%+v: %d kills planned", c, len(pos))
		}
		if pos[0] <= c.warmup || pos[len(pos)-1] > c.cycles-2*c.warmup {
			t.Errorf("%+v: kills at %v", c, pos)
		}
		for i := 1; i < len(pos); i++ {
			if pos[i] <= pos[i-1] {
				t.Errorf("%+v: kills not spread: %v", c, pos)
			}
		}
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("boom")
