package controllers

import "testing"

// TestAbortURLAllowed: the manager calls only services of the Fault's own
// namespace and the operator's prefixes, and none of the look-alikes.
func TestAbortURLAllowed(t *testing.T) {
	prefixes := []string{"http://prometheus.monitoring.svc:9090/api/", "https://status.example.com"}
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
	} {
		err := abortURLAllowed(tc.url, "shop", prefixes)
		if (err == nil) != tc.ok {
			t.Errorf("%s: allowed=%v (%v), want %v", tc.url, err == nil, err, tc.ok)
		}
	}
}
