package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// injectionWriters bounds the FaultInjection creates in flight for one Fault.
const injectionWriters = 16

// listInjections lists the FaultInjections of fault from the cache.
func (r *FaultReconciler) listInjections(ctx context.Context, fault *chaosv1.Fault) ([]chaosv1.FaultInjection, error) {
	var list chaosv1.FaultInjectionList
	if err := r.Client.List(ctx, &list, client.InNamespace(fault.Namespace),
		client.MatchingLabels{chaosv1.LabelFault: chaosv1.LabelValue(fault.Name)}); err != nil {
		return nil, fmt.Errorf("list fault injections of %s: %w", klog.KObj(fault), err)
	}
	out := list.Items[:0]
	for _, fi := range list.Items {
		if metav1.IsControlledBy(&fi, fault) {
			out = append(out, fi)
		}
	}
	return out, nil
}

// desiredInjections builds one FaultInjection per node from the fixed
// targets in the fault's status.
func (r *FaultReconciler) desiredInjections(fault *chaosv1.Fault) ([]*chaosv1.FaultInjection, error) {
	byNode := nodesOf(fault.Status.Targets)
	nodes := make([]string, 0, len(byNode))
	for n := range byNode {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	out := make([]*chaosv1.FaultInjection, 0, len(nodes))
	for _, node := range nodes {
		fi := &chaosv1.FaultInjection{
			ObjectMeta: metav1.ObjectMeta{
				Name:      chaosv1.FaultInjectionName(fault.Name, node),
				Namespace: fault.Namespace,
				Labels: map[string]string{
					chaosv1.LabelFault: chaosv1.LabelValue(fault.Name),
					chaosv1.LabelNode:  chaosv1.LabelValue(node),
				},
				Finalizers: []string{chaosv1.Finalizer},
			},
			Spec: chaosv1.FaultInjectionSpec{
				FaultName:   fault.Name,
				NodeName:    node,
				Deadline:    *fault.Status.ExpiryTime,
				FaultAction: *fault.Spec.FaultAction.DeepCopy(),
			},
		}
		for _, t := range byNode[node] {
			if len(fault.Spec.Selector.ContainerNames) > 0 && len(t.ContainerIDs) == 0 {
				continue // never widen a container-scoped fault to the whole pod
			}
			fi.Spec.Targets = append(fi.Spec.Targets, chaosv1.InjectionTarget{
				PodUID: t.UID, Namespace: fault.Namespace, Name: t.Name, ContainerIDs: t.ContainerIDs,
			})
		}
		if len(fi.Spec.Targets) == 0 {
			continue
		}
		if err := controllerutil.SetControllerReference(fault, fi, r.Client.Scheme()); err != nil {
			return nil, fmt.Errorf("set owner of fault injection %s: %w", fi.Name, err)
		}
		out = append(out, fi)
	}
	return out, nil
}

// ensureInjections creates the FaultInjections that do not exist yet, with
// bounded parallelism: a Fault over many nodes writes one object per node.
// It returns, per node, why a node gets nothing: a FaultInjection of the
// same name that this Fault does not control.
func (r *FaultReconciler) ensureInjections(ctx context.Context, fault *chaosv1.Fault) (map[string]string, error) {
	existing, err := r.listInjections(ctx, fault)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(existing))
	for _, fi := range existing {
		have[fi.Spec.NodeName] = true
	}
	desired, err := r.desiredInjections(fault)
	if err != nil {
		return nil, err
	}
	var missing []*chaosv1.FaultInjection
	for _, fi := range desired {
		if !have[fi.Spec.NodeName] {
			missing = append(missing, fi)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		errs      []error
		conflicts = map[string]string{}
		created   int
		work      = make(chan *chaosv1.FaultInjection)
	)
	for range min(injectionWriters, len(missing)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fi := range work {
				why, err := r.createInjection(ctx, fault, fi)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case why != "":
					conflicts[fi.Spec.NodeName] = why
				default:
					created++
				}
				mu.Unlock()
			}
		}()
	}
	for _, fi := range missing {
		work <- fi
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if created > 0 {
		log.FromContext(ctx).Info("Created fault injections", "count", created)
		r.Recorder.Eventf(fault, nil, corev1.EventTypeNormal, chaosv1.ReasonInjectionPending, "Inject",
			"Handed targets to %d node agents", created)
	}
	return conflicts, nil
}

