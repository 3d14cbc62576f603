package app_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/temblor-dev/temblor/injector/netns"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/testutil"
)

const dropFault = `apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata:
  name: drop-all
spec:
  selector:
    matchLabels: {app: web}
  duration: %s
  network:
    type: Drop
    probability: "%s"
`

const refuseFault = `apiVersion: chaos.temblor.dev/v1alpha1
kind: Fault
metadata:
  name: refuse
spec:
  selector:
    podNames: [db-0]
  duration: %s
  syscall:
    syscalls: [connect]
    errno: ECONNREFUSED
`

// pingClient is a command that sends "ping" to host:port and prints the reply,
// giving up after 3 seconds. host may be "$TEMBLOR_HOST_ADDR": bash expands
// it from the environment exec gives the command.
func pingClient(host, port string) []string {
	script := fmt.Sprintf(`exec 3<>/dev/tcp/%s/%s && echo ping >&3 && read -r line <&3 && echo "reply=$line"`, host, port)
	return []string{"timeout", "3", "bash", "-c", script}
}

func TestExecNetworkDrop(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	port := echoServer(t)

	for _, tc := range []struct {
		probability string
		wantReply   bool
	}{{"100", false}, {"0", true}} {
		t.Run("probability-"+tc.probability, func(t *testing.T) {
			fault := writeFile(t, "fault.yaml", fmt.Sprintf(dropFault, "30s", tc.probability))
			args := append([]string{"exec", "-f", fault, "--"}, pingClient("$TEMBLOR_HOST_ADDR", port)...)
			r := temblorctl(t.Context(), t, nil, args...)
			gotReply := strings.Contains(r.stdout, "reply=pong")
			if gotReply != tc.wantReply {
				t.Fatalf("reply received: %v, want %v (exit %d)", gotReply, tc.wantReply, r.code)
			}
			if tc.wantReply && r.code != 0 || !tc.wantReply && r.code == 0 {
				t.Errorf("exit status %d does not match the outcome", r.code)
			}
			if !strings.Contains(r.stderr, "selector is ignored in local mode") {
				t.Errorf("no notice that the selector is ignored")
			}
			if !tc.wantReply && !regexp.MustCompile(`dropped [1-9]`).MatchString(r.stderr) {
				t.Errorf("summary shows no dropped packet")
			}
			checkCleanedUp(t, r.stderr)
		})
	}
}

func TestExecSyscallRefused(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	port := echoServer(t)
	fault := writeFile(t, "fault.yaml", fmt.Sprintf(refuseFault, "30s"))
	r := temblorctl(t.Context(), t, nil, append([]string{"exec", "-f", fault, "--syscall-backend", "cgroup", "--"}, pingClient("127.0.0.1", port)...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "Connection refused") {
		t.Fatalf("want a refused connection, got exit %d", r.code)
	}
	// The same text as the agent's status (injector/agent syscall spec).
	if want := "via connect cgroup connect4,connect6 (only AF_INET and AF_INET6 sockets)\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("exec names the attachment differently from status: stderr lacks %q:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, "syscalls: matched 1, failed 1") {
		t.Errorf("summary lacks the failed connect")
	}
	checkCleanedUp(t, r.stderr)
}

func TestExecExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	for name, manifest := range map[string]string{
		"network": fmt.Sprintf(dropFault, "30s", "100"),
		"syscall": fmt.Sprintf(refuseFault, "30s"),
	} {
		t.Run(name, func(t *testing.T) {
			fault := writeFile(t, "fault.yaml", manifest)
			r := temblorctl(t.Context(), t, nil, "exec", "-f", fault, "--", "sh", "-c", "exit 7")
			if r.code != 7 {
				t.Fatalf("exit status %d, want 7", r.code)
			}
			checkCleanedUp(t, r.stderr)
		})
	}
}

