//go:build demo

package app_test

import (
	"os"
	"testing"
	"time"
)

// TestDemoCluster keeps the test cluster (envtest, the manager, the fake
// agent) up for a demo when TEMBLORCTL_DEMO names a file: it writes the
// kubeconfig's path there and serves until the file is removed. It is built
// only with the demo tag:
//
//	TEMBLORCTL_DEMO=/tmp/demo go test -tags demo -run TestDemoCluster -timeout 1h ./cmd/temblorctl/app &
//	temblorctl --kubeconfig "$(cat /tmp/demo)" run -f fault.yaml --wait
func TestDemoCluster(t *testing.T) {
	file := os.Getenv("TEMBLORCTL_DEMO")
	if file == "" {
		t.Skip("set TEMBLORCTL_DEMO to serve a demo cluster")
	}
	tc := startCluster(t)
	if err := os.WriteFile(file, []byte(tc.kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(file); err != nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
