package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	demoNS   = "temblor-demo"
	appImage = "docker.io/temblor/e2e-app:dev"
)

// demoApp is the client/server pair the experiments hit.
type demoApp struct {
	serverIP, clientIP string
}

// deployApp (re)creates the server and the client; the client is labelled
// app=checkout, the selector of experiments/flaky-dependency, and calls the
// server's HTTP port 8080, the port that experiment makes flaky.
func deployApp(ctx context.Context, c client.Client) (*demoApp, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNS}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", demoNS, err)
	}
	server := appPod("pricing", map[string]string{"app": "pricing"}, "server", "--http", ":8080", "--tcp", "", "--udp", "")
	serverIP, err := recreatePod(ctx, c, server)
	if err != nil {
		return nil, err
	}
	cl := appPod("checkout", map[string]string{"app": "checkout"},
		"client", "--target", serverIP+":8080", "--proto", "http", "--rate", "20", "--listen", ":8081", "--timeout", "1s")
	clientIP, err := recreatePod(ctx, c, cl)
	if err != nil {
		return nil, err
	}
	return &demoApp{serverIP: serverIP, clientIP: clientIP}, nil
}

func appPod(name string, labels map[string]string, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: demoNS, Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name: "app", Image: appImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/app"}, Args: args,
			}},
		},
	}
}

// recreatePod deletes any previous pod of that name, creates pod, and waits
// until it runs; it returns the pod's IP.
func recreatePod(ctx context.Context, c client.Client, pod *corev1.Pod) (string, error) {
	_ = c.Delete(ctx, pod.DeepCopy(), client.GracePeriodSeconds(0))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := c.Create(ctx, pod.DeepCopy())
		if err == nil {
			break
		}
		if !apierrors.IsAlreadyExists(err) || time.Now().After(deadline) {
			return "", fmt.Errorf("create pod %s: %w", pod.Name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for {
		var got corev1.Pod
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &got); err != nil {
			return "", fmt.Errorf("get pod %s: %w", pod.Name, err)
		}
		if got.Status.Phase == corev1.PodRunning && got.Status.PodIP != "" && podReady(&got) {
			return got.Status.PodIP, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("pod %s not running after 2m (phase %s)", pod.Name, got.Status.Phase)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stats is the client's /stats answer.
type stats struct {
	SuccessRate float64 `json:"successRate"`
	WindowSent  int64   `json:"windowSent"`
	WindowOK    int64   `json:"windowOK"`
}

func (a *demoApp) rate(ctx context.Context) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.clientIP+":8081/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("read client stats: %w", err)
	}
	defer resp.Body.Close()
	var s stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return 0, fmt.Errorf("decode client stats: %w", err)
	}
	return s.SuccessRate, nil
}

// watchRate prints the success rate once a second for d, with extra text
// from status (may be nil), and returns the last rate.
func watchRate(ctx context.Context, a *demoApp, d time.Duration, status func() string) float64 {
	var last float64
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		r, err := a.rate(ctx)
		line := ""
		if err != nil {
			line = "client stats unavailable: " + err.Error()
		} else {
			last = r
			line = bar(r)
		}
		if status != nil {
			line += "  " + status()
		}
		fmt.Println(line)
		time.Sleep(time.Second)
	}
	return last
}

func bar(r float64) string {
	n := int(r*20 + 0.5)
	return fmt.Sprintf("success %5.1f%% |%s%s|", 100*r, strings.Repeat("█", n), strings.Repeat("·", 20-n))
}
