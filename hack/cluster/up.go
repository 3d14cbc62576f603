package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// up brings the cluster up. Every step checks what already exists, so running
// it twice is safe and the second run is quick.
func up() error {
	t0 := time.Now()
	step := func(name string) func() {
		s := time.Now()
		logf("-> %s", name)
		return func() { logf("   %s: %s", name, time.Since(s).Round(time.Millisecond)) }
	}

	// 0. The baseline snapshot comes before we touch anything.
	if _, err := os.Stat(state.baseline()); err != nil {
		done := step("baseline host snapshot")
		snap := takeSnapshot()
		if err := os.MkdirAll(state.root, 0o755); err != nil {
			return err
		}
		if err := snap.save(state.baseline()); err != nil {
			return err
		}
		done()
	}
	for _, d := range []string{"run", "logs", "pki", "bin", "etcd", "containerd", "kubelet", "cni/net.d", "cni/networks", "pods-logs", "deploy", "images"} {
		if err := os.MkdirAll(state.p(d), 0o755); err != nil {
			return err
		}
	}

	done := step("host packages")
	if err := ensurePackages(); err != nil {
		return err
	}
	done()

	done = step("kubernetes binaries " + k8sVersion)
	bin, err := k8sBinaries()
	if err != nil {
		return err
	}
	done()

	done = step("node address " + nodeIP + " on " + nodeLink)
	if err := ensureNodeLink(); err != nil {
		return err
	}
	done()

	done = step("certificates and configuration")
	if err := ensurePKI(); err != nil {
		return err
	}
	if err := writeConfigs(); err != nil {
		return err
	}
	done()

	done = step("etcd")
	if err := ensureDaemon("etcd", 0, func() error {
		return httpGet(fmt.Sprintf("http://127.0.0.1:%d/health", etcdPort), nil)
	}, 60*time.Second, filepath.Join(bin, "etcd"),
		"--name=temblor",
		"--data-dir="+state.p("etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", etcdPeerPort),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", etcdPeerPort),
		fmt.Sprintf("--initial-cluster=temblor=http://127.0.0.1:%d", etcdPeerPort),
		"--unsafe-no-fsync", // a throw-away test bed: speed over durability
		"--log-level=warn",
	); err != nil {
		return err
	}
	done()

	done = step("kube-apiserver")
	client, err := adminHTTPClient()
	if err != nil {
		return err
	}
	if err := ensureDaemon("kube-apiserver", 0, func() error {
		return httpGet(fmt.Sprintf("https://%s:%d/readyz", apiserverHost, apiPort), client)
	}, 120*time.Second, filepath.Join(bin, "kube-apiserver"), apiserverArgs()...); err != nil {
		return err
	}
	done()

	done = step("RBAC bootstrap")
	if err := kubectlApply(bin, rbacBootstrap); err != nil {
		return err
	}
	done()

	done = step("kube-controller-manager and kube-scheduler")
	if err := ensureDaemon("kube-controller-manager", 0, nil, 0, filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+state.p("controller-manager.kubeconfig"),
		"--authentication-kubeconfig="+state.p("controller-manager.kubeconfig"),
		"--authorization-kubeconfig="+state.p("controller-manager.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+state.pki("sa.key"),
		"--root-ca-file="+state.pki("ca.crt"),
		"--cluster-signing-cert-file="+state.pki("ca.crt"),
		"--cluster-signing-key-file="+state.pki("ca.key"),
		"--service-cluster-ip-range="+serviceCIDR,
		"--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-persistentvolume-expander",
		"--v=1",
	); err != nil {
		return err
	}
	if err := ensureDaemon("kube-scheduler", 0, nil, 0, filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig="+state.p("scheduler.kubeconfig"),
		"--authentication-kubeconfig="+state.p("scheduler.kubeconfig"),
		"--authorization-kubeconfig="+state.p("scheduler.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
		"--v=1",
	); err != nil {
		return err
	}
	done()

	done = step("mount namespace + containerd")
	if _, ok := alive("nsholder"); !ok {
		for _, n := range []string{"containerd", "kubelet"} {
			if _, ok := alive(n); ok {
				return fmt.Errorf("the mount namespace holder died while %s still runs in its namespace: run `go run ./hack/cluster down` and `up` again", n)
			}
		}
	}
	holder, err := startHolder()
	if err != nil {
		return withLog(err, "nsholder")
	}
	if err := ensureDaemon("containerd", holder, func() error {
		return run("ctr", "--address", state.ctrSock(), "version")
	}, 60*time.Second, "containerd", "--config", state.p("containerd", "config.toml")); err != nil {
		return err
	}
	done()

	done = step("pause image " + pauseImage)
	if err := ensureImages(true); err != nil {
		return err
	}
	done()

	done = step("kubelet")
	if err := ensureDaemon("kubelet", holder, func() error {
		return httpGet("http://127.0.0.1:10248/healthz", nil)
	}, 60*time.Second, filepath.Join(bin, "kubelet"),
		"--config="+state.p("kubelet", "config.yaml"),
		"--kubeconfig="+state.p("kubelet.kubeconfig"),
		"--root-dir="+state.p("kubelet"),
		"--hostname-override="+nodeName,
		"--node-ip="+nodeIP,
		"--v=1",
	); err != nil {
		return err
	}
	if err := waitFor("node "+nodeName+" Ready", 180*time.Second, func() error {
		out, err := output(filepath.Join(bin, "kubectl"), "--kubeconfig", state.kubeconfig(), "get", "node", nodeName,
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			if _, ok := alive("kubelet"); !ok {
				return fmt.Errorf("kubelet exited")
			}
			return err
		}
		if strings.TrimSpace(out) != "True" {
			return fmt.Errorf("Ready=%q", out)
		}
		return nil
	}); err != nil {
		return withLog(err, "kubelet")
	}
	done()

	logf("cluster up in %s", time.Since(t0).Round(time.Millisecond))
	fmt.Fprintf(os.Stderr, "\n  export KUBECONFIG=%s\n  kubectl get nodes   # kubectl: %s\n\n", state.kubeconfig(), filepath.Join(bin, "kubectl"))
	fmt.Println(state.kubeconfig())
	return nil
}

func withLog(err error, name string) error {
	b, _ := os.ReadFile(state.log(name))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return fmt.Errorf("%v\n--- last lines of %s:\n%s\n--- run `go run ./hack/cluster down` to clean up", err, state.log(name), strings.Join(lines, "\n"))
}

// ensurePackages installs containerd, runc, the CNI plugins, iptables and
// conntrack from apt when they are missing.
func ensurePackages() error {
	need := map[string]string{
		"containerd":              "containerd",
		"ctr":                     "containerd",
		"runc":                    "runc",
		"/usr/lib/cni/bridge":     "containernetworking-plugins",
		"/usr/lib/cni/host-local": "containernetworking-plugins",
		"/usr/lib/cni/loopback":   "containernetworking-plugins",
		"iptables":                "iptables",
		"conntrack":               "conntrack",
		"nsenter":                 "util-linux",
		"ip":                      "iproute2",
	}
	missing := map[string]bool{}
	for file, pkg := range need {
		if strings.HasPrefix(file, "/") {
			if _, err := os.Stat(file); err != nil {
				missing[pkg] = true
			}
		} else if _, err := exec.LookPath(file); err != nil {
			missing[pkg] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var pkgs []string
	for p := range missing {
		pkgs = append(pkgs, p)
	}
	logf("installing %s", strings.Join(pkgs, " "))
	// The packaged containerd service must not start on its own (it would
	// claim /run/containerd and /var/lib/containerd); without systemd it
	// does not, and policy-rc.d forbids it where there is an init system.
	if _, err := os.Stat("/usr/sbin/policy-rc.d"); err != nil {
		os.WriteFile("/usr/sbin/policy-rc.d", []byte("#!/bin/sh\nexit 101\n"), 0o755)
		defer os.Remove("/usr/sbin/policy-rc.d")
	}
	upd := exec.Command("apt-get", "update")
	upd.Stdout, upd.Stderr = os.Stderr, os.Stderr
	if err := upd.Run(); err != nil {
		return err
	}
	inst := exec.Command("apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	inst.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	inst.Stdout, inst.Stderr = os.Stderr, os.Stderr
	return inst.Run()
}

// k8sBinaries builds (first time) or finds the cached Kubernetes binaries.
func k8sBinaries() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "hack", "build-k8s.sh"), k8sComponents...)
	cmd.Stderr = os.Stderr
	// two cores: keep the compiler from starving the machine
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2", "GOFLAGS=-p=2 -mod=readonly")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-k8s.sh: %v", err)
	}
	bin := strings.TrimSpace(string(out))
	if i := strings.LastIndex(bin, "\n"); i >= 0 {
		bin = bin[i+1:]
	}
	return bin, nil
}

