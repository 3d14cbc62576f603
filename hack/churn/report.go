package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what a churn run measured.
type report struct {
	seed    int64
	ns      string
	tally   *tally
	elapsed time.Duration
	kills   []killResult

	first, base, end procStats // agent: after the first warm-up, fresh after the last kill + warm-up, at the end

	faultsLeft, fisLeft, bpfLeft, tcLeft []string
	tcFilters                            int
	unhealthy                            []string
	victims, netnsSeen                   int
	cgroupsLeft, netnsLeft               []string

	checks []check // filled by evaluate
}

// check is one row of the verdict.
type check struct {
	what, want, got string
	ok              bool
	detail          []string
}

func (rep *report) evaluate(cfg config) {
	t := rep.tally
	t.mu.Lock()
	ended := 0
	for _, v := range t.ended {
		ended += v
	}
	notEnded := append([]string(nil), t.notEnded...)
	var excused, unexcused []string
	for _, l := range t.neverInjected {
		line := fmt.Sprintf("%s created %s, expired %s: %s", l.name, l.created.Format("15:04:05.000"), l.expiry.Format("15:04:05.000"), l.msg)
		if rep.agentDownDuring(l.created, l.expiry) {
			excused = append(excused, line)
		} else {
			unexcused = append(unexcused, line)
		}
	}
	t.mu.Unlock()
	kills, replaced, killErrs := 0, 0, []string{}
	for _, k := range rep.kills {
		if k.err != nil {
			killErrs = append(killErrs, fmt.Sprintf("kill at cycle %d: %v", k.atCycle, k.err))
			continue
		}
		kills++
		if k.podReplaced {
			replaced++
		}
	}
	add := func(what, want, got string, ok bool, detail ...string) {
		rep.checks = append(rep.checks, check{what, want, got, ok, detail})
	}
	add("cycles ended as planned", fmt.Sprint(cfg.cycles), fmt.Sprint(ended), ended == cfg.cycles)
	add("Faults that did not end", "0", fmt.Sprint(len(notEnded)), len(notEnded) == 0, notEnded...)
	add("ran out never injected, agent killed meanwhile", "(expected)", fmt.Sprint(len(excused)), true, excused...)
	add("ran out never injected, agent up", "0", fmt.Sprint(len(unexcused)), len(unexcused) == 0, unexcused...)
	add("agent SIGKILLs", fmt.Sprint(cfg.kills), fmt.Sprintf("%d (%d after CrashLoopBackOff: pod replaced)", kills, replaced), kills == cfg.kills, killErrs...)
	add("Faults left", "0", fmt.Sprint(len(rep.faultsLeft)), len(rep.faultsLeft) == 0, rep.faultsLeft...)
	add("FaultInjections left", "0", fmt.Sprint(len(rep.fisLeft)), len(rep.fisLeft) == 0, rep.fisLeft...)
	add("Temblor BPF progs/links/maps", "0", fmt.Sprint(len(rep.bpfLeft)), len(rep.bpfLeft) == 0, rep.bpfLeft...)
	add("tc filters / changed qdiscs in victims", "0", fmt.Sprintf("%d filters, %d changes", rep.tcFilters, len(rep.tcLeft)), len(rep.tcLeft) == 0, rep.tcLeft...)
	fdOK := rep.end.fds <= rep.base.fds+cfg.fdSlack
	add("agent fds (final vs baseline)", fmt.Sprintf("<= %d+%d", rep.base.fds, cfg.fdSlack),
		fmt.Sprintf("%d (pid %d; baseline pid %d; first agent %d)", rep.end.fds, rep.end.pid, rep.base.pid, rep.first.fds), fdOK)
	rssOK := float64(rep.end.rssKB) <= float64(rep.base.rssKB)*(1+cfg.rssSlackPct/100)
	add("agent RSS kB (final vs baseline)", fmt.Sprintf("<= %d+%.0f%%", rep.base.rssKB, cfg.rssSlackPct),
		fmt.Sprintf("%d (first agent %d)", rep.end.rssKB, rep.first.rssKB), rssOK)
	add("victims unhealthy after the run", "0", fmt.Sprint(len(rep.unhealthy)), len(rep.unhealthy) == 0, rep.unhealthy...)
	add("victim netns checked", fmt.Sprint(rep.victims), fmt.Sprint(rep.netnsSeen), rep.netnsSeen == rep.victims && rep.victims == cfg.pods)
	add("victim cgroup dirs left", "0", fmt.Sprint(len(rep.cgroupsLeft)), len(rep.cgroupsLeft) == 0, rep.cgroupsLeft...)
	add("victim netns still referenced", "0", fmt.Sprint(len(rep.netnsLeft)), len(rep.netnsLeft) == 0, rep.netnsLeft...)
}

