package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// cluster runs one verb of hack/cluster, streaming its output.
func cluster(ctx context.Context, verb string) error {
	cmd := exec.CommandContext(ctx, "go", "run", "./hack/cluster", verb)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/cluster %s: %w", verb, err)
	}
	return nil
}

// kubeconfigPath is where hack/cluster writes the admin kubeconfig.
func kubeconfigPath() string {
	dir := os.Getenv("TEMBLOR_CLUSTER_DIR")
	if dir == "" {
		dir = "/var/lib/temblor-cluster"
	}
	return filepath.Join(dir, "kubeconfig")
}

func newClient() (client.Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath())
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfigPath(), err)
	}
	sch := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(sch))
	utilruntime.Must(chaosv1.AddToScheme(sch))
	c, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// waitTemblor waits until the manager and the agent pods are Ready.
func waitTemblor(ctx context.Context, c client.Client) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace("temblor-system")); err != nil {
			return fmt.Errorf("list temblor-system pods: %w", err)
		}
		ready := map[string]bool{}
		var states []string
		for _, p := range pods.Items {
			name := p.Labels["app.kubernetes.io/name"]
			ok := p.Status.Phase == corev1.PodRunning && podReady(&p)
			ready[name] = ready[name] || ok
			states = append(states, fmt.Sprintf("%s=%s", p.Name, p.Status.Phase))
		}
		if ready["temblor-manager"] && ready["temblor-agent"] {
			fmt.Println("manager and agent ready:", strings.Join(states, " "))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temblor not ready after 3m: %s", strings.Join(states, " "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