func kubectlBin() (string, error) {
	bin, err := k8sBinaries()
	if err != nil {
		return "", err
	}
	return filepath.Join(bin, "kubectl"), nil
}

// ensureNodeLink creates the cni0 bridge with the node address (the pods'
// gateway), so that the API server and kubelet can bind to it before the
// first pod exists. The bridge CNI plugin adopts it as is.
func ensureNodeLink() error {
	if _, err := os.Stat("/sys/class/net/" + nodeLink); err != nil {
		if err := run("ip", "link", "add", nodeLink, "type", "bridge"); err != nil {
			return err
		}
	}
	out, _ := output("ip", "-o", "addr", "show", "dev", nodeLink)
	if !strings.Contains(out, " "+nodeIP+"/24") {
		if err := run("ip", "addr", "add", nodeIP+"/24", "dev", nodeLink); err != nil {
			return err
		}
	}
	return run("ip", "link", "set", nodeLink, "up")
}

func apiserverArgs() []string {
	return []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		"--bind-address=" + nodeIP,
		"--advertise-address=" + nodeIP,
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file=" + state.pki("apiserver.crt"),
		"--tls-private-key-file=" + state.pki("apiserver.key"),
		"--client-ca-file=" + state.pki("ca.crt"),
		"--service-account-key-file=" + state.pki("sa.pub"),
		"--service-account-signing-key-file=" + state.pki("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--kubelet-client-certificate=" + state.pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + state.pki("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + state.pki("ca.crt"),
		// Never resolve the node name through DNS (kubectl logs/exec):
		// this machine's traffic must not leave it.
		"--kubelet-preferred-address-types=InternalIP",
		"--profiling=false",
		"--v=1",
	}
}

const rbacBootstrap = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: temblor-cluster:apiserver-kubelet-client
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kube-apiserver-kubelet-client
`

func kubectlApply(bin, manifest string) error {
	cmd := exec.Command(filepath.Join(bin, "kubectl"), "--kubeconfig", state.kubeconfig(), "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl apply: %v: %s", err, out)
	}
	return nil
}

func adminHTTPClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(state.pki("admin.crt"), state.pki("admin.key"))
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(state.pki("ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool},
	}}, nil
}

func httpGet(url string, c *http.Client) error {
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// writeConfigs writes kubeconfigs, containerd, CNI and kubelet configuration.
func writeConfigs() error {
	for _, kc := range []struct{ file, user, stem string }{
		{state.kubeconfig(), "temblor-admin", state.pki("admin")},
		{state.p("controller-manager.kubeconfig"), "system:kube-controller-manager", state.pki("controller-manager")},
		{state.p("scheduler.kubeconfig"), "system:kube-scheduler", state.pki("scheduler")},
		{state.p("kubelet.kubeconfig"), "system:node:" + nodeName, state.pki("kubelet-client")},
	} {
		if err := writeKubeconfig(kc.file, kc.user, kc.stem); err != nil {
			return err
		}
	}
	containerd := fmt.Sprintf(`# generated by hack/cluster
version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[6]q
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
`, state.p("containerd", "root"), state.p("containerd", "state"), state.ctrSock(), state.p("containerd", "opt"),
		pauseImage, state.p("cni", "net.d"))
	if err := os.WriteFile(state.p("containerd", "config.toml"), []byte(containerd), 0o644); err != nil {
		return err
	}

	cni := fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "temblor",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
`, bridgeName, state.p("cni", "networks"), podSubnet, podGateway)
	if err := os.WriteFile(state.p("cni", "net.d", "10-temblor.conflist"), []byte(cni), 0o644); err != nil {
		return err
	}

	kubelet := fmt.Sprintf(`# generated by hack/cluster
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %[2]s
authorization:
  mode: Webhook
tlsCertFile: %[3]s
tlsPrivateKeyFile: %[4]s
containerRuntimeEndpoint: unix://%[5]s
cgroupDriver: cgroupfs
# the host has cgroup v1 (hybrid): kubelet 1.35+ refuses it by default
failCgroupV1: false
failSwapOn: false
# no DNS at all: pods get an empty resolv.conf, nothing is looked up outside
clusterDNS: []
resolvConf: ""
podLogsDirectory: %[6]s
# no KUBE-* util chains in the host's iptables
makeIPTablesUtilChains: false
protectKernelDefaults: false
rotateCertificates: false
serverTLSBootstrap: false
# images are imported, never pulled: do not garbage-collect them
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
maxPods: 60
podPidsLimit: 4096
serializeImagePulls: false
`, nodeIP, state.pki("ca.crt"), state.pki("kubelet-serving.crt"), state.pki("kubelet-serving.key"),
		state.ctrSock(), state.p("pods-logs"))
	return os.WriteFile(state.p("kubelet", "config.yaml"), []byte(kubelet), 0o644)
}

