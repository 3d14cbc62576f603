package agent

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// nsKey is a namespace an attachment is keyed by: a syscall scope's target
// map key, or the network namespace a network fault is attached in.
type nsKey struct {
	kind  string // "net" or "mnt"
	inode uint64
}

func (k nsKey) String() string { return fmt.Sprintf("%s:[%d]", k.kind, k.inode) }

// scopeKeys lists the namespace keys of a syscall scope.
func scopeKeys(s sysfault.Scope) []nsKey {
	var out []nsKey
	for _, ino := range s.NetNSInodes {
		out = append(out, nsKey{"net", ino})
	}
	for _, ino := range s.MntNSInodes {
		out = append(out, nsKey{"mnt", ino})
	}
	return out
}

// goneNamespaces returns t's keys whose namespace no process of pod holds
// any more. Namespace inodes are reused for new namespaces, so such a key
// could come to match another pod's tasks.
func goneNamespaces(t *target, pod *podresolve.Pod) []nsKey {
	held := map[nsKey]bool{}
	for _, p := range pod.Processes {
		held[nsKey{"net", p.NetNS}] = true
		held[nsKey{"mnt", p.MntNS}] = true
	}
	var gone []nsKey
	for _, k := range t.nsKeys {
		if !held[k] {
			gone = append(gone, k)
		}
	}
	return gone
}

// closeStale releases the attachment of a target whose namespaces are gone
// while the pod stays (a restarted container, a recreated sandbox): its
// keys are removed with it. Call with the fault's lock held.
func (a *Agent) closeStale(ctx context.Context, t *target, gone []nsKey) {
	names := make([]string, len(gone))
	for i, k := range gone {
		names[i] = k.String()
	}
	msg := "the pod's namespaces " + strings.Join(names, ", ") + " are gone (restarted container or sandbox); the attachment keyed by them was released"
	if c, err := t.att.Counters(); err == nil {
		countDelta(t.counters, c)
		t.counters = c
	}
	t.state, t.message = chaosv1.TargetGone, msg
	if err := a.closeTarget(ctx, t); err != nil {
		t.message = truncate(msg+"; release failed, retrying: "+err.Error(), maxMessage)
		return
	}
	log.FromContext(ctx).Info("Released target keyed by gone namespaces", "pod", t.spec.Namespace+"/"+t.spec.Name, "namespaces", names)
}
