package app_test

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/temblor-dev/temblor/cmd/temblorctl/app"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a command
// and its children's copy goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is one in-process run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// temblorctl runs the command line in-process with args, no terminal and
// the given signals (may be nil).
func temblorctl(ctx context.Context, t *testing.T, signals chan os.Signal, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	no := false
	code := app.Main(ctx, "temblorctl", args, app.IO{
		Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errb, Signals: signals, Terminal: &no,
	})
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	t.Logf("temblorctl %q → exit %d\n--- stdout:\n%s--- stderr:\n%s", args, code, r.stdout, r.stderr)
	return r
}

// writeFile writes content to a fresh file in the test's directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
