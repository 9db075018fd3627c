package main

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/peers/slapd"
)

// DirectoryService logins against the test's slapd through the real ldap
// plugin process: plaintext (search, then bind as the user) and MS-CHAPv2
// (search reading sambaNTPassword), each with a warm connection pool and
// with one connection per call (pool_size 0: connect, StartTLS, service
// bind on every call). The identity look-up runs alongside, as in every
// login. Reported: logins/s, p50 and p99, loginsInFlight logins in flight.
//
//	go test -run '^$' -bench LDAPLogin -benchtime 3s ./cmd/gatehouse/
func BenchmarkLDAPLogin(b *testing.B) {
	srv := slapd.Start(b, slapd.Options{})
	srv.AddUser(b, slapd.User{Name: "alice", Password: "alice-pw", Groups: []string{"vpn-users"}})
	for _, pool := range []struct{ name, size string }{{"pool", "4"}, {"no-pool", "0"}} {
		cfg := ldapGateway(b, srv, "DirectoryService", map[string]string{"pool_size": pool.size})
		engine, bs, err := buildEngine(b.Context(), cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("plaintext/"+pool.name, func(b *testing.B) {
			benchLogins(b, engine, plain("alice", "alice-pw"))
		})
		b.Run("mschapv2/"+pool.name, func(b *testing.B) {
			benchLogins(b, engine, mschap("alice", "alice-pw"))
		})
		bs.close()
	}
}
