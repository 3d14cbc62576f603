package syscall

import (
	"context"
	"fmt"
	"os"
	"time"
)

// helperAttach attaches a connect fault to the cgroup in TB_CGROUP, says
// "ready" on stdout, and waits to be killed: the test checks that the
// kernel detaches everything when the owning process dies.
func helperAttach() int {
	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{os.Getenv("TB_CGROUP")}},
		Config{Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: 10000})
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach:", err)
		return 2
	}
	fmt.Printf("ready %s\n", a)
	for {
		time.Sleep(time.Hour)
	}
}

// servedBy returns how a serves syscall (the zero Served if it does not).
func servedBy(a *Attachment, syscall string) Served {
	for _, s := range a.Served() {
		if s.Syscall == syscall {
			return s
		}
	}
	return Served{}
}
