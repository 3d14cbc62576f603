package app

import (
	"context"
	"flag"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// kubeFlags are kubectl's connection flags.
type kubeFlags struct {
	kubeconfig, context, namespace string
}

func (k *kubeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", k.kubeconfig, "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&k.context, "context", k.context, "kubeconfig context to use")
	fs.StringVar(&k.namespace, "namespace", k.namespace, "namespace (default: the context's)")
	fs.StringVar(&k.namespace, "n", k.namespace, "shorthand for --namespace")
}

// cluster is a connection to the API server.
type cluster struct {
	c         client.WithWatch
	namespace string
	// explicitNS is true when the namespace came from -n.
	explicitNS bool
}

// connect loads the kubeconfig as kubectl does: the default loading rules
// ($KUBECONFIG, ~/.kube/config, in-cluster), overridden by the flags; the
// namespace comes from -n, else the context, else "default".
func (k *kubeFlags) connect() (*cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.kubeconfig != "" {
		rules.ExplicitPath = k.kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.context}
	if k.namespace != "" {
		overrides.Context.Namespace = k.namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("namespace from kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	if err := chaosv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Host, err)
	}
	return &cluster{c: c, namespace: ns, explicitNS: k.namespace != ""}, nil
}

// fault gets the Fault name of the connection's namespace.
func (cl *cluster) fault(ctx context.Context, name string) (*chaosv1.Fault, error) {
	f := &chaosv1.Fault{}
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: cl.namespace, Name: name}, f); err != nil {
		return nil, fmt.Errorf("get fault %s in %s: %w", name, cl.namespace, err)
	}
	return f, nil
}

// oneFault connects and gets the one Fault names holds, for the commands
// that take exactly one name; it returns the exit status on failure.
func (a *app) oneFault(ctx context.Context, command string, names []string) (*cluster, *chaosv1.Fault, int) {
	if len(names) != 1 {
		fmt.Fprintf(a.io.Stderr, "error: %s needs exactly one Fault name\n", command)
		return nil, nil, 2
	}
	cl, err := a.kube.connect()
	if err != nil {
		return nil, nil, a.fail(err)
	}
	f, err := cl.fault(ctx, names[0])
	if err != nil {
		return nil, nil, a.fail(err)
	}
	return cl, f, 0
}
