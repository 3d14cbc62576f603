package app

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// stopCmd stops Faults by deleting them; with --wait it returns once the
// manager and the agents confirmed teardown and the Faults are gone.
func stopCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("stop")
	wait := fs.Bool("wait", false, "wait until the Fault is gone (teardown confirmed)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up waiting after this long")
	names, err := parse(fs, args)
	if err != nil {
		return 2
	}
	if len(names) == 0 {
		fmt.Fprintln(a.io.Stderr, "error: stop needs the name of a Fault")
		return 2
	}
	cl, err := a.kube.connect()
	if err != nil {
		return a.fail(err)
	}
	status := 0
	for _, name := range names {
		f := &chaosv1.Fault{}
		f.Namespace, f.Name = cl.namespace, name
		if err := cl.c.Delete(ctx, f); err != nil {
			status = a.fail(fmt.Errorf("stop fault %s in %s: %w", name, cl.namespace, err))
			continue
		}
		fmt.Fprintf(a.io.Stdout, "fault/%s stopping\n", name)
		if !*wait {
			continue
		}
		if err := waitGone(ctx, cl, client.ObjectKeyFromObject(f), *timeout); err != nil {
			status = a.fail(err)
			continue
		}
		fmt.Fprintf(a.io.Stdout, "fault/%s stopped and removed\n", name)
	}
	return status
}

// waitGone polls until the Fault no longer exists.
func waitGone(ctx context.Context, cl *cluster, key client.ObjectKey, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cl.c.Get(ctx, key, &chaosv1.Fault{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for fault %s to be removed: %w (last error: %v)", key.Name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
