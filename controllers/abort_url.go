package controllers

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// abortURLAllowed says whether the manager may GET raw for a Fault in ns:
// a service of ns (NAME.NS.svc or NAME.NS.svc.cluster.local, any port), the
// IP address of a pod of ns (podIP reports which; nil allows none), or a URL
// under one of prefixes. Credentials in the URL are refused: status would
// show them.
func abortURLAllowed(raw, ns string, prefixes []string, podIP func(netip.Addr) bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	if u.User != nil {
		return fmt.Errorf("url %q: credentials in the URL are not allowed", u.Redacted())
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return fmt.Errorf("url %q: no host", raw)
	}
	for _, suffix := range []string{"." + ns + ".svc", "." + ns + ".svc.cluster.local"} {
		if name, ok := strings.CutSuffix(host, suffix); ok && name != "" && !strings.Contains(name, ".") {
			return nil
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil && podIP != nil && podIP(ip.Unmap()) {
		return nil
	}
	for _, p := range prefixes {
		if urlUnder(u, p) {
			return nil
		}
	}
	return fmt.Errorf("url %s is not allowed: the manager calls services of namespace %s (http://NAME.%s.svc/...), the IPs of its pods (not host-network ones) and the URLs of its --abort-check-url-prefix flag only",
		raw, ns, ns)
}

// urlUnder reports whether u is under the prefix URL p: same scheme and
// host, the same port when p names one, and a path that starts with p's
// path at a "/" boundary.
func urlUnder(u *url.URL, prefix string) bool {
	p, err := url.Parse(prefix)
	if err != nil || p.Host == "" || p.User != nil {
		return false
	}
	if u.Scheme != p.Scheme || !strings.EqualFold(u.Hostname(), p.Hostname()) {
		return false
	}
	if p.Port() != "" && u.Port() != p.Port() {
		return false
	}
	pp := strings.TrimSuffix(p.Path, "/")
	return pp == "" || u.Path == pp || strings.HasPrefix(u.Path, pp+"/")
}
