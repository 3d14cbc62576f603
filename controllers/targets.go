package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// Rand picks random indexes; tests inject a seeded one.
type Rand interface {
	// Perm returns a random permutation of [0, n).
	Perm(n int) []int
}

type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRand() Rand {
	seed := uint64(time.Now().UnixNano())
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed>>1))}
}

func (l *lockedRand) Perm(n int) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Perm(n)
}

// candidatePods lists the pods in the Fault's namespace that match its
// selector and can be targeted: scheduled, Running and not being deleted. It
// reads the manager's cache, never the API server.
func (r *FaultReconciler) candidatePods(ctx context.Context, fault *chaosv1.Fault) ([]corev1.Pod, error) {
	sel := fault.Spec.Selector
	labelSel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{
		MatchLabels:      sel.MatchLabels,
		MatchExpressions: sel.MatchExpressions,
	})
	if err != nil {
		return nil, fmt.Errorf("selector: %w", err)
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(fault.Namespace), client.MatchingLabelsSelector{Selector: labelSel}); err != nil {
		return nil, fmt.Errorf("list pods in namespace %s: %w", fault.Namespace, err)
	}
	out := pods.Items[:0]
	for _, p := range pods.Items {
		if p.Namespace != fault.Namespace || !p.DeletionTimestamp.IsZero() ||
			p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" {
			continue
		}
		if len(sel.PodNames) > 0 && !slices.Contains(sel.PodNames, p.Name) {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SelectCount is how many of n candidate pods a Fault's mode hits.
func SelectCount(spec *chaosv1.FaultSpec, n int) int {
	switch spec.Mode {
	case chaosv1.ModeOne:
		return min(1, n)
	case chaosv1.ModeFixed:
		if spec.Count == nil {
			return 0
		}
		return min(int(*spec.Count), n)
	case chaosv1.ModePercent:
		if spec.Percent == nil || n == 0 {
			return 0
		}
		return max(1, n*int(*spec.Percent)/100)
	default:
		return n
	}
}

// choose applies the mode: a random subset of the candidates, in name order.
func (r *FaultReconciler) choose(spec *chaosv1.FaultSpec, pods []corev1.Pod) []corev1.Pod {
	k := SelectCount(spec, len(pods))
	if k == len(pods) {
		return pods
	}
	idx := r.Rand.Perm(len(pods))[:k]
	sort.Ints(idx)
	chosen := make([]corev1.Pod, 0, k)
	for _, i := range idx {
		chosen = append(chosen, pods[i])
	}
	return chosen
}

// containerIDs returns the runtime IDs of the named containers of pod, or nil
// when names is empty (the whole pod).
func containerIDs(pod *corev1.Pod, names []string) []string {
	if len(names) == 0 {
		return nil
	}
	var ids []string
	for _, cs := range pod.Status.ContainerStatuses {
		if slices.Contains(names, cs.Name) && cs.ContainerID != "" {
			ids = append(ids, cs.ContainerID)
		}
	}
	return ids
}
