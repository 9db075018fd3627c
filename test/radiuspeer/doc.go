// Package radiuspeer runs Debian's FreeRADIUS 3.2 as a test peer, from Go
// and owned by the test:
//
//	srv := radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{
//		{Name: "bob", Password: "bobpass", Reply: []string{`Filter-Id := "vpn-users"`}},
//	}})
//	// srv.AuthAddr, srv.AcctAddr, srv.Secret, srv.SecretFile, srv.Records()
//
// Each Start writes a private raddb in a temporary directory (never
// /etc/freeradius), picks two free UDP ports on 127.0.0.1, runs
// "freeradius -f -d DIR/raddb" and waits for "Ready to process requests".
// Stop and Start restart the same instance on the same ports (failover
// tests). Accounting-Requests land in DetailFile; Records parses it.
//
// With Options.Proxy the instance is a proxy instead: every Access-Request
// goes to one home server (the Gatehouse front door under test, or another
// instance) and its answer, an Access-Challenge with its State included,
// comes back to the client, as a NAS-facing FreeRADIUS in front of
// Gatehouse would do it.
//
// FreeRADIUS 3.2.1 (Debian 12) puts a Message-Authenticator only into
// EAP replies; 3.2.5 and later sign every Access reply (the Blast-RADIUS
// fix). The generated site adds one to every Access-Accept, Access-Reject
// and Status-Server answer ("update reply { &Message-Authenticator := 0x00 }",
// which FreeRADIUS computes when it encodes the packet), so that the
// gateway's default, refusing unsigned replies, can be tested against it.
//
// Require skips loudly ("*** SKIP") when the binary is missing and the
// process is not root; as root (CI, after test/install-deps) it fails.
package radiuspeer
