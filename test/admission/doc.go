// Package admission tests, on a real kube-apiserver (envtest), the admission
// policy and RBAC shipped in config/: only the manager writes FaultInjection
// orders, and each node agent touches only its own node's objects.
package admission
