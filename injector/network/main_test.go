package network

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Environment of the helper process that TestSIGKILL re-executes.
const (
	helperNSEnv     = "TB_NETFAULT_HELPER_NS"
	helperMethodEnv = "TB_NETFAULT_HELPER_METHOD"
)

func TestMain(m *testing.M) {
	if ns := os.Getenv(helperNSEnv); ns != "" {
		os.Exit(helperMain(ns, os.Getenv(helperMethodEnv)))
	}
	os.Exit(m.Run())
}

// helperMain attaches a drop-everything fault, says READY on stdout and
// waits to be killed.
func helperMain(ns, method string) int {
	cfg := Config{Action: ActionDrop, Direction: Both, ProbabilityBasisPoints: ProbabilityOne}
	switch method {
	case "tcx":
		cfg.Method, cfg.XDP = MethodTCX, XDPAuto
	case "netlink-tc":
		cfg.Method, cfg.XDP = MethodNetlinkTC, XDPDisabled
	default:
		fmt.Fprintf(os.Stderr, "unknown method %q\n", method)
		return 2
	}
	a, err := Attach(context.Background(), ns, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "attach: %+v\n", err)
		return 1
	}
	fmt.Printf("READY %s\n", strings.Join(a.Describe(), ","))
	time.Sleep(time.Hour)
	return 0
}
