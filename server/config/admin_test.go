package config

import (
	"strings"
	"testing"
)

// TestAdminConsole: the console needs the TCP listener, and TLS unless
// the listener is a loopback address; the TLS files come in pairs.
func TestAdminConsole(t *testing.T) {
	cases := []problemCase{
		{"console off, public listener", base + "admin:\n  listen: 0.0.0.0:9723\n", nil},
		{"console on loopback", base + "admin:\n  console: true\n", nil},
		{"console on IPv6 loopback", base + "admin:\n  listen: \"[::1]:9723\"\n  console: true\n", nil},
		{"console with TLS", base + "admin:\n  listen: 0.0.0.0:9723\n  socket: admin.sock\n  console: true\n  tls_cert_file: admin.crt\n  tls_key_file: admin.key\n", nil},
		{"console on a public address without TLS", base + "admin:\n  listen: 0.0.0.0:9723\n  console: true\n", []string{
			`gatehouse.yaml:8:12: admin.console: admin.listen 0.0.0.0:9723 is not a loopback address and the listener has no TLS: ` +
				`the console's sign-in cookies are Secure, so browsers would not send them back over plain HTTP, and operators' passwords would cross the network in the clear; ` +
				`set admin.tls_cert_file and admin.tls_key_file, or listen on 127.0.0.1:9723 and reach it through an SSH tunnel (ssh -L 9723:127.0.0.1:9723 GATEWAY)`,
		}},
		{"console on a LAN address with only a certificate", base + "admin:\n  listen: 192.0.2.7:8443\n  console: true\n  tls_cert_file: admin.crt\n", []string{
			`gatehouse.yaml:8:12: admin.console: admin.listen 192.0.2.7:8443 is not a loopback address and the listener has no TLS: ` +
				`the console's sign-in cookies are Secure, so browsers would not send them back over plain HTTP, and operators' passwords would cross the network in the clear; ` +
				`set admin.tls_cert_file and admin.tls_key_file, or listen on 127.0.0.1:8443 and reach it through an SSH tunnel (ssh -L 8443:127.0.0.1:8443 GATEWAY)`,
			`gatehouse.yaml:9:18: admin.tls_key_file: tls_cert_file needs tls_key_file, the certificate's private key (PEM): set both or neither`,
		}},
		{"console without a listener", base + "admin:\n  listen: \"\"\n  socket: admin.sock\n  console: true\n", []string{
			`gatehouse.yaml:9:12: admin.console: the console is served on the TCP listener only (a browser cannot reach the Unix socket), and admin.listen is ""; set admin.listen, such as 127.0.0.1:9723, or turn the console off`,
		}},
		{"key without certificate", base + "admin:\n  tls_key_file: admin.key\n", []string{
			`gatehouse.yaml:7:17: admin.tls_cert_file: tls_key_file needs tls_cert_file, the certificate (PEM, chain included): set both or neither`,
		}},
		{"TLS without a listener", base + "admin:\n  listen: \"\"\n  socket: admin.sock\n  tls_cert_file: admin.crt\n  tls_key_file: admin.key\n", []string{
			`gatehouse.yaml:9:18: warning: admin.tls_cert_file: TLS applies to the TCP listener, and admin.listen is "": nothing is served over TLS`,
		}},
		{"TLS without a socket", base + "admin:\n  tls_cert_file: admin.crt\n  tls_key_file: admin.key\n", []string{
			`gatehouse.yaml:7:18: warning: admin.socket: the gatehouse commands that ask the running gateway (sessions, logs, plugin list) speak plain HTTP to admin.listen, which now serves HTTPS only; set admin.socket for them`,
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := Parse("gatehouse.yaml", []byte(tt.text))
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems of\n%s\ngot:\n\t%s\nwant:\n\t%s", tt.text, strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

// The TLS files are relative to the configuration file's directory, like
// the other files an operator provides.
func TestAdminTLSPaths(t *testing.T) {
	c, ps := Parse("/etc/gatehouse/gatehouse.yaml", []byte(base+"state_dir: /var/lib/gatehouse\nadmin:\n  socket: admin.sock\n  tls_cert_file: tls/admin.crt\n  tls_key_file: /etc/ssl/private/admin.key\n"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if c.Admin.TLSCertFile != "/etc/gatehouse/tls/admin.crt" || c.Admin.TLSKeyFile != "/etc/ssl/private/admin.key" || !c.Admin.TLS() {
		t.Errorf("tls files = %q, %q", c.Admin.TLSCertFile, c.Admin.TLSKeyFile)
	}
	if c.Admin.Socket != "/var/lib/gatehouse/admin.sock" {
		t.Errorf("socket = %q", c.Admin.Socket)
	}
	if d := Default(); d.Admin.Console || d.Admin.TLS() {
		t.Errorf("the console or TLS is on by default: %+v", d.Admin)
	}
}
