package syscall

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// BenchmarkConnect measures what a connect(2) costs under each condition:
// no fault; the kernel's floors, an empty program of the same hook on
// another cgroup (the hook is on for every socket, nothing runs for us) and
// on ours (it runs); a fault attached for other tasks (at the cgroup v2 root,
// so this process runs the program and one map lookup; and at another
// cgroup's directory, so it runs nothing); this process targeted at 0%; and,
// for comparison, the same loop under strace's fault injection (ptrace stops
// on every syscall; when=1000000 is beyond strace's 65535 limit, so
// when=65535 and 60000 calls). The loop reconnects one UDP socket to a
// loopback address: the cheapest connect there is, so hook overhead is not
// lost in TCP's cost. A table is printed at the end.
func BenchmarkConnect(b *testing.B) {
	testutil.RequireRoot(b)
	ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	sa, err := netipAddrPort(ln.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	other := testutil.NewCgroup(b)
	self, err := CgroupID(testutil.SelfCgroupV2(b))
	if err != nil {
		b.Fatal(err)
	}

	type row struct {
		name  string
		nsOp  float64
		notes string
	}
	var rows []row
	// run measures the loop with whatever setup attached (nil: nothing).
	run := func(name string, setup func(b *testing.B) io.Closer, notes string) {
		b.Run(name, func(b *testing.B) {
			if setup != nil {
				defer setup(b).Close()
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fd)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := unix.Connect(fd, sa); err != nil {
					b.Fatalf("connect: %v", err)
				}
			}
			ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "ns/connect")
			if len(rows) == 0 || rows[len(rows)-1].name != name {
				rows = append(rows, row{name, ns, notes})
			} else {
				rows[len(rows)-1].nsOp = ns // keep the final, largest b.N
			}
		})
	}
	fault := func(scope Scope, bp uint32) func(b *testing.B) io.Closer {
		return func(b *testing.B) io.Closer {
			a, err := Attach(context.Background(), scope, Config{
				Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: bp,
			})
			if err != nil {
				b.Fatalf("attach: %+v", err)
			}
			return a
		}
	}
	run("no-fault", nil, "baseline")
	// The kernel's own floors: an empty connect4 program elsewhere turns on
	// the hook for every socket (lock_sock, sockaddr copy, effective-array
	// walk); on our own cgroup it also runs.
	run("floor-empty-other-dir", emptyConnect4(other.Path),
		"kernel floor: empty program on another cgroup's dir (hook enabled, not run for us)")
	run("floor-empty-own-dir", emptyConnect4(testutil.SelfCgroupV2(b)),
		"kernel floor: empty program on our own cgroup (run for us)")
	run("untargeted-root-attach", fault(Scope{CgroupIDs: []uint64{other.ID}}, 10000),
		"program at v2 root, cgroup-id lookup misses")
	run("untargeted-dir-attach", fault(Scope{CgroupPaths: []string{other.Path}}, 10000),
		"program on another cgroup's dir: not run for us (compare the first floor)")
	run("targeted-0pct", fault(Scope{CgroupIDs: []uint64{self}}, 0),
		"lookup hits, counter, dice skipped at 0 (compare the second floor)")

	straceRow := func(name string, wrap []string, notes string) {
		b.Run(name, func(b *testing.B) {
			// strace's when= takes at most 65535: stay below it so that
			// the injection never fires and only ptrace's cost shows.
			const n = 60000
			res, err := execHelper("connectloop", helperOpts{cgroupFD: -1, count: n, wrap: wrap,
				env: []string{"TB_ADDR=" + ln.LocalAddr().String()}})
			if err != nil {
				b.Fatalf("helper: %v", err)
			}
			if res.OK != n {
				b.Fatalf("helper: %s", res)
			}
			b.ReportMetric(res.NsPerOp, "ns/connect")
			if len(rows) == 0 || rows[len(rows)-1].name != name {
				rows = append(rows, row{name, res.NsPerOp, notes})
			} else {
				rows[len(rows)-1].nsOp = res.NsPerOp
			}
		})
	}
	straceRow("helper-no-fault", nil, "same loop in a child process")
	if path, err := exec.LookPath("strace"); err == nil {
		straceRow("helper-strace-inject", []string{path, "-f", "-o", os.DevNull,
			"-e", "trace=connect", "-e", "inject=connect:error=ECONNREFUSED:when=65535"},
			"strace -f -e inject=connect:error=ECONNREFUSED:when=65535 (max when)")
	} else {
		b.Logf("strace not installed: no comparison row")
	}

	var table [][]string
	for _, r := range rows {
		base := rows[0].nsOp
		if strings.HasPrefix(r.name, "helper-") && r.name != "helper-no-fault" {
			for _, x := range rows {
				if x.name == "helper-no-fault" {
					base = x.nsOp
				}
			}
		}
		table = append(table, []string{r.name, fmt.Sprintf("%.0f", r.nsOp), fmt.Sprintf("%+.0f ns (x%.2f)", r.nsOp-base, r.nsOp/base), r.notes})
	}
	testutil.BenchTable("syscall faults: connect(2) per call, UDP to 127.0.0.1, cgroup backend",
		[]string{"condition", "ns/connect", "vs baseline", "notes"}, table)
}

// emptyConnect4 attaches a cgroup/connect4 program that allows every call at
// dir: the kernel's floor for any program of that hook.
func emptyConnect4(dir string) func(b *testing.B) io.Closer {
	return func(b *testing.B) io.Closer {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name: "bench_empty", Type: ebpf.CGroupSockAddr, AttachType: ebpf.AttachCGroupInet4Connect, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()},
		})
		if err != nil {
			b.Fatalf("load empty connect4 program: %v", err)
		}
		l, err := link.AttachCgroup(link.CgroupOptions{Path: dir, Attach: ebpf.AttachCGroupInet4Connect, Program: p})
		if err != nil {
			p.Close()
			b.Fatalf("link empty connect4 program to %s: %v", dir, err)
		}
		return closers{l, p}
	}
}

// closers closes each in turn and returns the first error.
type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
