package convert

import (
	"errors"
	"fmt"
	"net/netip"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// Syscall converts a syscall action to an injector/syscall configuration;
// backend forces a backend for every syscall (Auto lets the injector choose).
func Syscall(a *chaosv1.SyscallAction, backend sysfault.Backend) (sysfault.Config, error) {
	if a == nil {
		return sysfault.Config{}, errors.New("convert syscall action: none given")
	}
	var errs []error
	cfg := sysfault.Config{Errno: string(a.Errno), PathPrefix: a.PathPrefix, Backend: backend}
	for _, s := range a.Syscalls {
		if _, ok := sysfault.Lookup(string(s)); !ok {
			errs = append(errs, fmt.Errorf("unknown syscall %q", s))
		}
		cfg.Syscalls = append(cfg.Syscalls, string(s))
	}
	if _, ok := sysfault.Errno(string(a.Errno)); !ok {
		errs = append(errs, fmt.Errorf("unknown errno %q", a.Errno))
	}
	bp, err := BasisPoints(a.Probability)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.ProbabilityBasisPoints = bp
	rs, err := ports(a.Ports)
	if err != nil {
		errs = append(errs, fmt.Errorf("ports: %w", err))
	}
	for _, r := range rs {
		cfg.Ports = append(cfg.Ports, sysfault.PortRange{From: r.From, To: r.To})
	}
	for _, c := range a.PeerCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("peer CIDR %q: %w", c, err))
			continue
		}
		cfg.PeerCIDRs = append(cfg.PeerCIDRs, p.Masked())
	}
	errs = append(errs, syscallRules(a)...)
	if len(errs) == 0 {
		// What the CRD lets through must also be a configuration the
		// injector takes; refuse here, with the reason, if not.
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sysfault.Config{}, fmt.Errorf("convert syscall action: %w", err)
	}
	return cfg, nil
}

// ParseBackend reads a backend name as the agent's --syscall-backend flag
// takes it: "auto" (or empty), "kprobe-override", "fmod_ret", "lsm" or
// "cgroup".
func ParseBackend(name string) (sysfault.Backend, error) {
	switch b := sysfault.Backend(name); b {
	case "", "auto":
		return sysfault.Auto, nil
	case sysfault.KprobeOverride, sysfault.FmodRet, sysfault.LSM, sysfault.Cgroup:
		return b, nil
	}
	return sysfault.Auto, fmt.Errorf("unknown syscall backend %q: want auto, kprobe-override, fmod_ret, lsm or cgroup", name)
}
