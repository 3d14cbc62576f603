package app

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// getCmd lists the Faults of the namespace, or shows the named ones.
func getCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("get")
	names, err := parse(fs, args)
	if err != nil {
		return 2
	}
	cl, err := a.kube.connect()
	if err != nil {
		return a.fail(err)
	}
	var faults []chaosv1.Fault
	if len(names) == 0 {
		var list chaosv1.FaultList
		if err := cl.c.List(ctx, &list, client.InNamespace(cl.namespace)); err != nil {
			return a.fail(fmt.Errorf("list faults in %s: %w", cl.namespace, err))
		}
		faults = list.Items
		if len(faults) == 0 {
			fmt.Fprintf(a.io.Stderr, "No faults found in namespace %s.\n", cl.namespace)
			return 0
		}
	}
	for _, n := range names {
		f := chaosv1.Fault{}
		if err := cl.c.Get(ctx, client.ObjectKey{Namespace: cl.namespace, Name: n}, &f); err != nil {
			return a.fail(fmt.Errorf("get fault %s in %s: %w", n, cl.namespace, err))
		}
		faults = append(faults, f)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.io.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tACTION\tPHASE\tTARGETS\tLEFT\tAGE")
	for i := range faults {
		f := &faults[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", f.Name, action(f), phase(f), f.Status.TargetCount, timeLeft(f, now), age(f.CreationTimestamp, now))
	}
	if err := tw.Flush(); err != nil {
		return a.fail(fmt.Errorf("write table: %w", err))
	}
	return 0
}
