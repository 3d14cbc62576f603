// Command kubectl-temblor is temblorctl as a kubectl plugin: installed on
// the PATH it answers `kubectl temblor run|get|describe|stop|validate|exec`.
package main

import (
	"os"

	"github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

func main() { os.Exit(app.RunProcess("kubectl temblor")) }
