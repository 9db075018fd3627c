// Package testca makes the throw-away certificates of the test peers
// (slapd, PostgreSQL): a CA and a server certificate signed by it, with
// Go's crypto packages, so that the peers can serve TLS that clients
// verify (ldaps://, sslmode=verify-full) without any other tool.
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// WriteServer makes a CA and a server certificate for 127.0.0.1, host
// and localhost signed by it (ECDSA P-256), writes ca.crt, server.crt and
// server.key (mode 0600) into dir, and returns ca.crt's path.
func WriteServer(dir string, host net.IP) (string, error) {
	caKey, caCert, caDER, err := newCA("gatehouse test CA")
	if err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	ca := filepath.Join(dir, "ca.crt")
	for _, f := range []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{ca, "CERTIFICATE", caDER, 0o644},
		{filepath.Join(dir, "server.crt"), "CERTIFICATE", der, 0o644},
		{filepath.Join(dir, "server.key"), "PRIVATE KEY", kb, 0o600},
	} {
		if err := os.WriteFile(f.name, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.mode); err != nil {
			return "", err
		}
	}
	return ca, nil
}

// WriteUntrustedCA writes another CA, which signed nothing, as
// other-ca.crt in dir, and returns its path.
func WriteUntrustedCA(dir string) (string, error) {
	_, _, der, err := newCA("gatehouse untrusted CA")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "other-ca.crt")
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func newCA(name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, der, err
}
