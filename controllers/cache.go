package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TrimPod is a cache transform that keeps only what the manager reads from a
// Pod: identity, labels, deletion, node, container names, phase and
// container IDs (target selection), and the Ready condition's status, pod
// IPs and host networking (abort checks). With it the manager's pod cache stays small on clusters
// with many pods.
func TrimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // tombstones and the like pass through
	}
	trimmed := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID,
			ResourceVersion: pod.ResourceVersion, Labels: pod.Labels,
			DeletionTimestamp: pod.DeletionTimestamp,
		},
		Spec:   corev1.PodSpec{NodeName: pod.Spec.NodeName, HostNetwork: pod.Spec.HostNetwork},
		Status: corev1.PodStatus{Phase: pod.Status.Phase, PodIPs: pod.Status.PodIPs},
	}
	// Container names tell a container that does not exist from one that
	// has not started (selector.containerNames refuses both, with reasons).
	for _, c := range pod.Spec.Containers {
		trimmed.Spec.Containers = append(trimmed.Spec.Containers, corev1.Container{Name: c.Name})
	}
	for _, c := range pod.Spec.InitContainers {
		trimmed.Spec.InitContainers = append(trimmed.Spec.InitContainers, corev1.Container{Name: c.Name})
	}
	for _, cs := range pod.Status.ContainerStatuses {
		trimmed.Status.ContainerStatuses = append(trimmed.Status.ContainerStatuses,
			corev1.ContainerStatus{Name: cs.Name, ContainerID: cs.ContainerID})
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			trimmed.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		trimmed.Status.InitContainerStatuses = append(trimmed.Status.InitContainerStatuses,
			corev1.ContainerStatus{Name: cs.Name, ContainerID: cs.ContainerID})
	}
	return trimmed, nil
}

// CacheOptions returns the manager cache options Temblor's manager uses:
// trimmed pods and managed fields stripped everywhere.
func CacheOptions(scheme *runtime.Scheme) cache.Options {
	return cache.Options{
		Scheme:           scheme,
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Transform: func(o any) (any, error) {
				out, err := TrimPod(o)
				if err != nil {
					return nil, fmt.Errorf("trim pod: %w", err)
				}
				return out, nil
			}},
		},
	}
}
