package dae_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae/daetest"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzHandle from the seeds in fuzz_test.go")

type seed struct {
	name string
	pkt  []byte
}

// seeds are the fuzzing corpus: the radclient captures and a request for
// each branch of the decision.
func seeds(t testing.TB) []seed {
	ip := netip.MustParseAddr
	enc := func(code lr.Code, withMA bool, as ...*lr.AVP) []byte {
		return daetest.MustEncode(code, 1, as, secret, withMA)
	}
	return []seed{
		{"radclient-disconnect", vector(t, "disconnect")},
		{"radclient-coa", vector(t, "coa")},
		{"radclient-disconnect-event-timestamp", vector(t, "disconnect-event-timestamp")},
		{"radclient-coa-no-message-authenticator", vector(t, "coa-no-message-authenticator")},
		{"disconnect-every-identification", enc(disc, true, avp(userName, "bob"), avp(framedIPAddress, ip("10.8.0.2")),
			avp(callingStationID, "198.51.100.7"), avp(acctSessionID, "abc"), avp(acctTerminateCause, 6),
			avp(nasIdentifier, "gw1"), avp(nasIPAddress, ip("192.0.2.1")), avp(nasIPv6Address, ip("2001:db8::1")))},
		{"disconnect-proxy-state", enc(disc, true, avp(proxyState, "one"), avp(userName, "bob"), avp(proxyState, "two"))},
		{"disconnect-event-timestamp", enc(disc, true, avp(acctSessionID, "abc"), avp(eventTimestamp, uint32(t0.Unix())))},
		{"disconnect-no-such-session", enc(disc, true, avp(acctSessionID, "zzz"))},
		{"coa-every-change", enc(coa, true, avp(userName, "bob"), avp(filterID, "staff"), avp(sessionTimeout, 3600), avp(idleTimeout, 600))},
		{"coa-class", enc(coa, true, avp(userName, "bob"), avp(class, "gold"))},
		{"coa-authorize-only", enc(coa, true, avp(userName, "bob"), avp(serviceType, 17), avp(state, "x"))},
		{"coa-nas-mismatch", enc(coa, true, avp(nasIdentifier, "gw2"), avp(userName, "bob"), avp(filterID, "staff"))},
		{"access-request", enc(lr.CodeAccessRequest, true, avp(userName, "bob"))},
	}
}

func corpusFile(pkt []byte, resign bool) string {
	return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%t)\n", pkt, resign)
}

// TestFuzzSeedCorpus checks that testdata/fuzz/FuzzHandle holds every
// seed; go test -run TestFuzzSeedCorpus -update rewrites it.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzHandle")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range seeds(t) {
		want := corpusFile(s.pkt, false)
		path := filepath.Join(dir, s.name)
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (%v): run go test -run TestFuzzSeedCorpus -update ./server/radius/dae/", path, err)
		}
	}
}

// FuzzHandle feeds packets from a known client to the server. With
// resign, the input's Length, Message-Authenticator (if it has one) and
// Request Authenticator are fixed up first, so that mutations of the
// attributes get past authentication and reach the decisions. It checks:
// no panic; every answer verifies as the answer to the input (Identifier,
// code, Response Authenticator, Message-Authenticator, Error-Cause); a
// plain ACK only when the Handler acknowledged; and a round trip: the
// Request the Handler saw, encoded again, is seen the same.
func FuzzHandle(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s.pkt, true)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, pkt []byte, resign bool) {
		if resign && len(pkt) >= 20 && len(pkt) <= 4096 {
			pkt = bytes.Clone(pkt)
			binary.BigEndian.PutUint16(pkt[2:4], uint16(len(pkt)))
			var zero [16]byte
			_ = rfc3579.Sign(pkt, secret, &zero)
			daetest.Authenticate(pkt, secret)
		}
		cfg := func(c *dae.Config) {
			c.NASIdentifier = "gw1"
			c.NASAddresses = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
		}
		h := &recorder{}
		s := newServer(t, h, nil, cfg)
		out := s.Handle(ctx, pkt, dac)
		got := h.calls()
		if len(got) > 1 {
			t.Fatalf("handler called %d times", len(got))
		}
		if out == nil {
			return
		}
		r, err := daetest.Verify(out, pkt, secret)
		if err != nil {
			t.Fatalf("answer does not verify: %v\nanswer % x", err, out)
		}
		if r.ErrorCause == 0 && (len(got) != 1 || (&recorder{}).do(&got[0]) != nil) {
			t.Fatalf("%s without the handler's consent", r.Code)
		}
		if len(got) != 1 {
			return
		}
		again := daetest.MustEncode(got[0].Code, got[0].Identifier, daetest.Attributes(&got[0]), secret, true)
		h2 := &recorder{}
		if newServer(t, h2, nil, cfg).Handle(ctx, again, dac) == nil {
			t.Fatal("round trip: no answer")
		}
		if got2 := h2.calls(); len(got2) != 1 || got2[0] != got[0] {
			t.Fatalf("round trip: handler saw %+v, first %+v", got2, got[0])
		}
	})
}
