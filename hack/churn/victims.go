package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// victimLabel names each victim pod in a label, so a Fault can pick one.
const victimLabel = "churn-victim"

func victimName(i int) string { return fmt.Sprintf("v%02d", i) }

// appPod is a pod of the e2e app image (test/e2e/images/app), locked down
// like the e2e suite's.
func (r *runner) appPod(name string, labels map[string]string, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: r.ns, Labels: labels},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			Containers: []corev1.Container{{
				Name: "app", Image: r.cfg.image, ImagePullPolicy: corev1.PullPolicy(r.cfg.pullPolicy), Args: args,
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
					AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// startVictims creates a server pod (never targeted) and the victim client
// pods (HTTP, TCP and UDP in turn, at 5 requests/s), and waits until all
// are Ready.
func (r *runner) startVictims(ctx context.Context) error {
	if err := r.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}); err != nil {
		return fmt.Errorf("create namespace %s: %w", r.ns, err)
	}
	srv := r.appPod("server", map[string]string{"app": "churn", "role": "server"}, "server")
	if err := r.c.Create(ctx, srv); err != nil {
		return fmt.Errorf("create server pod: %w", err)
	}
	ip, err := r.waitReady(ctx, "server")
	if err != nil {
		return err
	}
	protos := []struct{ name, port string }{{"http", "8000"}, {"tcp", "7000"}, {"udp", "7001"}}
	for i := range r.cfg.pods {
		p := protos[i%len(protos)]
		pod := r.appPod(victimName(i), map[string]string{"app": "churn", "role": "victim", victimLabel: victimName(i)},
			"client", "--target", ip+":"+p.port, "--proto", p.name, "--rate", "5")
		if err := r.c.Create(ctx, pod); err != nil {
			return fmt.Errorf("create victim %s: %w", pod.Name, err)
		}
	}
	for i := range r.cfg.pods {
		if _, err := r.waitReady(ctx, victimName(i)); err != nil {
			return err
		}
	}
	return nil
}

// waitReady waits until the pod is Ready and returns its IP.
func (r *runner) waitReady(ctx context.Context, name string) (string, error) {
	var pod corev1.Pod
	err := poll(ctx, 3*time.Minute, 500*time.Millisecond, func() (bool, error) {
		if err := r.c.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: name}, &pod); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && pod.Status.PodIP != "" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("pod %s/%s Ready: %w", r.ns, name, err)
	}
	return pod.Status.PodIP, nil
}

// victimUIDs returns the victims' pod UIDs by name.
func (r *runner) victimUIDs(ctx context.Context) (map[string]string, error) {
	var pods corev1.PodList
	if err := r.c.List(ctx, &pods, client.InNamespace(r.ns), client.MatchingLabels{"role": "victim"}); err != nil {
		return nil, fmt.Errorf("list victims: %w", err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		out[p.Name] = string(p.UID)
	}
	return out, nil
}

// deleteNamespace deletes the churn namespace (with its pods) and waits
// until every pod in it is gone.
func (r *runner) deleteNamespace(ctx context.Context) error {
	if err := r.c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", r.ns, err)
	}
	return poll(ctx, 3*time.Minute, time.Second, func() (bool, error) {
		var pods corev1.PodList
		if err := r.c.List(ctx, &pods, client.InNamespace(r.ns)); err != nil {
			return false, err
		}
		return len(pods.Items) == 0, nil
	})
}

// poll calls f every interval until it returns true, an error, or timeout.
func poll(ctx context.Context, timeout, interval time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s", timeout)
		case <-t.C:
		}
	}
}
