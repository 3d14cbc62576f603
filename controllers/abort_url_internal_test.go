package controllers

import (
	"net/netip"
	"testing"
)

// TestAbortURLAllowed: the manager calls only services and pods of the
// Fault's own namespace and the operator's prefixes, and none of the
// look-alikes.
func TestAbortURLAllowed(t *testing.T) {
	prefixes := []string{"http://prometheus.monitoring.svc:9090/api/", "https://status.example.com"}
	podIP := func(ip netip.Addr) bool {
		return ip == netip.MustParseAddr("10.244.0.7") || ip == netip.MustParseAddr("fd00::7")
	}
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://web.shop.svc/healthz", true},
		{"http://web.shop.svc.cluster.local:8080/healthz", true},
		{"https://WEB.SHOP.SVC/", true},
		{"http://prometheus.monitoring.svc:9090/api/v1/query", true},
		{"https://status.example.com/anything", true},

		{"http://web.other.svc/healthz", false},                       // another namespace
		{"http://a.b.shop.svc/", false},                               // not NAME.NS.svc
		{"http://.shop.svc/", false},                                  // no name
		{"http://shop.svc/", false},                                   // the namespace alone
		{"http://web.shop.svc.evil.com/", false},                      // suffix look-alike
		{"http://web.shop.svc@169.254.169.254/", false},               // credentials hiding the host
		{"http://user:pw@web.shop.svc/", false},                       // credentials in status
		{"http://169.254.169.254/latest/meta-data/", false},           // cloud metadata
		{"ftp://web.shop.svc/", false},                                // scheme
		{"http://prometheus.monitoring.svc:9091/api/v1/query", false}, // prefix's port
		{"http://prometheus.monitoring.svc:9090/apix", false},         // path boundary
		{"http://prometheus.monitoring.svc:9090/", false},             // above the prefix
		{"https://prometheus.monitoring.svc:9090/api/v1", false},      // prefix's scheme
		{"http://status.example.com/", false},                         // prefix's scheme
		{"https://status.example.com.evil.com/", false},               // host look-alike
		{"::not a url", false},

		{"http://10.244.0.7:8080/healthz", true},    // a pod of the namespace
		{"http://[fd00::7]:8080/healthz", true},     // its IPv6 address
		{"http://10.244.0.8:8080/healthz", false},   // a pod of another namespace, or none
		{"http://10.244.0.7.nip.io:8080/", false},   // a name that resolves there
		{"http://0x0af40007:8080/", false},          // the pod's address in hex
		{"http://[::ffff:10.244.0.8]:8080/", false}, // mapped: still not the pod
		{"http://[::ffff:10.244.0.7]:8080/", true},  // mapped form of the pod
	} {
		err := abortURLAllowed(tc.url, "shop", prefixes, podIP)
		if (err == nil) != tc.ok {
			t.Errorf("%s: allowed=%v (%v), want %v", tc.url, err == nil, err, tc.ok)
		}
	}
}
