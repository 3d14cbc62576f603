package podresolve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Labels the kubelet puts on every container it creates (pkg/kubelet/types).
const (
	criLabelContainerName = "io.kubernetes.container.name"
	criLabelPodUID        = "io.kubernetes.pod.uid"
)

// DefaultCRIEndpoints are the container runtimes' usual sockets, tried in
// order when no endpoint is given.
var DefaultCRIEndpoints = []string{
	"unix:///run/containerd/containerd.sock",
	"unix:///var/run/crio/crio.sock",
	"unix:///run/crio/crio.sock",
}

// criCallTimeout bounds one question to the runtime.
const criCallTimeout = 2 * time.Second

// CRI asks the node's container runtime, over the Container Runtime
// Interface, which pod and container a container ID is: the kubelet labels
// every container with both, and the runtime knows a container before its
// process starts.
type CRI struct {
	conn     *grpc.ClientConn
	client   runtimeapi.RuntimeServiceClient
	endpoint string
}

// DialCRI connects to the runtime at endpoint ("unix:///path"), or, when
// endpoint is empty, to the first of DefaultCRIEndpoints whose socket
// exists. It checks the connection with a Version call.
func DialCRI(ctx context.Context, endpoint string) (*CRI, error) {
	if endpoint == "" {
		for _, e := range DefaultCRIEndpoints {
			if _, err := os.Stat(strings.TrimPrefix(e, "unix://")); err == nil {
				endpoint = e
				break
			}
		}
		if endpoint == "" {
			return nil, fmt.Errorf("no container runtime socket found (tried %s)", strings.Join(DefaultCRIEndpoints, ", "))
		}
	}
	if !strings.HasPrefix(endpoint, "unix://") {
		return nil, fmt.Errorf("container runtime endpoint %q: only unix:// sockets are supported", endpoint)
	}
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to container runtime at %s: %w", endpoint, err)
	}
	c := &CRI{conn: conn, client: runtimeapi.NewRuntimeServiceClient(conn), endpoint: endpoint}
	vctx, cancel := context.WithTimeout(ctx, criCallTimeout)
	defer cancel()
	v, err := c.client.Version(vctx, &runtimeapi.VersionRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ask container runtime at %s for its version: %w", endpoint, err)
	}
	if v.GetRuntimeName() == "" {
		conn.Close()
		return nil, fmt.Errorf("container runtime at %s gave no name", endpoint)
	}
	return c, nil
}

// Endpoint is the socket the runtime answers on.
func (c *CRI) Endpoint() string { return c.endpoint }

// ContainerName returns the UID of the pod a container belongs to and the
// container's name in the pod spec, from the kubelet's labels.
func (c *CRI) ContainerName(ctx context.Context, containerID string) (podUID, name string, err error) {
	ctx, cancel := context.WithTimeout(ctx, criCallTimeout)
	defer cancel()
	resp, err := c.client.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: NormalizeContainerID(containerID)})
	if err != nil {
		return "", "", fmt.Errorf("container status of %s: %w", containerID, err)
	}
	labels := resp.GetStatus().GetLabels()
	podUID, name = labels[criLabelPodUID], labels[criLabelContainerName]
	if podUID == "" || name == "" {
		return "", "", errors.New("container " + containerID + " has no kubelet labels: not a Kubernetes container")
	}
	return podUID, name, nil
}

// Close closes the connection.
func (c *CRI) Close() error { return c.conn.Close() }
