// Package agent is Temblor's node agent: a controller that watches the
// FaultInjections labelled for its node, resolves their target pods to kernel
// identities through /proc, attaches the network and syscall injectors,
// enforces each deadline with a local timer, reports per-target status and
// Prometheus metrics, and removes everything on expiry, on deletion, when it
// loses the API server for longer than its grace (dead-man switch) and when
// it stops. Nothing is pinned: if the agent dies, the kernel detaches every
// program it held.
package agent