// createInjection creates fi. When a FaultInjection of that name already
// exists and fault does not control it (by UID), it returns why the node
// gets nothing; one that fault controls is fine (the cache was behind).
func (r *FaultReconciler) createInjection(ctx context.Context, fault *chaosv1.Fault, fi *chaosv1.FaultInjection) (string, error) {
	err := r.Client.Create(ctx, fi)
	if err == nil {
		return "", nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create fault injection %s: %w", klog.KObj(fi), err)
	}
	var other chaosv1.FaultInjection
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(fi), &other); err != nil {
		return "", fmt.Errorf("get existing fault injection %s: %w", klog.KObj(fi), err)
	}
	if metav1.IsControlledBy(&other, fault) {
		return "", nil
	}
	owner := "no controller"
	if ref := metav1.GetControllerOf(&other); ref != nil {
		owner = fmt.Sprintf("controller %s %s (uid %s)", ref.Kind, ref.Name, ref.UID)
	}
	return fmt.Sprintf("node %s gets nothing: FaultInjection %s already exists with %s, not this Fault",
		fi.Spec.NodeName, klog.KObj(fi), owner), nil
}

// deleteInjections deletes the fault's FaultInjections and returns how many
// still exist because their agents have not confirmed teardown. An injection
// whose node is gone, or whose agent has not answered within
// TeardownTimeout, has its finalizer removed by the manager.
func (r *FaultReconciler) deleteInjections(ctx context.Context, fault *chaosv1.Fault) (int, error) {
	existing, err := r.listInjections(ctx, fault)
	if err != nil {
		return 0, err
	}
	remaining := 0
	for i := range existing {
		fi := &existing[i]
		if fi.DeletionTimestamp.IsZero() {
			if err := r.Client.Delete(ctx, fi); err != nil && !apierrors.IsNotFound(err) {
				return 0, fmt.Errorf("delete fault injection %s: %w", klog.KObj(fi), err)
			}
			remaining++
			continue
		}
		abandon, why, err := r.agentGone(ctx, fi)
		if err != nil {
			return 0, err
		}
		if !abandon {
			remaining++
			continue
		}
		patch := client.MergeFrom(fi.DeepCopy())
		if controllerutil.RemoveFinalizer(fi, chaosv1.Finalizer) {
			if err := r.Client.Patch(ctx, fi, patch); err != nil && !apierrors.IsNotFound(err) {
				return 0, fmt.Errorf("remove finalizer from fault injection %s: %w", klog.KObj(fi), err)
			}
			r.Recorder.Eventf(fault, fi, corev1.EventTypeWarning, "TeardownNotConfirmed", "Teardown",
				"Removed fault injection %s without its agent's confirmation: %s", fi.Name, why)
		}
	}
	return remaining, nil
}

// agentGone says whether the manager should stop waiting for fi's agent:
// the node no longer exists, or the agent missed TeardownTimeout.
func (r *FaultReconciler) agentGone(ctx context.Context, fi *chaosv1.FaultInjection) (bool, string, error) {
	var node corev1.Node
	err := r.Client.Get(ctx, client.ObjectKey{Name: fi.Spec.NodeName}, &node)
	if apierrors.IsNotFound(err) {
		return true, fmt.Sprintf("node %s no longer exists", fi.Spec.NodeName), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("get node %s: %w", fi.Spec.NodeName, err)
	}
	if waited := r.Clock.Since(fi.DeletionTimestamp.Time); waited > r.TeardownTimeout {
		return true, fmt.Sprintf("the agent on node %s did not confirm within %s", fi.Spec.NodeName, r.TeardownTimeout), nil
	}
	return false, "", nil
}
