package app

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/local"
)

// pollInterval is how often run --wait and stop --wait look at the Fault.
const pollInterval = 250 * time.Millisecond

// runCmd creates a Fault and, with --wait, follows it to its end.
func runCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("run")
	file := fs.String("f", "", "Fault manifest")
	wait := fs.Bool("wait", false, "follow the Fault until it ends; exit 0 if it Succeeded, 1 if it Failed, 3 if an abort condition stopped it; Ctrl-C stops it")
	if _, err := parse(fs, args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(a.io.Stderr, "error: run needs -f FAULT.yaml")
		return 2
	}
	fault, err := local.LoadFault(*file)
	if err != nil {
		return a.fail(err)
	}
	cl, err := a.kube.connect()
	if err != nil {
		return a.fail(err)
	}
	if err := cl.setNamespace(fault); err != nil {
		return a.fail(err)
	}
	if err := cl.c.Create(ctx, fault); err != nil {
		return a.fail(fmt.Errorf("create fault %s: %w", fault.Name, err))
	}
	fmt.Fprintf(a.io.Stdout, "fault/%s created in namespace %s\n", fault.Name, fault.Namespace)
	if !*wait {
		return 0
	}
	return a.follow(ctx, cl, client.ObjectKeyFromObject(fault))
}

// setNamespace puts the Fault in the command's namespace, refusing a
// manifest whose namespace contradicts -n (as kubectl does).
func (cl *cluster) setNamespace(f *chaosv1.Fault) error {
	switch {
	case f.Namespace == "":
		f.Namespace = cl.namespace
	case cl.explicitNS && f.Namespace != cl.namespace:
		return fmt.Errorf("the manifest's namespace %q does not match the namespace %q given with -n", f.Namespace, cl.namespace)
	}
	return nil
}

// follow shows the Fault's progress until it ends, and stops it on SIGINT.
func (a *app) follow(ctx context.Context, cl *cluster, key client.ObjectKey) int {
	view := newProgress(a.io.Stdout, a.io.isTerminal())
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		f := &chaosv1.Fault{}
		err := cl.c.Get(ctx, key, f)
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(a.io.Stderr, "fault/%s was deleted before it ended\n", key.Name)
			return 1
		case err != nil && ctx.Err() != nil:
			return a.fail(ctx.Err())
		case err != nil:
			// A flaky API server is not the Fault's end: keep trying.
			fmt.Fprintf(a.io.Stderr, "warning: get fault/%s: %v\n", key.Name, err)
		default:
			view.show(f, time.Now())
			switch f.Status.Phase {
			case chaosv1.FaultSucceeded:
				view.done()
				fmt.Fprintf(a.io.Stdout, "fault/%s Succeeded: %s\n", key.Name, completion(f))
				return 0
			case chaosv1.FaultFailed:
				view.done()
				fmt.Fprintf(a.io.Stderr, "fault/%s Failed: %s\n", key.Name, completion(f))
				return 1
			case chaosv1.FaultAborted:
				if !meta.IsStatusConditionTrue(f.Status.Conditions, chaosv1.ConditionCompleted) {
					break // still tearing down
				}
				view.done()
				fmt.Fprintf(a.io.Stderr, "fault/%s Aborted: %s\n", key.Name, completion(f))
				return exitAborted
			}
		}
		select {
		case <-ctx.Done():
			view.done()
			return a.fail(ctx.Err())
		case <-a.io.Signals:
			view.done()
			return a.interrupt(ctx, cl, key)
		case <-tick.C:
		}
	}
}

// interrupt stops the followed Fault by deleting it, and returns 130 as a
// shell does for a command ended by SIGINT.
func (a *app) interrupt(ctx context.Context, cl *cluster, key client.ObjectKey) int {
	fmt.Fprintf(a.io.Stderr, "interrupted: stopping fault/%s (deleting it)\n", key.Name)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	f := &chaosv1.Fault{}
	f.Namespace, f.Name = key.Namespace, key.Name
	if err := cl.c.Delete(dctx, f); err != nil && !apierrors.IsNotFound(err) {
		fmt.Fprintf(a.io.Stderr, "error: delete fault/%s: %v\n", key.Name, err)
	} else {
		fmt.Fprintf(a.io.Stderr, "fault/%s deleted\n", key.Name)
	}
	return 130
}

// exitAborted is temblorctl run --wait's exit status for a Fault that an
// abort condition stopped: the system was hurt more than planned.
const exitAborted = 3
