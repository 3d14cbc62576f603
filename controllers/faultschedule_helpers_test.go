package controllers_test

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/controllers"
)

// scheduleClock is the schedule reconciler's clock. It is its own, apart
// from the Fault reconciler's fakeClock, so that a spec can set it to any
// time (backwards too) without touching running Faults.
var scheduleClock = testingclock.NewFakeClock(time.Now())

// startScheduleManager starts a manager running only the FaultSchedule
// reconciler (the suite's manager runs the Fault reconciler), and returns
// the function that stops it. A second call after a stop is a manager
// restart: new cache, new reconciler, same objects.
func startScheduleManager() (stop func()) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Cache:      controllers.CacheOptions(scheme),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.FaultScheduleReconciler{
		Client:              mgr.GetClient(),
		Recorder:            mgr.GetEventRecorder("temblor-manager"),
		Clock:               scheduleClock,
		ProtectedNamespaces: controllers.DefaultProtectedNamespaces,
		MaxRequeueAfter:     100 * time.Millisecond,
	}).SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer GinkgoRecover()
		defer done.Done()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return func() { cancel(); done.Wait() }
}

// faultSchedule is a schedule of a dry-run drop fault over pods labelled
// app=<app>: each run ends Succeeded (reason DryRun) as soon as it starts.
func faultSchedule(ns, name, cron, app string) *chaosv1.FaultSchedule {
	f := networkFault(ns, "", app)
	f.Spec.DryRun = true
	return &chaosv1.FaultSchedule{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: chaosv1.FaultScheduleSpec{
			Schedule: cron,
			FaultTemplate: chaosv1.FaultTemplate{
				Metadata: chaosv1.FaultTemplateMetadata{Labels: map[string]chaosv1.SelectorValue{"team": "sre"}},
				Spec:     f.Spec,
			},
		},
	}
}

// createSchedule creates s with the schedule clock at the real time, away
// from a minute boundary, and returns the first minute boundary after its
// creation: when its first run is due.
func createSchedule(ctx context.Context, s *chaosv1.FaultSchedule) time.Time {
	for now := time.Now(); now.Second() >= 55 || now.Second() < 2; now = time.Now() {
		time.Sleep(500 * time.Millisecond)
	}
	scheduleClock.SetTime(time.Now())
	Expect(k8sClient.Create(ctx, s)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, s))).To(Succeed())
	})
	return s.CreationTimestamp.Truncate(time.Minute).Add(time.Minute)
}

func getSchedule(ctx context.Context, g Gomega, s *chaosv1.FaultSchedule) *chaosv1.FaultSchedule {
	out := &chaosv1.FaultSchedule{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(s), out)).To(Succeed())
	return out
}

// faultsOfSchedule lists the Faults labelled with s's name.
func faultsOfSchedule(ctx context.Context, g Gomega, s *chaosv1.FaultSchedule) []chaosv1.Fault {
	var list chaosv1.FaultList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(s.Namespace),
		client.MatchingLabels{chaosv1.LabelSchedule: s.Name})).To(Succeed())
	return list.Items
}

func faultNames(fs []chaosv1.Fault) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

// scheduleEvents lists the Events recorded about s with the given reason.
func scheduleEvents(ctx context.Context, g Gomega, s *chaosv1.FaultSchedule, reason string) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(s.Namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "FaultSchedule" && e.Regarding.Name == s.Name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// runOutcomes maps the Fault names in s's status.runs to their outcomes.
func runOutcomes(s *chaosv1.FaultSchedule) map[string]chaosv1.RunOutcome {
	out := map[string]chaosv1.RunOutcome{}
	for _, r := range s.Status.Runs {
		out[r.FaultName] = r.Outcome
	}
	return out
}

// stayEmpty asserts for a while that s has created no Fault.
func stayEmpty(ctx context.Context, s *chaosv1.FaultSchedule) {
	Consistently(func(g Gomega) {
		g.Expect(faultsOfSchedule(ctx, g, s)).To(BeEmpty())
	}, "1s", "100ms").Should(Succeed())
}

// updateSpec changes s's spec, retrying over conflicts with status writes.
func updateSpec(ctx context.Context, s *chaosv1.FaultSchedule, mutate func(*chaosv1.FaultScheduleSpec)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		got := getSchedule(ctx, g, s)
		mutate(&got.Spec)
		g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

// scheduleWait bounds the FaultSchedule specs' Eventually: Gomega's default
// second is too tight when the whole controllers suite shares two CPUs (the
// specs flaked at exactly 1.001 s there).
const scheduleWait = 10 * time.Second

// restartLosingStatus stops the schedule manager behind *stop, rewrites the
// schedule's status with lose (the status write the old manager lost) and
// starts a new manager into *stop; it restarts even when the rewrite fails,
// so that one failed spec does not leave the rest without a manager. The
// rewrite is retried on conflict: the old manager's last patch may land
// after it was cancelled.
func restartLosingStatus(ctx context.Context, stop *func(), s *chaosv1.FaultSchedule, lose func(*chaosv1.FaultScheduleStatus)) {
	(*stop)()
	defer func() { *stop = startScheduleManager() }()
	Eventually(func(g Gomega) {
		got := getSchedule(ctx, g, s)
		lose(&got.Status)
		g.Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
	}).WithTimeout(scheduleWait).Should(Succeed())
}
