// Command cluster runs a real single-node Kubernetes cluster on this machine
// as Temblor's test bed and demo: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd + runc, a bridge CNI and a kubelet. No Docker, no
// registry: images are built locally with go-containerregistry and imported
// into containerd.
//
//	go run ./hack/cluster up           start (idempotent), print the kubeconfig path
//	go run ./hack/cluster down         stop, clean up, print the host hygiene diff
//	go run ./hack/cluster status       components, node, and hygiene diff so far
//	go run ./hack/cluster load-images  build and import pause, manager, agent, e2e app (+ Prometheus if built)
//	go run ./hack/cluster deploy       kubectl apply -k an overlay of config/default (+ config/agent)
//	go run ./hack/cluster kubeconfig   print the kubeconfig path
//	go run ./hack/cluster stop NAME... stop control-plane components (etcd, kube-apiserver, ...); up restarts them
//
// Everything lives under one state directory (TEMBLOR_CLUSTER_DIR, default
// /var/lib/temblor-cluster): certificates, etcd data, containerd root and
// state, kubelet root, pod logs, CNI IPAM, logs of every component. containerd
// and kubelet run in a private mount namespace (held by a tiny holder process)
// where the sysctl files kubelet and the bridge plugin write to are covered by
// bind-mounted plain files, so the machine's kernel settings never change.
//
// Host-wide things that cannot be moved under the state dir (the cni0 bridge
// carrying the node address, the pods' veths, kubepods cgroups, iptables
// chains, /var/log/containers, /var/lib/cni, /run/containerd, /run/netns
// entries) are recorded in a baseline snapshot taken before `up` touches
// anything, and `down` removes whatever is new and prints before/after.
//
// Networking: pods get 10.244.0.0/24 on cni0 with no masquerade and host
// forwarding left as found (off here), so no pod traffic can leave the
// machine. The node and the API server live on 10.244.0.1, the pods' gateway
// on cni0, which `up` creates before the CNI plugin would (this kernel has no
// dummy interfaces; a bridge is needed anyway). There is no kube-proxy and no DNS: ClusterIP Services
// do not route; in-cluster clients get KUBERNETES_SERVICE_HOST pointed at the
// node address by the deploy overlay, and tests talk to pod IPs.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	nodeName      = "temblor-node"
	bridgeName    = "cni0"
	nodeIP        = "10.244.0.1" // the pods' gateway on cni0
	nodeLink      = bridgeName
	podSubnet     = "10.244.0.0/24"
	podGateway    = "10.244.0.1"
	serviceCIDR   = "10.96.0.0/16"
	serviceIP     = "10.96.0.1"
	apiPort       = 6443
	etcdPort      = 12379
	etcdPeerPort  = 12380
	pauseImage    = "registry.k8s.io/pause:3.10"
	k8sVersion    = "v1.34.2"
	ctrNamespace  = "k8s.io"
	apiserverHost = nodeIP
)

var k8sComponents = []string{"etcd", "kube-apiserver", "kubectl", "kubelet", "kube-scheduler", "kube-controller-manager"}

// paths under the state directory
type dirs struct {
	root string
}

func (d dirs) p(elem ...string) string { return filepath.Join(append([]string{d.root}, elem...)...) }
func (d dirs) pki(f string) string     { return d.p("pki", f) }
func (d dirs) log(name string) string  { return d.p("logs", name+".log") }
func (d dirs) pid(name string) string  { return d.p("run", name+".pid") }
func (d dirs) kubeconfig() string      { return d.p("kubeconfig") }
func (d dirs) ctrSock() string         { return d.p("containerd", "containerd.sock") }
func (d dirs) baseline() string        { return d.p("baseline.json") }

var state = dirs{root: envOr("TEMBLOR_CLUSTER_DIR", "/var/lib/temblor-cluster")}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go run ./hack/cluster up|down|status|load-images|deploy|kubeconfig|stop NAME...")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	// Internal entry point of the mount-namespace holder (re-exec of ourselves).
	if os.Args[1] == holderArg {
		runHolder()
		return
	}
	if os.Geteuid() != 0 {
		fatalf("must run as root (it starts a kubelet and containerd)")
	}
	start := time.Now()
	var err error
	switch os.Args[1] {
	case "up":
		err = up()
	case "down":
		err = down()
	case "status":
		err = status()
	case "load-images":
		err = loadImages()
	case "deploy":
		err = deploy()
	case "kubeconfig":
		fmt.Println(state.kubeconfig())
	case "stop":
		err = stop(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fatalf("%s failed after %s: %v", os.Args[1], time.Since(start).Round(time.Millisecond), err)
	}
	logf("%s done in %s", os.Args[1], time.Since(start).Round(time.Millisecond))
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "cluster: "+format+"\n", a...)
	os.Exit(1)
}

// repoRoot finds the Temblor module root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/temblor-dev/temblor") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the temblor repository")
		}
		dir = parent
	}
}
