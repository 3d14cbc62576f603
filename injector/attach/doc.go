// Package attach is the one step "attach this FaultAction to this target"
// that the node agent and local mode (injector/local) share: it converts the
// API action once, attaches it with the network or syscall injector, reads
// the kernel counters as API Counters and describes the attachment with the
// same text everywhere (status, `temblorctl describe`, `temblorctl exec`).
package attach