// agentDownDuring reports whether an agent kill's outage (from the SIGKILL
// until the new agent was Ready, plus 2 s for it to resync) overlapped
// [from, to].
func (rep *report) agentDownDuring(from, to time.Time) bool {
	for _, k := range rep.kills {
		end := k.at.Add(k.back + 2*time.Second)
		if k.back == 0 {
			end = k.at.Add(time.Hour)
		}
		if !k.at.After(to) && !end.Before(from) {
			return true
		}
	}
	return false
}

func (rep *report) ok() bool {
	for _, c := range rep.checks {
		if !c.ok {
			return false
		}
	}
	return len(rep.checks) > 0
}

func (rep *report) print(w io.Writer, cfg config, total time.Duration) {
	if rep.checks == nil {
		rep.evaluate(cfg)
	}
	t := rep.tally
	t.mu.Lock()
	fmt.Fprintf(w, "\n== churn: %d cycles, %d concurrent, %d pods, %d agent kills, warm-up %d; seed %d; namespace %s\n",
		cfg.cycles, cfg.concurrent, cfg.pods, cfg.kills, cfg.warmup, rep.seed, rep.ns)
	fmt.Fprintf(w, "cycles took %s (whole run %s): %d Faults created (%d network, %d syscall); ended: ",
		rep.elapsed.Round(time.Second), total.Round(time.Second), t.started, t.byKind["network"], t.byKind["syscall"])
	var parts []string
	for e := range numEndings {
		parts = append(parts, fmt.Sprintf("%d %s", t.ended[e], e))
	}
	fmt.Fprintln(w, strings.Join(parts, ", "))
	p50, p95, pmax := quantiles(t.lateness)
	fmt.Fprintf(w, "ran-out Faults, Succeeded seen after expiryTime: p50 %s p95 %s max %s (n=%d)\n",
		p50.Round(time.Millisecond), p95.Round(time.Millisecond), pmax.Round(time.Millisecond), len(t.lateness))
	p50, p95, pmax = quantiles(t.injectLat)
	fmt.Fprintf(w, "ran-out Faults, first injection after the create: p50 %s p95 %s max %s (n=%d)\n",
		p50.Round(time.Millisecond), p95.Round(time.Millisecond), pmax.Round(time.Millisecond), len(t.injectLat))
	p50, p95, pmax = quantiles(t.goneAfter)
	fmt.Fprintf(w, "deleted Faults, gone after the delete: p50 %s p95 %s max %s (n=%d)\n",
		p50.Round(time.Millisecond), p95.Round(time.Millisecond), pmax.Round(time.Millisecond), len(t.goneAfter))
	t.mu.Unlock()
	for i, k := range rep.kills {
		rel := "not seen empty (new agent first)"
		if k.released >= 0 {
			rel = k.released.Round(time.Microsecond).String()
		}
		fmt.Fprintf(w, "kill %2d at cycle %4d: pid %d -> %d, %d Temblor BPF objects held, released in %s, agent Ready again %s, pod replaced %v\n",
			i+1, k.atCycle, k.pid, k.newPID, k.held, rel, k.back.Round(time.Microsecond), k.podReplaced)
	}
	fmt.Fprintf(w, "agent baselines: first agent after warm-up pid %d %d fds %d kB; fresh agent after the last kill + warm-up pid %d %d fds %d kB; final pid %d %d fds %d kB\n\n",
		rep.first.pid, rep.first.fds, rep.first.rssKB, rep.base.pid, rep.base.fds, rep.base.rssKB, rep.end.pid, rep.end.fds, rep.end.rssKB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tWANT\tGOT\tRESULT")
	for _, c := range rep.checks {
		res := "ok"
		if !c.ok {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.what, c.want, c.got, res)
	}
	tw.Flush()
	for _, c := range rep.checks {
		for i, d := range c.detail {
			if i == 20 {
				fmt.Fprintf(w, "  %s: ... %d more\n", c.what, len(c.detail)-20)
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", c.what, d)
		}
	}
}
