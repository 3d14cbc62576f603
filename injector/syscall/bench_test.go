package syscall

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// BenchmarkConnect measures what a connect(2) costs under each condition:
// no fault, a fault attached for other tasks (at the cgroup v2 root, so this
// process runs the program and one map lookup; and at another cgroup's
// directory, so it runs nothing), this process targeted at 0%, and, for
// comparison, the same loop under strace's fault injection (ptrace stops on
// every syscall; when=1000000 is beyond strace's 65535 limit, so when=65535
// and 60000 calls). The loop reconnects one UDP socket to a loopback address:
// the cheapest connect there is, so hook overhead is not lost in TCP's cost.
// A table is printed at the end.
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
	inProcess := func(name string, scope *Scope, bp uint32, notes string) {
		b.Run(name, func(b *testing.B) {
			if scope != nil {
				a, err := Attach(context.Background(), *scope, Config{
					Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: bp,
				})
				if err != nil {
					b.Fatalf("attach: %+v", err)
				}
				defer a.Close()
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
	inProcess("no-fault", nil, 0, "baseline")
	inProcess("untargeted-root-attach", &Scope{CgroupIDs: []uint64{other.ID}}, 10000,
		"program at v2 root, cgroup-id lookup misses")
	inProcess("untargeted-dir-attach", &Scope{CgroupPaths: []string{other.Path}}, 10000,
		"program on another cgroup's dir: not run for us")
	inProcess("targeted-0pct", &Scope{CgroupIDs: []uint64{self}}, 0,
		"lookup hits, counter, dice skipped at 0")

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
