package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
)

// Summary renders the action in a few words, the same everywhere it is shown
// (status.action for `kubectl get faults`, temblorctl), e.g. "drop egress
// TCP 30% dports 53" or "syscall connect ECONNREFUSED 100% ports 5432": it
// names every filter that narrows the fault. At most 256 characters.
func (a *FaultAction) Summary() string {
	switch {
	case a.Network != nil:
		n := a.Network
		s := strings.ToLower(string(n.Type))
		if n.Corrupt != nil {
			s += " " + string(n.Corrupt.Field)
		}
		s += " " + strings.ToLower(string(n.Direction))
		if n.Protocol != "" {
			s += " " + string(n.Protocol)
		}
		s += " " + string(n.Probability) + "%"
		s += portsSummary("ports", n.Ports) + portsSummary("sports", n.SourcePorts) + portsSummary("dports", n.DestinationPorts)
		if len(n.PeerCIDRs) > 0 {
			s += " peers " + strings.Join(n.PeerCIDRs, ",")
		}
		return truncateSummary(s)
	case a.Syscall != nil:
		names := make([]string, len(a.Syscall.Syscalls))
		for i, n := range a.Syscall.Syscalls {
			names[i] = string(n)
		}
		s := fmt.Sprintf("syscall %s %s %s%%", strings.Join(names, ","), a.Syscall.Errno, a.Syscall.Probability)
		s += portsSummary("ports", a.Syscall.Ports)
		if len(a.Syscall.PeerCIDRs) > 0 {
			s += " peers " + strings.Join(a.Syscall.PeerCIDRs, ",")
		}
		if a.Syscall.PathPrefix != "" {
			s += " path " + a.Syscall.PathPrefix + "*"
		}
		return truncateSummary(s)
	}
	return ""
}

// portsSummary renders port ranges as " label 5432,8000-8010", or "".
func portsSummary(label string, ranges []PortRange) string {
	if len(ranges) == 0 {
		return ""
	}
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = strconv.Itoa(int(r.From))
		if r.To != nil && *r.To != r.From {
			parts[i] += "-" + strconv.Itoa(int(*r.To))
		}
	}
	return " " + label + " " + strings.Join(parts, ",")
}

// summaryMax bounds Summary, as status.action's schema does.
const summaryMax = 256

func truncateSummary(s string) string {
	if len(s) <= summaryMax {
		return s
	}
	return s[:summaryMax-3] + "..."
}