// TestExecDurationEnds checks that the fault is detached when its duration
// ends while the command goes on, un-faulted.
func TestExecDurationEnds(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	port := echoServer(t)
	fault := writeFile(t, "fault.yaml", fmt.Sprintf(refuseFault, "1s"))
	script := fmt.Sprintf("sleep 1.5; exec 3<>/dev/tcp/127.0.0.1/%s && echo connected", port)
	r := temblorctl(t.Context(), t, nil, "exec", "-f", fault, "--", "bash", "-c", script)
	if r.code != 0 || !strings.Contains(r.stdout, "connected") {
		t.Fatalf("want a connection after the fault ended, got exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "(duration ended)") {
		t.Errorf("summary does not say the duration ended")
	}
	checkCleanedUp(t, r.stderr)
}

func TestExecForwardsSignals(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	fault := writeFile(t, "fault.yaml", fmt.Sprintf(refuseFault, "30s"))
	sigs := make(chan os.Signal, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		sigs <- syscall.SIGTERM
	}()
	start := time.Now()
	r := temblorctl(t.Context(), t, sigs, "exec", "-f", fault, "--", "sleep", "30")
	if r.code != 128+int(syscall.SIGTERM) || time.Since(start) > 10*time.Second {
		t.Fatalf("exit status %d after %s, want %d soon", r.code, time.Since(start), 128+int(syscall.SIGTERM))
	}
	checkCleanedUp(t, r.stderr)
}

// TestExecExistingNetns runs a command in a namespace of the caller's, with
// the fault on that namespace's interfaces.
func TestExecExistingNetns(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	pair := testutil.NewVethPair(t)
	port := echoServerIn(t, pair.B)
	for _, tc := range []struct {
		probability string
		wantReply   bool
	}{{"100", false}, {"0", true}} {
		fault := writeFile(t, "fault.yaml", fmt.Sprintf(dropFault, "30s", tc.probability))
		r := temblorctl(t.Context(), t, nil, append([]string{"exec", "-f", fault, "--netns", pair.A, "--"}, pingClient(pair.B4.String(), port)...)...)
		if got := strings.Contains(r.stdout, "reply=pong"); got != tc.wantReply {
			t.Fatalf("probability %s: reply received %v, want %v", tc.probability, got, tc.wantReply)
		}
	}
}

func TestExecUsage(t *testing.T) {
	if r := temblorctl(t.Context(), t, nil, "exec", "-f", "x.yaml"); r.code != 2 {
		t.Errorf("exec without a command: exit %d, want 2", r.code)
	}
	fault := writeFile(t, "fault.yaml", fmt.Sprintf(refuseFault, "30s"))
	if os.Geteuid() == 0 {
		if r := temblorctl(t.Context(), t, nil, "exec", "-f", fault, "--", "/nonexistent/cmd"); r.code != 127 || strings.Contains(r.stderr, "running") {
			t.Errorf("exec of a missing command: exit %d, want 127 before anything is attached", r.code)
		}
		return
	}
	if r := temblorctl(t.Context(), t, nil, "exec", "-f", fault, "--", "true"); r.code != 1 || !strings.Contains(r.stderr, "needs root") {
		t.Errorf("exec as non-root: exit %d, stderr %q", r.code, r.stderr)
	}
}

// checkCleanedUp checks that nothing of the run is left: its veth (the
// host address it announced), netns and cgroup directories of this process.
func checkCleanedUp(t *testing.T, stderr string) {
	t.Helper()
	if m := regexp.MustCompile(`TEMBLOR_HOST_ADDR=10\.213\.(\d+)\.1`).FindStringSubmatch(stderr); m != nil {
		if _, err := netlink.LinkByName("tbx" + m[1]); err == nil {
			t.Errorf("veth tbx%s still exists", m[1])
		}
	}
	prefix := fmt.Sprintf("temblor-exec-%d-", os.Getpid())
	if left, _ := filepath.Glob("/run/netns/" + prefix + "*"); len(left) > 0 {
		t.Errorf("network namespaces left: %v", left)
	}
	root, err := sysfault.CgroupV2Root()
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(root, prefix+"*")); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
	if left := testutil.WaitNoOwnTemblorBPF(t, testutil.ReleaseGrace); len(left) > 0 {
		t.Errorf("Temblor BPF objects left: %v", left)
	}
}

// echoServer answers "pong" to each line on every host address, so that a
// fresh namespace reaches it through its veth; it returns the port.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln)
}

// echoServerIn is echoServer inside the network namespace at nsPath.
func echoServerIn(t *testing.T, nsPath string) string {
	t.Helper()
	var ln net.Listener
	err := netns.Do(nsPath, func() (err error) {
		ln, err = net.Listen("tcp4", "0.0.0.0:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln)
}

func serve(t *testing.T, ln net.Listener) string {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := c.Write([]byte("pong\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
