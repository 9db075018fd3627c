// Package slapd runs a throwaway OpenLDAP server (Debian's slapd) on
// 127.0.0.1 for tests: its own directory under a temporary directory, a
// generated slapd.conf with the core, cosine, nis, inetorgperson and
// Samba schemas (for sambaNTPassword), the memberof and ppolicy overlays,
// and a test CA made with Go's crypto packages serving ldaps:// and
// StartTLS. It is the project's own, written for its tests.
//
//	srv := slapd.Start(t, slapd.Options{})
//	srv.AddUser(t, slapd.User{Name: "alice", Password: "secret", Groups: []string{"vpn-users"}})
//	opts := srv.BackendOptions() // url, base_dn, bind_dn, bind_password_file, ca_file, nt_hash_attribute
//
// The directory's layout:
//
//	dc=example,dc=test
//	  ou=people    users, uid=NAME (inetOrgPerson + sambaSamAccount)
//	  ou=groups    groupOfNames, cn=NAME; memberOf is kept by the overlay
//	  ou=services  cn=gateway, the service account; the only one (besides
//	               the rootdn) that may read sambaNTPassword
//	  ou=policies  cn=default, the ppolicy default (lockout on, no limit)
//
// Tests that need slapd call [Require] (Start does): without slapd or
// the Samba schema it skips loudly when not root and fails as root,
// because CI runs as root after test/install-deps installed them.
package slapd