// status prints the components, the node and the hygiene diff so far.
func status() error {
	for _, n := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "nsholder", "containerd", "kubelet"} {
		if pid, ok := alive(n); ok {
			fmt.Printf("  %-24s running  pid %-7s log %s\n", n, strconv.Itoa(pid), state.log(n))
		} else {
			fmt.Printf("  %-24s stopped\n", n)
		}
	}
	if _, ok := alive("kube-apiserver"); ok {
		if kubectl, err := kubectlBin(); err == nil {
			out, _ := exec.Command(kubectl, "--kubeconfig", state.kubeconfig(), "get", "nodes,pods", "-A", "-o", "wide").CombinedOutput()
			fmt.Print(string(out))
			fmt.Printf("  KUBECONFIG=%s\n", state.kubeconfig())
		}
	}
	if _, ok := alive("nsholder"); ok {
		fmt.Println("  sysctls inside the cluster's mount namespace (covered files) vs the host:")
		for _, k := range watchedSysctls {
			in, err := os.ReadFile(state.p("sysctl", strings.ReplaceAll(k, "/", ".")))
			if err != nil {
				continue
			}
			host, _ := os.ReadFile("/proc/sys/" + k)
			fmt.Printf("    %-28s cluster=%-10s host=%s\n", strings.ReplaceAll(k, "/", "."),
				strings.TrimSpace(string(in)), strings.TrimSpace(string(host)))
		}
	}
	base, err := loadSnapshot(state.baseline())
	if err != nil {
		fmt.Println("  no baseline snapshot (cluster never brought up, or already down)")
		return nil
	}
	printDiff("baseline (before up) vs now", base, takeSnapshot())
	return nil
}
