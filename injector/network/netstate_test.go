package network

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// netState describes, through netlink, everything Temblor could change on an
// interface: its qdiscs, the filters on clsact, and its XDP program.
func netState(t testing.TB, ns, ifname string) string {
	t.Helper()
	var lines []string
	inNS(t, ns, func() error {
		h, err := netlink.NewHandle(netlinkRoute)
		if err != nil {
			return err
		}
		defer h.Close()
		l, err := h.LinkByName(ifname)
		if err != nil {
			return err
		}
		qdiscs, err := h.QdiscList(l)
		if err != nil {
			return err
		}
		for _, q := range qdiscs {
			a := q.Attrs()
			lines = append(lines, fmt.Sprintf("qdisc %s handle %#x parent %#x", q.Type(), a.Handle, a.Parent))
			if q.Type() != "clsact" {
				continue
			}
			for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
				filters, err := h.FilterList(l, parent)
				if err != nil {
					return err
				}
				for _, f := range filters {
					fa := f.Attrs()
					name := ""
					if bf, ok := f.(*netlink.BpfFilter); ok {
						name = bf.Name
					}
					lines = append(lines, fmt.Sprintf("filter parent %#x %s prio %d handle %#x %s", parent, f.Type(), fa.Priority, fa.Handle, name))
				}
			}
		}
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			lines = append(lines, fmt.Sprintf("xdp prog %d mode %d", x.ProgId, x.AttachMode))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// requireSameState fails the test if the interface state changed.
func requireSameState(t *testing.T, before, after string) {
	t.Helper()
	if before != after {
		t.Errorf("interface state changed:\nbefore:\n%s\nafter:\n%s", before, after)
	} else {
		t.Logf("interface state as before:\n%s", after)
	}
}

func logBPF(t *testing.T, when string) []testutil.BPFObject {
	t.Helper()
	ours, err := testutil.TemblorBPF()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Temblor BPF objects %s: %v", when, ours)
	return ours
}
