package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// statusEvents holds the Events of one FaultSchedule reconcile that only
// describe a status change (a run skipped, missed or refused). They are
// emitted once that status is written: a reconcile whose status patch
// conflicts is redone from a fresh read and decides the same again, so
// emitting them at once would announce every such decision twice. Events
// that follow a side effect (a Fault created or deleted) go out at once,
// because the retry finds the side effect done and stays silent.
type statusEvents struct {
	recorder events.EventRecorder
	pending  []func()
}

// Eventf queues an Event until flush.
func (e *statusEvents) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	e.pending = append(e.pending, func() {
		e.recorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
	})
}

// flush emits the queued Events in order.
func (e *statusEvents) flush() {
	for _, emit := range e.pending {
		emit()
	}
	e.pending = nil
}

type statusEventsKey struct{}

// withStatusEvents returns a context whose reconcile queues status Events in
// the returned buffer.
func withStatusEvents(ctx context.Context, recorder events.EventRecorder) (context.Context, *statusEvents) {
	e := &statusEvents{recorder: recorder}
	return context.WithValue(ctx, statusEventsKey{}, e), e
}

// statusRecorder is where a reconcile records an Event about a status
// change: the context's buffer, or the recorder itself outside Reconcile.
func (r *FaultScheduleReconciler) statusRecorder(ctx context.Context) events.EventRecorder {
	if e, ok := ctx.Value(statusEventsKey{}).(*statusEvents); ok {
		return e
	}
	return r.Recorder
}
