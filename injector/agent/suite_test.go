package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/agent"
	"github.com/temblor-dev/temblor/injector/podresolve"
	"github.com/temblor-dev/temblor/injector/podresolve/podresolvetest"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/envtestutil"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// The in-process agent's node and settings: a short grace and status
// interval so that the suite runs in seconds.
const (
	nodeA          = "node-a"
	nodeB          = "node-b" // served by an agent in a child process
	testGrace      = 5 * time.Second
	statusInterval = 500 * time.Millisecond
)

var (
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client // direct, uncached
	scheme     = runtime.NewScheme()
	proxy      *cutProxy
	agentA     *agent.Agent
	cancelA    context.CancelFunc
	agentDone  sync.WaitGroup
	v2root     string // the cgroup v2 mount
	cgroupRoot string // the resolver's cgroup root
	podRoot    string // where fake pods' cgroups live
	attachLog  = &attachRecorder{at: map[string]time.Time{}}
	// hostNetNS is the node's network namespace for the resolvers: this
	// process's, since PID 1's may be unreadable in a sandbox.
	hostNetNS = "/proc/self/ns/net"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(helperEnv) != "":
		os.Exit(runHelper())
	case os.Getenv(childEnv) != "":
		os.Exit(runChildAgent(os.Getenv(childEnv)))
	case os.Getenv(leakEnv) != "":
		os.Exit(runLeakLegacy(os.Getenv(leakEnv)))
	}
	os.Exit(m.Run())
}

func TestAgent(t *testing.T) {
	testutil.RequireRoot(t)
	RegisterFailHandler(Fail)
	RunSpecs(t, "Node agent suite (envtest "+envtestutil.K8sVersion+", real BPF)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(chaosv1.AddToScheme(scheme))

	var err error
	v2root, err = sysfault.CgroupV2Root()
	if err != nil {
		skipOrFail("no cgroup v2 hierarchy: " + err.Error())
	}
	cgroupRoot = v2root
	if filepath.Base(v2root) == "unified" {
		cgroupRoot = filepath.Dir(v2root)
	}
	podRoot = podresolvetest.Root(GinkgoT(), v2root)

	assets, err := envtestutil.AssetsDir()
	if err != nil {
		skipOrFail("envtest binaries missing: " + err.Error())
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{envtestutil.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	proxy, err = newCutProxy(cfg.Host)
	Expect(err).NotTo(HaveOccurred())
	// Probe the syscall backends once, so that the first spec's attach
	// time does not include it.
	sysfault.Probe(context.Background())
	startAgentA()
})

// startAgentA runs the in-process agent for nodeA, reaching the API server
// through the cuttable proxy.
func startAgentA() {
	acfg := rest.CopyConfig(cfg)
	acfg.Host = proxy.URL()
	acfg.Timeout = 2 * time.Second
	agentA = &agent.Agent{
		NodeName:       nodeA,
		Resolver:       &podresolve.Resolver{CgroupRoot: cgroupRoot, HostNetNSPath: hostNetNS},
		SyscallBackend: sysfault.Cgroup,
		StatusInterval: statusInterval,
		APIServerGrace: testGrace,
		AttachSyscall:  attachLog.wrap(agent.AttachSyscall),
		SweepPod:       ownFakePod(podRoot),
		ContainerNamer: fakeRuntime,
	}
	mgr, err := agent.NewManager(acfg, agentA, agent.ManagerOptions{MetricsBindAddress: "0"})
	Expect(err).NotTo(HaveOccurred())
	var ctx context.Context
	ctx, cancelA = context.WithCancel(context.Background())
	agentDone.Add(1)
	go func() {
		defer GinkgoRecover()
		defer agentDone.Done()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	// Specs with deadlines a second or two away need a running agent.
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
}

var _ = AfterSuite(func() {
	if cancelA != nil {
		cancelA()
		agentDone.Wait()
	}
	if proxy != nil {
		proxy.cut()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// ownFakePod accepts the fake pods below root only: the host is shared (a
// real cluster may run on it), and an agent's start-up sweep must not touch
// other suites' pods.
func ownFakePod(root string) func(*podresolve.Pod) bool {
	return func(p *podresolve.Pod) bool { return strings.HasPrefix(p.CgroupV2Dir, root+"/") }
}

func skipOrFail(msg string) {
	if testutil.InCI() {
		Fail("CI=true: " + msg)
	}
	Skip(msg)
}

// attachRecorder notes when each target's syscall fault was attached, by
// the cgroup directory it was scoped to, and can make the Close of those
// attachments fail: the seam of the teardown-failure specs.
type attachRecorder struct {
	mu        sync.Mutex
	at        map[string]time.Time
	failClose map[string]bool
	open      map[string][]agent.Attached
}

func (r *attachRecorder) wrap(next agent.SyscallAttacher) agent.SyscallAttacher {
	return func(ctx context.Context, scope sysfault.Scope, c sysfault.Config) (agent.Attached, error) {
		att, err := next(ctx, scope, c)
		if err == nil && len(scope.CgroupPaths) > 0 {
			dir := scope.CgroupPaths[0]
			r.mu.Lock()
			r.at[dir] = time.Now()
			if r.open == nil {
				r.open = map[string][]agent.Attached{}
			}
			r.open[dir] = append(r.open[dir], att)
			r.mu.Unlock()
			return &failableAttached{Attached: att, r: r, dir: dir}, nil
		}
		return att, err
	}
}

func (r *attachRecorder) get(dir string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[dir]
	return t, ok
}

// setFailClose makes Close of the attachments scoped to dir fail (without
// closing anything) while fail is true.
func (r *attachRecorder) setFailClose(dir string, fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failClose == nil {
		r.failClose = map[string]bool{}
	}
	r.failClose[dir] = fail
}

// closeAll really closes every attachment scoped to dir, for cleanup.
func (r *attachRecorder) closeAll(dir string) {
	r.mu.Lock()
	atts := r.open[dir]
	delete(r.open, dir)
	r.failClose[dir] = false
	r.mu.Unlock()
	for _, a := range atts {
		a.Close()
	}
}

// failableAttached is a real attachment whose Close fails on demand.
type failableAttached struct {
	agent.Attached
	r   *attachRecorder
	dir string
}

func (f *failableAttached) Close() error {
	f.r.mu.Lock()
	fail := f.r.failClose[f.dir]
	f.r.mu.Unlock()
	if fail {
		return errors.New("injected close failure")
	}
	return f.Attached.Close()
}

var _ = fmt.Sprintf
