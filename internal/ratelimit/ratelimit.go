// Package ratelimit holds the controllers' retry policy.
package ratelimit

import (
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// MaxRetryDelay caps the per-object backoff after reconcile errors. The
// default (1000 s) would let a Fault whose teardown hit a few conflicts in a
// row wait minutes for its next look: a chaos experiment must end on time.
const MaxRetryDelay = 2 * time.Second

// Controller is the retry policy of Temblor's controllers: exponential from
// 5 ms per object, capped at MaxRetryDelay.
func Controller() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, MaxRetryDelay)
}
