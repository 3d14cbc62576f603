// Command kubectl-temblor is temblorctl as a kubectl plugin: installed on
// the PATH it answers `kubectl temblor run|get|describe|stop|validate|exec`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(app.Main(context.Background(), "kubectl temblor", os.Args[1:], app.IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Signals: sigs,
	}))
}
