// Command temblorctl drives Temblor Faults: run, get, describe, stop and
// validate them on a cluster (kubeconfig handling like kubectl), or exec a
// local command under a Fault with no cluster at all:
//
//	temblorctl run -f fault.yaml --wait        # follow it; Ctrl-C stops it (exit 130)
//	temblorctl get / describe NAME / stop NAME --wait
//	temblorctl validate -f a.yaml -f b.yaml    # server-side dry run: the CRD's rules answer
//	sudo temblorctl exec -f fault.yaml -- ./integration-test
//
// In exec, a syscall fault applies to COMMAND through a fresh cgroup, a
// network fault through a fresh network namespace whose eth0
// (10.213.N.2/30) reaches the host at 10.213.N.1, given to COMMAND as
// TEMBLOR_HOST_ADDR; --netns PATH uses an existing namespace instead.
// exec exits with COMMAND's status.
package main

import (
	"os"

	"github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

func main() { os.Exit(app.RunProcess("temblorctl")) }
