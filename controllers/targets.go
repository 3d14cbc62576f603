package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
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
	if sel.Empty() {
		// The CRD refuses this; an older CRD or a hand-edited object may not.
		// An empty selector matches every pod, so it is never acted on.
		return nil, &selectorError{err: errEmptySelector}
	}
	labelSel, err := metav1.LabelSelectorAsSelector(sel.LabelSelector())
	if err != nil {
		return nil, &selectorError{err: err}
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

// errEmptySelector is a selector that names no pods at all, which a label
// selector would read as "every pod in the namespace".
var errEmptySelector = errors.New("selector names no pods: set a non-empty matchLabels, matchExpressions or podNames")

// selectorError is a selector the CRD accepted but client-go cannot parse:
// retrying cannot fix it.
type selectorError struct{ err error }

func (e *selectorError) Error() string { return "invalid selector: " + e.err.Error() }
func (e *selectorError) Unwrap() error { return e.err }

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

// containerIDs returns the runtime IDs of the named containers of pod, or
// nil when names is empty (the whole pod). A pod that lacks one of the names,
// or whose named container has no runtime ID yet, is refused with a reason:
// a name that matches nothing must never widen the fault to the whole pod.
func containerIDs(pod *corev1.Pod, names []string) ([]string, string) {
	if len(names) == 0 {
		return nil, ""
	}
	ids := make([]string, 0, len(names))
	for _, name := range names {
		if !podHasContainer(pod, name) {
			return nil, fmt.Sprintf("%s: no container named %q", pod.Name, name)
		}
		id := containerID(pod, name)
		if id == "" {
			return nil, fmt.Sprintf("%s: container %q has not started", pod.Name, name)
		}
		ids = append(ids, id)
	}
	return ids, ""
}

// podHasContainer says whether pod's spec declares a container (or init
// container, such as a native sidecar) called name.
func podHasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// containerID is the runtime ID of pod's container called name, "" until
// the kubelet reports one.
func containerID(pod *corev1.Pod, name string) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == name {
				return cs.ContainerID
			}
		}
	}
	return ""
}

// withContainers keeps the pods that have every container of names started,
// and returns the reasons the others were refused.
func withContainers(pods []corev1.Pod, names []string) ([]corev1.Pod, []string) {
	if len(names) == 0 {
		return pods, nil
	}
	var (
		kept    = make([]corev1.Pod, 0, len(pods))
		refused []string
	)
	for i := range pods {
		if _, why := containerIDs(&pods[i], names); why != "" {
			refused = append(refused, why)
			continue
		}
		kept = append(kept, pods[i])
	}
	return kept, refused
}

// summarise joins reasons, listing at most max of them.
func summarise(reasons []string, max int) string {
	if len(reasons) <= max {
		return strings.Join(reasons, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(reasons[:max], "; "), len(reasons)-max)
}
