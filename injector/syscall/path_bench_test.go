package syscall

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// BenchmarkPathRead measures what a read(2) costs under a path-prefix
// fault, per backend that can filter read by path: no program; this process
// targeted, with the prefix set and the file outside it (the full path walk,
// then no match), for a shallow file and one 16 components deeper; and this
// process not targeted (the program runs, one cgroup-id lookup misses, no
// walk). The read is of one byte at end of file: the cheapest read there
// is, so the hook's cost is not lost in the copy. A table is printed at the
// end.
func BenchmarkPathRead(b *testing.B) {
	testutil.RequireRoot(b)
	dir := b.TempDir()
	shallow := filepath.Join(dir, "other")
	deepDir := filepath.Join(dir, strings.Repeat("d/", 16))
	if err := os.MkdirAll(deepDir, 0o700); err != nil {
		b.Fatal(err)
	}
	deep := filepath.Join(deepDir, "f")
	for _, p := range []string{shallow, deep} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	other := testutil.NewCgroup(b)
	self, err := CgroupID(testutil.SelfCgroupV2(b))
	if err != nil {
		b.Fatal(err)
	}
	prefix := filepath.Join(dir, "index") + "/"

	type row struct {
		name, notes string
		nsOp        float64
	}
	var rows []row
	run := func(name string, b *testing.B, path string, attach func(b *testing.B) *Attachment, notes string) {
		b.Run(name, func(b *testing.B) {
			if attach != nil {
				a := attach(b)
				defer a.Close()
			}
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Close(fd)
			buf := make([]byte, 1)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := unix.Read(fd, buf); err != nil {
					b.Fatalf("read: %v", err)
				}
			}
			ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "ns/read")
			full := b.Name()
			if len(rows) > 0 && rows[len(rows)-1].name == full {
				rows[len(rows)-1].nsOp = ns // keep the final, largest b.N
			} else {
				rows = append(rows, row{full, notes, ns})
			}
		})
	}
	run("no-program", b, shallow, nil, "baseline")
	for _, be := range pathBackends {
		b.Run(be.String(), func(b *testing.B) {
			requireBackend(b, be)
			attach := func(scope Scope) func(b *testing.B) *Attachment {
				return func(b *testing.B) *Attachment {
					a, err := Attach(context.Background(), scope, Config{Syscalls: []string{"read"}, Errno: "EIO",
						ProbabilityBasisPoints: 10000, PathPrefix: prefix, Backend: be})
					if err != nil {
						b.Skipf("attach: %v", err)
					}
					return a
				}
			}
			target, notTarget := Scope{CgroupIDs: []uint64{self}}, Scope{CgroupIDs: []uint64{other.ID}}
			run("targeted-nomatch", b, shallow, attach(target), fmt.Sprintf("walk %d components, no match", len(strings.Split(strings.Trim(shallow, "/"), "/"))))
			run("targeted-nomatch-deep", b, deep, attach(target), fmt.Sprintf("walk %d components, no match", len(strings.Split(strings.Trim(deep, "/"), "/"))))
			run("untargeted", b, shallow, attach(notTarget), "program runs, cgroup-id lookup misses")
		})
	}

	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "condition\tns/read\tvs baseline\tnotes")
	for _, r := range rows {
		base := rows[0].nsOp
		fmt.Fprintf(tw, "%s\t%.0f\t%+.0f ns (x%.2f)\t%s\n", r.name, r.nsOp, r.nsOp-base, r.nsOp/base, r.notes)
	}
	tw.Flush()
	fmt.Printf("\nread(2) cost, 1 byte at EOF, prefix %s, %s:\n%s", prefix, time.Now().Format(time.RFC3339), sb.String())
}
