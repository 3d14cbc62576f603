// Command pause is the pod sandbox process of Temblor's local test cluster
// (imported as registry.k8s.io/pause:3.10, never pulled). It holds the pod's
// namespaces: it sleeps until SIGTERM or SIGINT and reaps any child that is
// re-parented to it (it is PID 1 of pods that share their PID namespace).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		switch s {
		case syscall.SIGCHLD:
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		default:
			os.Exit(0)
		}
	}
}
