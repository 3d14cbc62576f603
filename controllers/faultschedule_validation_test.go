package controllers_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/internal/envtestutil"
)

// discardRecorder is an events.EventRecorder that drops every Event, for
// reconcilers called directly by a spec.
type discardRecorder struct{}

func (discardRecorder) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...any) {
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	Expect(err).NotTo(HaveOccurred())
	return loc
}

var _ = Describe("FaultSchedule validation at apply", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	DescribeTable("rejects what the CRD can check",
		func(ctx SpecContext, mutate func(*chaosv1.FaultSchedule), msg string) {
			s := faultSchedule(ns, "invalid", "* * * * *", "web")
			mutate(s)
			err := k8sClient.Create(ctx, s)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "create returned %v", err)
			Expect(err.Error()).To(ContainSubstring(msg))
		},
		Entry("not a cron expression", func(s *chaosv1.FaultSchedule) { s.Spec.Schedule = "every minute please" }, "schedule must be five cron fields"),
		Entry("four fields", func(s *chaosv1.FaultSchedule) { s.Spec.Schedule = "* * * *" }, "schedule must be five cron fields"),
		Entry("six fields", func(s *chaosv1.FaultSchedule) { s.Spec.Schedule = "0 * * * * *" }, "schedule must be five cron fields"),
		Entry("@every", func(s *chaosv1.FaultSchedule) { s.Spec.Schedule = "@every 1m" }, "schedule must be five cron fields"),
		Entry("a TZ prefix", func(s *chaosv1.FaultSchedule) { s.Spec.Schedule = "CRON_TZ=UTC * * * * *" }, "spec.timeZone"),
		Entry("timeZone Local", func(s *chaosv1.FaultSchedule) { s.Spec.TimeZone = ptr.To("Local") }, "timeZone Local"),
		Entry("a time zone that is a path", func(s *chaosv1.FaultSchedule) { s.Spec.TimeZone = ptr.To("../../etc/passwd") }, "spec.timeZone"),
		Entry("an unknown concurrency policy", func(s *chaosv1.FaultSchedule) { s.Spec.ConcurrencyPolicy = "Sometimes" }, "concurrencyPolicy"),
		Entry("a negative history limit", func(s *chaosv1.FaultSchedule) { s.Spec.FailedRunsHistoryLimit = ptr.To[int32](-1) }, "failedRunsHistoryLimit"),
		Entry("a zero starting deadline", func(s *chaosv1.FaultSchedule) { s.Spec.StartingDeadlineSeconds = ptr.To[int64](0) }, "startingDeadlineSeconds"),
		Entry("a template the Fault CRD rejects: Fixed without count",
			func(s *chaosv1.FaultSchedule) { s.Spec.FaultTemplate.Spec.Mode = chaosv1.ModeFixed }, "count is required when mode is Fixed"),
		Entry("a template with an empty selector, which would hit every pod",
			func(s *chaosv1.FaultSchedule) { s.Spec.FaultTemplate.Spec.Selector = chaosv1.PodSelector{} }, "selector must name pods"),
		Entry("a template with a 25h duration",
			func(s *chaosv1.FaultSchedule) { s.Spec.FaultTemplate.Spec.Duration.Duration = 25 * time.Hour }, "duration must be between 1s and 24h"),
		Entry("a template without action",
			func(s *chaosv1.FaultSchedule) { s.Spec.FaultTemplate.Spec.Network = nil }, "spec.faultTemplate.spec"),
		Entry("a template label the controller owns",
			func(s *chaosv1.FaultSchedule) {
				s.Spec.FaultTemplate.Metadata.Labels = map[string]chaosv1.SelectorValue{chaosv1.LabelSchedule: "other"}
			}, "set by the schedule controller"),
		Entry("a template label with a bad key",
			func(s *chaosv1.FaultSchedule) {
				s.Spec.FaultTemplate.Metadata.Labels = map[string]chaosv1.SelectorValue{"bad key": "x"}
			}, "label keys"),
		Entry("a name too long for its Faults' names",
			func(s *chaosv1.FaultSchedule) { s.Name = longName(241) }, "at most 240 characters"),
	)

	It("accepts the descriptors and defaults the policy and limits", func(ctx SpecContext) {
		for _, expr := range []string{"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "*/15 9-17 * * MON-FRI"} {
			s := faultSchedule(ns, "", expr, "web")
			s.GenerateName = "ok-"
			s.Spec.Suspend = true
			Expect(k8sClient.Create(ctx, s)).To(Succeed(), expr)
			Expect(s.Spec.ConcurrencyPolicy).To(Equal(chaosv1.ConcurrencyForbid))
			Expect(*s.Spec.SuccessfulRunsHistoryLimit).To(BeEquivalentTo(3))
			Expect(*s.Spec.FailedRunsHistoryLimit).To(BeEquivalentTo(1))
			Expect(k8sClient.Delete(ctx, s)).To(Succeed())
		}
	})
})

func longName(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

var _ = Describe("FaultSchedule sample", func() {
	It("config/samples/faultschedule.yaml is accepted by the CRD", func(ctx SpecContext) {
		data, err := os.ReadFile(filepath.Join(envtestutil.CRDDir(), "..", "..", "samples", "faultschedule.yaml"))
		Expect(err).NotTo(HaveOccurred())
		s := &chaosv1.FaultSchedule{}
		Expect(yaml.UnmarshalStrict(data, s)).To(Succeed())
		s.Namespace = newNamespace(ctx)
		Expect(k8sClient.Create(ctx, s, client.DryRunAll)).To(Succeed())
	})
})
