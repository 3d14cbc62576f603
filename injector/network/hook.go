package network

// hook is one attached program: a bpf_link or a legacy tc filter.
type hook interface {
	// detach removes the program from its interface.
	detach() error
	// String describes the attachment, e.g. "eth0 egress tcx".
	String() string
}

// Attach method names as reported by Describe.
const (
	methodTCX        = "tcx"
	methodNetlinkTC  = "netlink-tc"
	methodXDPNative  = "xdp-native"
	methodXDPGeneric = "xdp-generic"
)
