package attach_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/agent"
	"github.com/temblor-dev/temblor/injector/attach"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// attachRun is what one round of attaching n targets cost.
type attachRun struct {
	n        int
	lat      []time.Duration // batch start → each target attached
	cpu      time.Duration   // user+system CPU of the process, whole batch
	kmem     uint64          // memlock of the BPF programs and maps created
	jited    uint64          // JIT image bytes of the programs created
	progs    int             // programs created
	rssAfter uint64          // VmRSS with the n targets attached
}

func (r attachRun) pct(p int) time.Duration {
	s := slices.Clone(r.lat)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

// BenchmarkAttachTargets attaches one fault to n targets at once, with the
// agent's parallelism, and measures what the agent pays per target: wall
// time from the batch start to each target attached, CPU, kernel memory
// (memlock of the programs and maps it creates, JIT images) and RSS. Beside
// it, two floors measured the same way on the same cgroups: an empty cgroup
// program loaded and linked per target (the least a per-target load costs),
// and one empty program loaded once and linked to every target (the least a
// shared load costs). "cpu ms/extra target" is the CPU above the previous
// row's, per target added.
func BenchmarkAttachTargets(b *testing.B) {
	testutil.RequireRoot(b)
	connect, err := attach.Convert(chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{
		Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ECONNREFUSED"}}, attach.Options{SyscallBackend: sysfault.Cgroup})
	if err != nil {
		b.Fatal(err)
	}
	drop, err := attach.Convert(chaosv1.FaultAction{Network: &chaosv1.NetworkAction{
		Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Protocol: chaosv1.ProtocolUDP}}, attach.Options{})
	if err != nil {
		b.Fatal(err)
	}
	type variant struct {
		name, note string
		run        func(b *testing.B, n int) attachRun
	}
	variants := []variant{
		{"floor-empty-per-target", "empty cgroup/connect4 program loaded and linked per target", emptyPerTarget},
		{"floor-empty-shared", "one empty program loaded, one link per target", emptyShared},
		{"syscall-cgroup-connect", "connect → ECONNREFUSED, cgroup backend, one cgroup per target", func(b *testing.B, n int) attachRun {
			return attachAll(b, n, func(b *testing.B) attach.Target {
				return attach.Target{Scope: sysfault.Scope{CgroupPaths: []string{testutil.NewCgroup(b).Path}}}
			}, connect)
		}},
		{"network-drop-egress", "UDP egress drop, one network namespace (veth) per target", func(b *testing.B, n int) attachRun {
			return attachAll(b, n, func(b *testing.B) attach.Target {
				return attach.Target{NetNSPath: testutil.NewVethPair(b).A}
			}, drop)
		}},
	}
	// Warm up once, untimed: the first attach of a process also parses the
	// kernel's BTF and probes the backends, which an agent does once.
	attachAll(b, 1, func(b *testing.B) attach.Target {
		return attach.Target{Scope: sysfault.Scope{CgroupPaths: []string{testutil.NewCgroup(b).Path}}}
	}, connect)
	attachAll(b, 1, func(b *testing.B) attach.Target { return attach.Target{NetNSPath: testutil.NewVethPair(b).A} }, drop)
	var rows [][]string
	for _, v := range variants {
		var prev attachRun
		for _, n := range []int{1, 50, 200} {
			var r attachRun
			b.Run(fmt.Sprintf("%s/targets=%d", v.name, n), func(b *testing.B) {
				for range b.N {
					r = v.run(b, n)
				}
				b.ReportMetric(float64(r.pct(50).Microseconds())/1000, "ms-p50")
				b.ReportMetric(float64(r.pct(99).Microseconds())/1000, "ms-p99")
				b.ReportMetric(float64(r.cpu.Microseconds())/1000/float64(n), "cpu-ms/target")
				b.ReportMetric(float64(r.kmem)/1024/float64(n), "kmem-KiB/target")
			})
			if r.n == 0 {
				continue // skipped or failed
			}
			perExtra := "-"
			if prev.n > 0 {
				perExtra = fmt.Sprintf("%.2f", float64((r.cpu-prev.cpu).Microseconds())/1000/float64(n-prev.n))
			}
			prev = r
			rows = append(rows, []string{v.name, strconv.Itoa(n),
				fmt.Sprintf("%.1f", float64(r.pct(50).Microseconds())/1000),
				fmt.Sprintf("%.1f", float64(r.pct(99).Microseconds())/1000),
				fmt.Sprintf("%.2f", float64(r.cpu.Microseconds())/1000/float64(n)), perExtra,
				strconv.Itoa(r.progs),
				fmt.Sprintf("%.1f", float64(r.kmem)/1024/float64(n)),
				fmt.Sprintf("%.1f", float64(r.jited)/1024/float64(n)),
				fmt.Sprintf("%.1f", float64(r.rssAfter)/(1<<20)), v.note})
		}
	}
	testutil.BenchTable(fmt.Sprintf("attach one fault to n targets at once (%d workers, as the agent), beside two floors on the same cgroups", agent.DefaultAttachWorkers),
		[]string{"variant", "targets", "p50 ms", "p99 ms", "cpu ms/target", "cpu ms/extra target", "progs", "kmem KiB/target", "jit KiB/target", "RSS MiB", "what"}, rows)
}

// attachAll makes n targets, then attaches act to all of them with the
// agent's parallelism and closes them again, checking nothing is left.
func attachAll(b *testing.B, n int, target func(*testing.B) attach.Target, act attach.Action) attachRun {
	targets := make([]attach.Target, n)
	for i := range targets {
		targets[i] = target(b)
	}
	atts := make([]attach.Attachment, n)
	r := measure(b, n, func(i int) error {
		a, err := attach.Attach(context.Background(), act, targets[i])
		atts[i] = a
		return err
	})
	for _, a := range atts {
		if a != nil {
			if err := a.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if left := testutil.WaitNoOwnTemblorBPF(b, testutil.ReleaseGrace); len(left) > 0 {
		b.Fatalf("left loaded after close: %v", left)
	}
	return r
}

// emptyProgram loads a cgroup/connect4 program that allows every call.
func emptyProgram() (*ebpf.Program, error) {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "bench_empty", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCGroupInet4Connect, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()},
	})
	if err != nil {
		return nil, fmt.Errorf("load empty program: %w", err)
	}
	return p, nil
}

func linkEmpty(p *ebpf.Program, dir string) (link.Link, error) {
	l, err := link.AttachCgroup(link.CgroupOptions{Path: dir, Attach: ebpf.AttachCGroupInet4Connect, Program: p})
	if err != nil {
		return nil, fmt.Errorf("link empty program to %s: %w", dir, err)
	}
	return l, nil
}

func emptyPerTarget(b *testing.B, n int) attachRun {
	dirs := cgroups(b, n)
	var mu sync.Mutex
	var closers []interface{ Close() error }
	r := measure(b, n, func(i int) error {
		p, err := emptyProgram()
		if err != nil {
			return err
		}
		mu.Lock()
		closers = append(closers, p)
		mu.Unlock()
		l, err := linkEmpty(p, dirs[i])
		if err != nil {
			return err
		}
		mu.Lock()
		closers = append(closers, l)
		mu.Unlock()
		return nil
	})
	for _, c := range closers {
		_ = c.Close()
	}
	return r
}

func emptyShared(b *testing.B, n int) attachRun {
	dirs := cgroups(b, n)
	load := sync.OnceValues(emptyProgram)
	links := make([]link.Link, n)
	r := measure(b, n, func(i int) (err error) {
		p, err := load()
		if err != nil {
			return err
		}
		links[i], err = linkEmpty(p, dirs[i])
		return err
	})
	for _, l := range links {
		if l != nil {
			_ = l.Close()
		}
	}
	if p, err := load(); err == nil {
		_ = p.Close()
	}
	return r
}

func cgroups(b *testing.B, n int) []string {
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = testutil.NewCgroup(b).Path
	}
	return dirs
}

// measure runs attach for targets 0..n-1 with the agent's parallelism and
// records the latency of each, the process CPU and the BPF objects created.
func measure(b *testing.B, n int, attach func(i int) error) attachRun {
	b.Helper()
	beforeProgs, beforeMaps := bpfIDs(b)
	r := attachRun{n: n, lat: make([]time.Duration, n)}
	cpu0 := cpuTime(b)
	sem := make(chan struct{}, agent.DefaultAttachWorkers)
	errs := make([]error, n)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = attach(i)
			r.lat[i] = time.Since(start)
		}()
	}
	wg.Wait()
	b.StopTimer()
	r.cpu = cpuTime(b) - cpu0
	for i, err := range errs {
		if err != nil {
			testutil.SkipIfNotSupported(b, fmt.Errorf("target %d: %w", i, err))
		}
	}
	afterProgs, afterMaps := bpfIDs(b)
	for id := range afterProgs {
		if beforeProgs[id] {
			continue
		}
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil {
			if m, ok := info.Memlock(); ok {
				r.kmem += m
			}
			if j, err := info.JitedSize(); err == nil {
				r.jited += uint64(j)
			}
			r.progs++
		}
		p.Close()
	}
	for id := range afterMaps {
		if beforeMaps[id] {
			continue
		}
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue
		}
		if info, err := m.Info(); err == nil {
			if ml, ok := info.Memlock(); ok {
				r.kmem += ml
			}
		}
		m.Close()
	}
	r.rssAfter = vmRSS(b)
	return r
}

// bpfIDs returns the IDs of every loaded program and map.
func bpfIDs(b *testing.B) (progs, maps map[uint32]bool) {
	progs, maps = map[uint32]bool{}, map[uint32]bool{}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break
		}
		progs[uint32(next)], id = true, next
	}
	for id := ebpf.MapID(0); ; {
		next, err := ebpf.MapGetNextID(id)
		if err != nil {
			break
		}
		maps[uint32(next)], id = true, next
	}
	return progs, maps
}

func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func vmRSS(b *testing.B) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
