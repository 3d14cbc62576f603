package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// runner runs one churn: its clients, its namespace and what it counted.
type runner struct {
	cfg   config
	ns    string
	c     client.Client        // direct: creates, deletes, final listings
	cache cache.Cache          // watches the namespace's Faults for the cycles
	cs    kubernetes.Interface // pod proxy for the victims' /stats

	mu  sync.Mutex
	rng *mrand.Rand
	st  *tally
}

func newRunner(ctx context.Context, cfg config) (*runner, error) {
	log.SetLogger(zap.New(zap.UseDevMode(false), zap.Level(zapcore.ErrorLevel)))
	rc, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 100, 200
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("client-go scheme: %w", err)
	}
	if err := chaosv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("temblor scheme: %w", err)
	}
	c, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("clientset: %w", err)
	}
	b := make([]byte, 3)
	rand.Read(b)
	ns := "temblor-churn-" + hex.EncodeToString(b)
	ca, err := cache.New(rc, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &runner{cfg: cfg, ns: ns, c: c, cache: ca, cs: cs, rng: mrand.New(mrand.NewSource(cfg.seed)), st: newTally()}, nil
}

// run does the whole churn and returns its report; err is for what kept
// it from measuring at all.
func (r *runner) run(ctx context.Context) (*report, error) {
	rep := &report{seed: r.cfg.seed, ns: r.ns, tally: r.st}
	if _, err := r.agentPod(ctx); err != nil {
		return nil, fmt.Errorf("is Temblor deployed? %w", err)
	}
	if left, err := temblorBPF(); err != nil || len(left) > 0 {
		return nil, fmt.Errorf("Temblor BPF objects loaded before the run (another user of BPF on this host?): %v %v", left, err)
	}
	logf("namespace %s: starting %d victims", r.ns, r.cfg.pods)
	if err := r.startVictims(ctx); err != nil {
		return rep, err
	}
	defer func() {
		if r.cfg.keepNamespace {
			logf("keeping namespace %s", r.ns)
			return
		}
		// Best effort after a failure (finish already deleted it otherwise).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		r.c.Delete(dctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}})
	}()
	before, err := r.victimTC(ctx)
	if err != nil {
		return rep, err
	}
	if _, err := r.cache.GetInformer(ctx, &chaosv1.Fault{}); err != nil {
		return rep, fmt.Errorf("Fault informer: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.cache.Start(cctx)
	if !r.cache.WaitForCacheSync(ctx) {
		return rep, fmt.Errorf("Fault cache did not sync")
	}

	if err := r.churn(ctx, rep); err != nil {
		return rep, err
	}
	return rep, r.finish(ctx, rep, before)
}

// killPositions spreads the kills over the cycles between the first
// warm-up and the last two: after the last kill, a fresh agent gets a
// warm-up of its own, then its baseline, then one more warm-up's cycles.
func killPositions(cycles, warmup, kills int) []int {
	var pos []int
	span := cycles - 3*warmup
	for j := range kills {
		pos = append(pos, warmup+(j+1)*span/kills)
	}
	return pos
}

// churn runs the cycles, the kills and the agent baselines.
func (r *runner) churn(ctx context.Context, rep *report) error {
	W := r.cfg.warmup
	kills := killPositions(r.cfg.cycles, W, r.cfg.kills)
	baseAt := W // the first agent's baseline; moved after the last kill
	if len(kills) > 0 {
		baseAt = kills[len(kills)-1] + W
	}
	sem := make(chan struct{}, r.cfg.concurrent)
	var cycles, killer sync.WaitGroup
	killReq := make(chan int, len(kills))
	killer.Add(1)
	go func() {
		defer killer.Done()
		for at := range killReq {
			k := r.killAgent(ctx, at)
			logf("agent SIGKILL %d at cycle %d: pid %d -> %d, BPF released in %s, back in %s, pod replaced %v, err %v",
				len(rep.kills)+1, at, k.pid, k.newPID, k.released, k.back.Round(time.Millisecond), k.podReplaced, k.err)
			r.mu.Lock()
			rep.kills = append(rep.kills, k)
			r.mu.Unlock()
		}
	}()
	drain := func() {
		cycles.Wait()
	}
	next := 0
	t0 := time.Now()
	for i := range r.cfg.cycles {
		if ctx.Err() != nil {
			break
		}
		if i == W {
			drain()
			s, err := r.settledAgent(ctx)
			if err != nil {
				return fmt.Errorf("agent baseline after warm-up: %w", err)
			}
			rep.first = s
			logf("first agent after %d warm-up cycles: pid %d, %d fds, %d kB RSS", W, s.pid, s.fds, s.rssKB)
		}
		if next < len(kills) && i == kills[next] {
			killReq <- i
			next++
			if next == len(kills) {
				close(killReq)
			}
		}
		if len(kills) > 0 && i == baseAt {
			killer.Wait()
			drain()
			s, err := r.settledAgent(ctx)
			if err != nil {
				return fmt.Errorf("agent baseline after the last kill: %w", err)
			}
			rep.base = s
			logf("fresh agent after the last kill and %d warm-up cycles: pid %d, %d fds, %d kB RSS", W, s.pid, s.fds, s.rssKB)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		cycles.Add(1)
		go func() {
			defer cycles.Done()
			defer func() { <-sem }()
			r.cycle(ctx, i)
		}()
		if i > 0 && i%100 == 0 {
			logf("%d cycles started in %s; %s", i, time.Since(t0).Round(time.Second), r.st.summary())
		}
	}
	if next < len(kills) {
		close(killReq)
	}
	drain()
	killer.Wait()
	rep.elapsed = time.Since(t0)
	if len(kills) == 0 {
		rep.base = rep.first
	}
	return ctx.Err()
}

// draw returns cycle i's plan from the shared random source.
func (r *runner) draw(i int) plan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return newPlan(r.rng, r.ns, i, r.cfg.pods)
}

func logf(format string, a ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}
