package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certSpec describes one leaf certificate signed by the cluster CA.
type certSpec struct {
	name   string // file stem under pki/
	cn     string
	orgs   []string
	dns    []string
	ips    []string
	server bool
	client bool
}

func pkiSpecs() []certSpec {
	return []certSpec{
		{name: "apiserver", cn: "kube-apiserver", server: true,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", nodeName},
			ips: []string{"127.0.0.1", nodeIP, serviceIP}},
		{name: "admin", cn: "temblor-admin", orgs: []string{"system:masters"}, client: true},
		{name: "kubelet-client", cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}, client: true},
		{name: "kubelet-serving", cn: "system:node:" + nodeName, orgs: []string{"system:nodes"}, server: true,
			dns: []string{nodeName, "localhost"}, ips: []string{nodeIP, "127.0.0.1"}},
		{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", client: true},
		{name: "controller-manager", cn: "system:kube-controller-manager", client: true},
		{name: "scheduler", cn: "system:kube-scheduler", client: true},
	}
}

// ensurePKI creates the CA, leaf certificates and the service-account key
// pair, reusing whatever already exists (so `up` is idempotent).
func ensurePKI() error {
	dir := state.p("pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	caCert, caKey, err := loadPair(state.pki("ca"))
	if err != nil {
		newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		caKey = newKey
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "temblor-cluster-ca"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
		if err != nil {
			return err
		}
		caCert, _ = x509.ParseCertificate(der)
		if err := writePair(state.pki("ca"), der, newKey); err != nil {
			return err
		}
	}
	for _, s := range pkiSpecs() {
		if _, _, err := loadPair(state.pki(s.name)); err == nil {
			continue
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().AddDate(1, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			DNSNames:     s.dns,
		}
		for _, ip := range s.ips {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
		}
		if s.server {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		}
		if s.client {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
		if err != nil {
			return err
		}
		if err := writePair(state.pki(s.name), der, key); err != nil {
			return err
		}
	}
	// Service-account token signing key pair.
	if _, err := os.Stat(state.pki("sa.key")); err != nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		pb, _ := x509.MarshalPKIXPublicKey(key.Public())
		if err := os.WriteFile(state.pki("sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(state.pki("sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func writePair(stem string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(stem+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(stem+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func loadPair(stem string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(stem + ".crt")
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(stem + ".key")
	if err != nil {
		return nil, nil, err
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || kblk == nil {
		return nil, nil, errors.New("bad PEM in " + stem)
	}
	cert, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if time.Until(cert.NotAfter) < 24*time.Hour {
		return nil, nil, fmt.Errorf("%s expires soon", stem)
	}
	key, err := x509.ParseECPrivateKey(kblk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// writeKubeconfig writes a kubeconfig for one client certificate.
func writeKubeconfig(path, user, certStem string) error {
	ca, err := os.ReadFile(state.pki("ca.crt"))
	if err != nil {
		return err
	}
	crt, err := os.ReadFile(certStem + ".crt")
	if err != nil {
		return err
	}
	key, err := os.ReadFile(certStem + ".key")
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: temblor
  cluster:
    server: https://%s:%d
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: temblor
  context:
    cluster: temblor
    user: %s
current-context: temblor
`, apiserverHost, apiPort, b64(ca), user, b64(crt), b64(key), user)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(cfg), 0o600)
}
