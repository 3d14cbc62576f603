package controllers_test

import (
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/controllers"
)

func runName(s *chaosv1.FaultSchedule, t time.Time) string {
	return fmt.Sprintf("%s-%d", s.Name, t.Unix()/60)
}

var _ = Describe("FaultSchedule reconciler", Ordered, ContinueOnFailure, func() {
	var (
		ns       string
		stopMgr  func()
		minute   = time.Minute
		waitRuns = func(ctx SpecContext, s *chaosv1.FaultSchedule, names ...string) {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				g.Expect(faultNames(faultsOfSchedule(ctx, g, s))).To(ConsistOf(names))
			}).WithTimeout(scheduleWait).Should(Succeed())
		}
	)

	BeforeAll(func() { stopMgr = startScheduleManager() })
	AfterAll(func() { stopMgr() })

	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		ensureNode(ctx, "node-a")
		runningPod(ctx, ns, "web-0", "node-a", map[string]string{"app": "web"})
	})

	It("creates one owned, labelled Fault per run and lists the runs in status", func(ctx SpecContext) {
		s := faultSchedule(ns, "every-minute", "* * * * *", "web")
		first := createSchedule(ctx, s)
		Eventually(func(g Gomega) {
			got := getSchedule(ctx, g, s)
			g.Expect(got.Status.NextScheduleTime).NotTo(BeNil())
			g.Expect(got.Status.NextScheduleTime.Time).To(BeTemporally("==", first))
		}).WithTimeout(scheduleWait).Should(Succeed())
		stayEmpty(ctx, s)

		var names []string
		for i := range 3 {
			at := first.Add(time.Duration(i) * minute)
			scheduleClock.SetTime(at.Add(time.Second))
			names = append(names, runName(s, at))
			waitRuns(ctx, s, names...)
			// Finished before the next step, or Forbid would skip it.
			Eventually(func(g Gomega) {
				g.Expect(runOutcomes(getSchedule(ctx, g, s))).To(HaveKeyWithValue(runName(s, at), chaosv1.RunSucceeded))
			}).WithTimeout(scheduleWait).Should(Succeed())
		}
		Eventually(func(g Gomega) {
			got := getSchedule(ctx, g, s)
			g.Expect(got.Status.Runs).To(HaveLen(3))
			for i, run := range got.Status.Runs {
				g.Expect(run.FaultName).To(Equal(names[i]))
				g.Expect(run.ScheduledTime.Time).To(BeTemporally("==", first.Add(time.Duration(i)*minute)))
				g.Expect(run.Outcome).To(Equal(chaosv1.RunSucceeded))
				g.Expect(run.Reason).To(Equal(chaosv1.ReasonDryRun))
				g.Expect(run.StartTime).To(BeNil(), "a dry run injects nothing, so it never starts")
				g.Expect(run.EndTime).NotTo(BeNil())
			}
			g.Expect(got.Status.LastScheduleTime.Time).To(BeTemporally("==", first.Add(2*minute)))
			g.Expect(got.Status.LastSuccessfulTime).NotTo(BeNil())
			g.Expect(got.Status.Active).To(BeEmpty())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, chaosv1.ConditionScheduleReady)).To(BeTrue())
		}).WithTimeout(scheduleWait).Should(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonRunStarted)).NotTo(BeEmpty())
		}).WithTimeout(scheduleWait).Should(Succeed())
		for _, f := range faultsOfSchedule(ctx, Default, s) {
			ref := metav1.GetControllerOf(&f)
			Expect(ref).NotTo(BeNil())
			Expect(ref.Kind).To(Equal("FaultSchedule"))
			Expect(ref.Name).To(Equal(s.Name))
			Expect(f.Labels).To(HaveKeyWithValue("team", "sre"))
			Expect(f.Spec.DryRun).To(BeTrue())
		}
	})

	It("prunes succeeded and failed Faults beyond the history limits", func(ctx SpecContext) {
		s := faultSchedule(ns, "pruned", "* * * * *", "web")
		s.Spec.SuccessfulRunsHistoryLimit = ptr.To[int32](2)
		first := createSchedule(ctx, s)
		for i := range 4 {
			scheduleClock.SetTime(first.Add(time.Duration(i)*minute + time.Second))
			Eventually(func(g Gomega) {
				g.Expect(runOutcomes(getSchedule(ctx, g, s))).To(HaveKeyWithValue(runName(s, first.Add(time.Duration(i)*minute)), chaosv1.RunSucceeded))
			}).WithTimeout(scheduleWait).Should(Succeed())
		}
		waitRuns(ctx, s, runName(s, first.Add(2*minute)), runName(s, first.Add(3*minute)))
		// Pruned Faults stay in the run history.
		Expect(getSchedule(ctx, Default, s).Status.Runs).To(HaveLen(4))

		failing := faultSchedule(ns, "failing", "* * * * *", "nothing-matches")
		first = createSchedule(ctx, failing)
		for i := range 3 {
			scheduleClock.SetTime(first.Add(time.Duration(i)*minute + time.Second))
			Eventually(func(g Gomega) {
				g.Expect(runOutcomes(getSchedule(ctx, g, failing))).To(HaveKeyWithValue(runName(failing, first.Add(time.Duration(i)*minute)), chaosv1.RunFailed))
			}).WithTimeout(scheduleWait).Should(Succeed())
		}
		waitRuns(ctx, failing, runName(failing, first.Add(2*minute)))
		Expect(getSchedule(ctx, Default, failing).Status.Runs[0].Reason).To(Equal(chaosv1.ReasonNoTargets))
	})

	Describe("concurrency", func() {
		// running makes s's runs real (not dry-run) 1h faults: they stay
		// active for the whole spec.
		running := func(s *chaosv1.FaultSchedule, p chaosv1.ConcurrencyPolicy) *chaosv1.FaultSchedule {
			s.Spec.FaultTemplate.Spec.DryRun = false
			s.Spec.ConcurrencyPolicy = p
			return s
		}

		It("Forbid skips a run while one is active, with an Event and a Skipped run", func(ctx SpecContext) {
			s := running(faultSchedule(ns, "forbid", "* * * * *", "web"), chaosv1.ConcurrencyForbid)
			first := createSchedule(ctx, s)
			scheduleClock.SetTime(first.Add(time.Second))
			waitRuns(ctx, s, runName(s, first))
			waitPhase(ctx, &faultsOfSchedule(ctx, Default, s)[0], chaosv1.FaultRunning)

			scheduleClock.SetTime(first.Add(minute + time.Second))
			Eventually(func(g Gomega) {
				got := getSchedule(ctx, g, s)
				g.Expect(runOutcomes(got)).To(Equal(map[string]chaosv1.RunOutcome{
					runName(s, first): chaosv1.RunRunning, runName(s, first.Add(minute)): chaosv1.RunSkipped,
				}))
				g.Expect(got.Status.Active).To(ConsistOf(HaveField("Name", runName(s, first))))
				g.Expect(got.Status.ActiveCount).To(BeEquivalentTo(1))
				g.Expect(got.Status.Runs[0].StartTime).NotTo(BeNil())
				g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonRunSkipped)).To(HaveLen(1))
			}).WithTimeout(scheduleWait).Should(Succeed())
			Consistently(func(g Gomega) {
				g.Expect(faultNames(faultsOfSchedule(ctx, g, s))).To(ConsistOf(runName(s, first)))
			}, "1s", "100ms").Should(Succeed())
		})

		It("Replace deletes the active run and starts the new one", func(ctx SpecContext) {
			s := running(faultSchedule(ns, "replace", "* * * * *", "web"), chaosv1.ConcurrencyReplace)
			first := createSchedule(ctx, s)
			scheduleClock.SetTime(first.Add(time.Second))
			waitRuns(ctx, s, runName(s, first))

			scheduleClock.SetTime(first.Add(minute + time.Second))
			Eventually(func(g Gomega) {
				old := &chaosv1.Fault{}
				err := k8sClient.Get(ctx, key(ns, runName(s, first)), old)
				if err == nil {
					g.Expect(old.DeletionTimestamp).NotTo(BeNil(), "the replaced run is not being deleted")
				} else {
					g.Expect(client.IgnoreNotFound(err)).To(Succeed())
				}
				got := getSchedule(ctx, g, s)
				g.Expect(runOutcomes(got)).To(HaveKeyWithValue(runName(s, first), chaosv1.RunReplaced))
				g.Expect(runOutcomes(got)).To(HaveKey(runName(s, first.Add(minute))))
				g.Expect(got.Status.Active).To(ConsistOf(HaveField("Name", runName(s, first.Add(minute)))))
				g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonRunReplaced)).To(HaveLen(1))
			}).WithTimeout(scheduleWait).Should(Succeed())

			// The replaced Fault finishes its teardown and is gone; then the
			// status write that recorded Replaced is lost (a conflict, a
			// restart): the outcome must come back from the Fault that
			// replaced it, not read as Deleted.
			replaced := &chaosv1.Fault{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: runName(s, first)}}
			confirmTeardown(ctx, replaced)
			Eventually(func(g Gomega) {
				err := k8sClient.Get(ctx, key(ns, replaced.Name), &chaosv1.Fault{})
				g.Expect(err).To(Satisfy(apierrors.IsNotFound), "the replaced Fault is still there: %v", err)
			}).WithTimeout(scheduleWait).Should(Succeed())
			restartLosingStatus(ctx, &stopMgr, s, func(st *chaosv1.FaultScheduleStatus) {
				for i := range st.Runs {
					if st.Runs[i].FaultName == runName(s, first) {
						st.Runs[i].Outcome, st.Runs[i].Reason = chaosv1.RunRunning, ""
					}
				}
			})
			Eventually(func(g Gomega) {
				g.Expect(runOutcomes(getSchedule(ctx, g, s))).To(HaveKeyWithValue(runName(s, first), chaosv1.RunReplaced))
			}).WithTimeout(scheduleWait).Should(Succeed())
		})

		It("Allow runs both", func(ctx SpecContext) {
			s := running(faultSchedule(ns, "allow", "* * * * *", "web"), chaosv1.ConcurrencyAllow)
			first := createSchedule(ctx, s)
			scheduleClock.SetTime(first.Add(time.Second))
			waitRuns(ctx, s, runName(s, first))
			scheduleClock.SetTime(first.Add(minute + time.Second))
			waitRuns(ctx, s, runName(s, first), runName(s, first.Add(minute)))
			Eventually(func(g Gomega) {
				g.Expect(getSchedule(ctx, g, s).Status.ActiveCount).To(BeEquivalentTo(2))
			}).WithTimeout(scheduleWait).Should(Succeed())
		})
	})

	It("starts no new run while suspended", func(ctx SpecContext) {
		s := faultSchedule(ns, "suspended", "* * * * *", "web")
		first := createSchedule(ctx, s)
		scheduleClock.SetTime(first.Add(time.Second))
		waitRuns(ctx, s, runName(s, first))

		updateSpec(ctx, s, func(spec *chaosv1.FaultScheduleSpec) { spec.Suspend = true })
		Eventually(func(g Gomega) {
			cond := meta.FindStatusCondition(getSchedule(ctx, g, s).Status.Conditions, chaosv1.ConditionScheduleReady)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(chaosv1.ReasonSuspended))
			g.Expect(getSchedule(ctx, g, s).Status.NextScheduleTime).To(BeNil())
		}).WithTimeout(scheduleWait).Should(Succeed())
		scheduleClock.SetTime(first.Add(2*minute + time.Second))
		Consistently(func(g Gomega) {
			g.Expect(faultNames(faultsOfSchedule(ctx, g, s))).To(ConsistOf(runName(s, first)))
		}, "1s", "100ms").Should(Succeed())
	})

	Describe("missed runs", func() {
		It("starts only the most recent missed run when it is within startingDeadlineSeconds", func(ctx SpecContext) {
			s := faultSchedule(ns, "catch-up", "* * * * *", "web")
			s.Spec.StartingDeadlineSeconds = ptr.To[int64](120)
			first := createSchedule(ctx, s)
			latest := first.Add(5 * minute)
			scheduleClock.SetTime(latest.Add(45 * time.Second)) // six runs missed, the last 45s ago
			waitRuns(ctx, s, runName(s, latest))
			Consistently(func(g Gomega) {
				g.Expect(faultNames(faultsOfSchedule(ctx, g, s))).To(ConsistOf(runName(s, latest)))
			}, "1s", "100ms").Should(Succeed())
		})

		It("starts nothing when the most recent missed run is beyond startingDeadlineSeconds, and says so", func(ctx SpecContext) {
			s := faultSchedule(ns, "too-late", "* * * * *", "web")
			s.Spec.StartingDeadlineSeconds = ptr.To[int64](30)
			first := createSchedule(ctx, s)
			latest := first.Add(5 * minute)
			scheduleClock.SetTime(latest.Add(45 * time.Second))
			Eventually(func(g Gomega) {
				got := getSchedule(ctx, g, s)
				g.Expect(runOutcomes(got)).To(Equal(map[string]chaosv1.RunOutcome{runName(s, latest): chaosv1.RunMissed}))
				g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonRunMissed)).To(HaveLen(1))
			}).WithTimeout(scheduleWait).Should(Succeed())
			stayEmpty(ctx, s)

			// Back on time, the next run starts.
			scheduleClock.SetTime(latest.Add(minute + time.Second))
			waitRuns(ctx, s, runName(s, latest.Add(minute)))
		})

		It("reports more than 100 missed runs without a deadline and starts only the latest", func(ctx SpecContext) {
			s := faultSchedule(ns, "many-missed", "* * * * *", "web")
			first := createSchedule(ctx, s)
			latest := first.Add(3 * time.Hour)
			scheduleClock.SetTime(latest.Add(10 * time.Second))
			waitRuns(ctx, s, runName(s, latest))
			Eventually(func(g Gomega) {
				cond := meta.FindStatusCondition(getSchedule(ctx, g, s).Status.Conditions, chaosv1.ConditionMissedRuns)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(cond.Reason).To(Equal(chaosv1.ReasonTooManyMissedRuns))
				g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonTooManyMissedRuns)).To(HaveLen(1))
			}).WithTimeout(scheduleWait).Should(Succeed())
		})
	})

	It("reads the schedule in its time zone: 09:00 Europe/Paris is 08:00 UTC in winter", func(ctx SpecContext) {
		s := faultSchedule(ns, "paris", "0 9 * * *", "web")
		s.Spec.TimeZone = ptr.To("Europe/Paris")
		createSchedule(ctx, s)
		var next time.Time
		Eventually(func(g Gomega) {
			got := getSchedule(ctx, g, s)
			g.Expect(got.Status.NextScheduleTime).NotTo(BeNil())
			next = got.Status.NextScheduleTime.UTC()
		}).WithTimeout(scheduleWait).Should(Succeed())
		// The suite runs in December-ish or any month: check the offset the
		// zone has on that day.
		_, offset := next.In(mustLoad("Europe/Paris")).Zone()
		Expect(next.Hour()).To(Equal(9-offset/3600), "next run %s", next)
		Expect(next.Minute()).To(BeZero())

		scheduleClock.SetTime(next.Add(-time.Second))
		stayEmpty(ctx, s)
		scheduleClock.SetTime(next.Add(time.Second))
		waitRuns(ctx, s, runName(s, next))
		f := faultsOfSchedule(ctx, Default, s)[0]
		Expect(f.Annotations).To(HaveKeyWithValue(chaosv1.AnnotationScheduledTime, next.Format(time.RFC3339)))
	})

	It("creates no duplicate run after a manager restart that lost the status write", func(ctx SpecContext) {
		s := faultSchedule(ns, "restart", "* * * * *", "web")
		first := createSchedule(ctx, s)
		scheduleClock.SetTime(first.Add(time.Second))
		waitRuns(ctx, s, runName(s, first))
		Eventually(func(g Gomega) {
			g.Expect(getSchedule(ctx, g, s).Status.LastScheduleTime).NotTo(BeNil())
		}).WithTimeout(scheduleWait).Should(Succeed())

		// The manager dies; its last status write is lost: the new manager
		// sees a schedule that never ran and a Fault it created.
		restartLosingStatus(ctx, &stopMgr, s, func(st *chaosv1.FaultScheduleStatus) {
			*st = chaosv1.FaultScheduleStatus{}
		})

		Eventually(func(g Gomega) {
			got := getSchedule(ctx, g, s)
			g.Expect(got.Status.LastScheduleTime).NotTo(BeNil())
			g.Expect(got.Status.LastScheduleTime.Time).To(BeTemporally("==", first))
			g.Expect(runOutcomes(got)).To(HaveKey(runName(s, first)))
		}).WithTimeout(scheduleWait).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(faultNames(faultsOfSchedule(ctx, g, s))).To(ConsistOf(runName(s, first)))
		}, "1s", "100ms").Should(Succeed())
		scheduleClock.SetTime(first.Add(minute + time.Second))
		waitRuns(ctx, s, runName(s, first), runName(s, first.Add(minute)))
	})

	It("requeues exactly at the next run time", func(ctx SpecContext) {
		s := faultSchedule(ns, "requeue", "*/5 * * * *", "web")
		s.Spec.Suspend = true // the manager's reconciler stays out of the way
		createSchedule(ctx, s)
		got := getSchedule(ctx, Default, s)
		// A fresh reconciler without the suite's requeue cap, called directly.
		r := &controllers.FaultScheduleReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: discardRecorder{}, Clock: scheduleClock}
		now := got.CreationTimestamp.Add(10 * time.Second)
		scheduleClock.SetTime(now)
		updateSpec(ctx, s, func(spec *chaosv1.FaultScheduleSpec) { spec.Suspend = false })
		next := now.Truncate(5 * minute).Add(5 * minute)
		// Retried only when the status patch raced the manager's reconciler.
		Eventually(func(g Gomega) {
			res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(s)})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.RequeueAfter).To(Equal(next.Sub(now)))
		}).WithTimeout(scheduleWait).Should(Succeed())
	})

	It("leaves alone a Fault that squats a run's name, and records the run as NameConflict", func(ctx SpecContext) {
		s := faultSchedule(ns, "squatted", "* * * * *", "web")
		first := createSchedule(ctx, s)
		squatter := networkFault(ns, runName(s, first), "web")
		squatter.Spec.DryRun = true
		Expect(k8sClient.Create(ctx, squatter)).To(Succeed())
		scheduleClock.SetTime(first.Add(time.Second))
		Eventually(func(g Gomega) {
			got := getSchedule(ctx, g, s)
			g.Expect(got.Status.Runs).To(ConsistOf(And(
				HaveField("FaultName", squatter.Name),
				HaveField("Outcome", chaosv1.RunFailed),
				HaveField("Reason", chaosv1.ReasonNameConflict))))
			g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonNameConflict)).To(HaveLen(1))
		}).WithTimeout(scheduleWait).Should(Succeed())
		got := getFault(ctx, squatter)(Default)
		Expect(metav1.GetControllerOf(got)).To(BeNil(), "the squatter was adopted")
		Expect(got.Labels).NotTo(HaveKey(chaosv1.LabelSchedule))
		// The next run is not blocked by it.
		scheduleClock.SetTime(first.Add(minute + time.Second))
		waitRuns(ctx, s, runName(s, first.Add(minute)))
	})

	It("records a run whose Fault someone deleted as Deleted", func(ctx SpecContext) {
		s := faultSchedule(ns, "deleted", "* * * * *", "web")
		s.Spec.FaultTemplate.Spec.DryRun = false
		first := createSchedule(ctx, s)
		scheduleClock.SetTime(first.Add(time.Second))
		waitRuns(ctx, s, runName(s, first))
		f := &faultsOfSchedule(ctx, Default, s)[0]
		waitPhase(ctx, f, chaosv1.FaultRunning)
		Expect(k8sClient.Delete(ctx, f)).To(Succeed())
		confirmTeardown(ctx, f)
		Eventually(func(g Gomega) {
			got := getSchedule(ctx, g, s)
			g.Expect(runOutcomes(got)).To(HaveKeyWithValue(f.Name, chaosv1.RunDeleted))
			g.Expect(got.Status.Active).To(BeEmpty())
		}).WithTimeout(scheduleWait).Should(Succeed())
	})

	Describe("refusals", func() {
		It("refuses a schedule in a protected namespace: condition, Event, no Fault", func(ctx SpecContext) {
			s := faultSchedule("kube-public", fmt.Sprintf("protected-%d", nsCounter.Add(1)), "* * * * *", "web")
			first := createSchedule(ctx, s)
			Eventually(func(g Gomega) {
				cond := meta.FindStatusCondition(getSchedule(ctx, g, s).Status.Conditions, chaosv1.ConditionScheduleReady)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(cond.Reason).To(Equal(chaosv1.ReasonProtectedNamespace))
				g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonProtectedNamespace)).To(HaveLen(1))
			}).WithTimeout(scheduleWait).Should(Succeed())
			scheduleClock.SetTime(first.Add(2*minute + time.Second))
			stayEmpty(ctx, s)
		})

		DescribeTable("ends a schedule the CRD cannot check in a terminal status, with an Event and no Fault",
			func(ctx SpecContext, cron, tz, reason string) {
				s := faultSchedule(ns, "bad", cron, "web")
				if tz != "" {
					s.Spec.TimeZone = ptr.To(tz)
				}
				first := createSchedule(ctx, s)
				Eventually(func(g Gomega) {
					cond := meta.FindStatusCondition(getSchedule(ctx, g, s).Status.Conditions, chaosv1.ConditionScheduleReady)
					g.Expect(cond).NotTo(BeNil())
					g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
					g.Expect(cond.Reason).To(Equal(reason))
					g.Expect(scheduleEvents(ctx, g, s, reason)).To(HaveLen(1))
				}).WithTimeout(scheduleWait).Should(Succeed())
				scheduleClock.SetTime(first.Add(2*minute + time.Second))
				stayEmpty(ctx, s)

				// Terminal: the reconciler does not retry it.
				r := &controllers.FaultScheduleReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: discardRecorder{}, Clock: scheduleClock}
				_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(s)})
				Expect(errors.Is(err, reconcile.TerminalError(nil))).To(BeTrue(), "error %v is not terminal", err)
			},
			Entry("minute out of range", "61 * * * *", "", chaosv1.ReasonInvalidSchedule),
			Entry("a date that never comes", "0 0 30 2 *", "", chaosv1.ReasonInvalidSchedule),
			Entry("an unknown time zone", "* * * * *", "Mars/Olympus_Mons", chaosv1.ReasonInvalidTimeZone),
		)

		It("stops with FaultRejected when the API server refuses the Fault the template makes", func(ctx SpecContext) {
			s := faultSchedule(ns, "rejected", "* * * * *", "web")
			s.Spec.FaultTemplate.Metadata.Annotations = map[string]string{"not a key!": "x"}
			first := createSchedule(ctx, s)
			scheduleClock.SetTime(first.Add(time.Second))
			Eventually(func(g Gomega) {
				got := getSchedule(ctx, g, s)
				cond := meta.FindStatusCondition(got.Status.Conditions, chaosv1.ConditionScheduleReady)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(cond.Reason).To(Equal(chaosv1.ReasonFaultRejected))
				g.Expect(got.Status.Runs).To(ConsistOf(And(
					HaveField("FaultName", runName(s, first)),
					HaveField("Outcome", chaosv1.RunFailed),
					HaveField("Reason", chaosv1.ReasonFaultRejected))))
				g.Expect(scheduleEvents(ctx, g, s, chaosv1.ReasonFaultRejected)).To(HaveLen(1))
			}).WithTimeout(scheduleWait).Should(Succeed())
			scheduleClock.SetTime(first.Add(2*minute + time.Second))
			stayEmpty(ctx, s)
		})
	})
})
