package dae_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae/daetest"
)

var (
	secret = []byte("testing123")
	// dac is the Dynamic Authorization Client, a RADIUS server.
	dac       = netip.MustParseAddrPort("192.0.2.10:40000")
	dacPrefix = netip.MustParsePrefix("192.0.2.0/24")
	// t0 is the server's clock in the tests.
	t0 = time.Unix(1_750_000_000, 0)
)

// recorder is a Handler that knows one session (user bob, Acct-Session-Id
// abc, 10.8.0.2, calling station 198.51.100.7) and firewall policies
// "quarantine" and "staff"; it records what it is asked.
type recorder struct {
	mu    sync.Mutex
	got   []dae.Request
	err   error // returned instead, when set
	panic bool
}

func (h *recorder) Disconnect(ctx context.Context, r *dae.Request) error { return h.do(r) }
func (h *recorder) CoA(ctx context.Context, r *dae.Request) error        { return h.do(r) }

func (h *recorder) do(r *dae.Request) error {
	h.mu.Lock()
	h.got = append(h.got, *r)
	h.mu.Unlock()
	if h.panic {
		panic("boom")
	}
	if h.err != nil {
		return h.err
	}
	if r.User != "" && r.User != "bob" || r.SessionID != "" && r.SessionID != "abc" ||
		r.FramedIP.IsValid() && r.FramedIP != netip.MustParseAddr("10.8.0.2") ||
		r.CallingStation != "" && r.CallingStation != "198.51.100.7" {
		return &dae.Error{Cause: dae.SessionContextNotFound, Msg: "no such session"}
	}
	if r.FilterID != "" && r.FilterID != "quarantine" && r.FilterID != "staff" {
		return &dae.Error{Cause: dae.InvalidAttributeValue, Msg: "no such firewall policy"}
	}
	return nil
}

func (h *recorder) calls() []dae.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]dae.Request(nil), h.got...)
}

// newServer returns a server for dacPrefix whose clock reads *now (t0
// when now is nil).
func newServer(t testing.TB, h dae.Handler, now *time.Time, mod func(*dae.Config)) *dae.Server {
	t.Helper()
	cfg := dae.Config{
		Clients: []dae.Client{{Prefix: dacPrefix, Secret: secret}},
		Handler: h,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := dae.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if now == nil {
		now = &t0
	}
	dae.SetClock(s, func() time.Time { return *now })
	return s
}

// avp builds an attribute from a string, a uint32, an address or bytes.
func avp(typ lr.Type, v any) *lr.AVP {
	switch v := v.(type) {
	case string:
		return &lr.AVP{Type: typ, Attribute: lr.Attribute(v)}
	case uint32:
		return &lr.AVP{Type: typ, Attribute: lr.NewInteger(v)}
	case int:
		return &lr.AVP{Type: typ, Attribute: lr.NewInteger(uint32(v))}
	case netip.Addr:
		return &lr.AVP{Type: typ, Attribute: v.AsSlice()}
	case []byte:
		return &lr.AVP{Type: typ, Attribute: v}
	}
	panic("avp: unknown value type")
}

func attrs(as ...*lr.AVP) lr.Attributes { return as }

// Attribute types used in the tests.
const (
	userName           = 1
	nasIPAddress       = 4
	serviceType        = 6
	framedIPAddress    = 8
	filterID           = 11
	replyMessage       = 18
	state              = 24
	class              = 25
	sessionTimeout     = 27
	idleTimeout        = 28
	calledStationID    = 30
	callingStationID   = 31
	nasIdentifier      = 32
	proxyState         = 33
	acctSessionID      = 44
	acctTerminateCause = 49
	eventTimestamp     = 55
	nasIPv6Address     = 95
	errorCause         = 101
)

const (
	disc = lr.CodeDisconnectRequest
	coa  = lr.CodeCoARequest
)

func answer(t testing.TB, req, out []byte) *daetest.Reply {
	t.Helper()
	if out == nil {
		t.Fatal("no answer")
	}
	r, err := daetest.Verify(out, req, secret)
	if err != nil {
		t.Fatalf("answer does not verify: %v", err)
	}
	return r
}

// TestDecisions is the table of what the server answers and what the
// Handler sees, for requests that pass authentication.
func TestDecisions(t *testing.T) {
	ip := netip.MustParseAddr
	for _, c := range []struct {
		name    string
		code    lr.Code
		attrs   lr.Attributes
		handler *recorder
		// want is what the Handler must see (Code, Source, Client and
		// Identifier are filled in); nil: it must not be called.
		want      *dae.Request
		wantCode  lr.Code
		wantCause dae.ErrorCause
	}{
		{name: "disconnect by Acct-Session-Id", code: disc,
			attrs:    attrs(avp(acctSessionID, "abc")),
			want:     &dae.Request{SessionID: "abc"},
			wantCode: lr.CodeDisconnectACK},
		{name: "disconnect by every identification", code: disc,
			attrs: attrs(avp(userName, "bob"), avp(framedIPAddress, ip("10.8.0.2")), avp(callingStationID, "198.51.100.7"),
				avp(acctSessionID, "abc"), avp(acctTerminateCause, 6), avp(eventTimestamp, uint32(t0.Unix()-299))),
			want: &dae.Request{User: "bob", FramedIP: ip("10.8.0.2"), CallingStation: "198.51.100.7", SessionID: "abc",
				TerminateCause: 6, EventTime: time.Unix(t0.Unix()-299, 0)},
			wantCode: lr.CodeDisconnectACK},
		{name: "no such session", code: disc,
			attrs:    attrs(avp(acctSessionID, "zzz")),
			want:     &dae.Request{SessionID: "zzz"},
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.SessionContextNotFound},
		{name: "no session identification", code: disc,
			attrs:    attrs(avp(nasIdentifier, "gw1")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.MissingAttribute},
		{name: "NAS-Identifier matches", code: disc,
			attrs:    attrs(avp(nasIdentifier, "gw1"), avp(userName, "bob")),
			want:     &dae.Request{NASIdentifier: "gw1", User: "bob"},
			wantCode: lr.CodeDisconnectACK},
		{name: "NAS-Identifier mismatch", code: disc,
			attrs:    attrs(avp(nasIdentifier, "gw2"), avp(userName, "bob")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.NASIdentificationMismatch},
		{name: "NAS-IP-Address matches", code: coa,
			attrs:    attrs(avp(nasIPAddress, ip("192.0.2.1")), avp(userName, "bob"), avp(idleTimeout, 600)),
			want:     &dae.Request{NASIP: ip("192.0.2.1"), User: "bob", IdleTimeout: 10 * time.Minute},
			wantCode: lr.CodeCoAACK},
		{name: "NAS-IP-Address mismatch", code: coa,
			attrs:    attrs(avp(nasIPAddress, ip("192.0.2.99")), avp(userName, "bob"), avp(idleTimeout, 600)),
			wantCode: lr.CodeCoANAK, wantCause: dae.NASIdentificationMismatch},
		{name: "NAS-IPv6-Address matches", code: disc,
			attrs:    attrs(avp(nasIPv6Address, ip("2001:db8::1")), avp(userName, "bob")),
			want:     &dae.Request{NASIPv6: ip("2001:db8::1"), User: "bob"},
			wantCode: lr.CodeDisconnectACK},
		{name: "NAS-IPv6-Address mismatch", code: disc,
			attrs:    attrs(avp(nasIPv6Address, ip("2001:db8::2")), avp(userName, "bob")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.NASIdentificationMismatch},
		{name: "unsupported identification attribute", code: disc,
			attrs:    attrs(avp(userName, "bob"), avp(calledStationID, "203.0.113.1")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.UnsupportedAttribute},
		{name: "authorization attribute in a Disconnect-Request", code: disc,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "quarantine")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.UnsupportedAttribute},
		{name: "Error-Cause in a request", code: disc,
			attrs:    attrs(avp(userName, "bob"), avp(errorCause, 401)),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.UnsupportedAttribute},
		{name: "Reply-Message", code: disc,
			attrs:    attrs(avp(userName, "bob"), avp(replyMessage, "bye")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.UnsupportedAttribute},
		{name: "CoA Filter-Id and Session-Timeout", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "quarantine"), avp(sessionTimeout, 3600)),
			want:     &dae.Request{User: "bob", FilterID: "quarantine", SessionTimeout: time.Hour},
			wantCode: lr.CodeCoAACK},
		{name: "CoA the handler cannot apply", code: coa,
			attrs:    attrs(avp(acctSessionID, "abc"), avp(filterID, "nope")),
			want:     &dae.Request{SessionID: "abc", FilterID: "nope"},
			wantCode: lr.CodeCoANAK, wantCause: dae.InvalidAttributeValue},
		{name: "CoA with Class", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "staff"), avp(class, "gold")),
			wantCode: lr.CodeCoANAK, wantCause: dae.UnsupportedAttribute},
		{name: "CoA with State", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(state, "x"), avp(filterID, "staff")),
			want:     &dae.Request{User: "bob", FilterID: "staff"},
			wantCode: lr.CodeCoAACK},
		{name: "CoA that changes nothing", code: coa,
			attrs:    attrs(avp(userName, "bob")),
			wantCode: lr.CodeCoANAK, wantCause: dae.MissingAttribute},
		{name: "CoA without session identification", code: coa,
			attrs:    attrs(avp(filterID, "staff")),
			wantCode: lr.CodeCoANAK, wantCause: dae.MissingAttribute},
		{name: "Acct-Terminate-Cause in a CoA", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "staff"), avp(acctTerminateCause, 6)),
			wantCode: lr.CodeCoANAK, wantCause: dae.UnsupportedAttribute},
		{name: "Service-Type Authorize Only", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(serviceType, 17), avp(state, "x")),
			wantCode: lr.CodeCoANAK, wantCause: dae.UnsupportedService},
		{name: "Service-Type Framed", code: disc,
			attrs:    attrs(avp(userName, "bob"), avp(serviceType, 2)),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.UnsupportedService},
		{name: "Session-Timeout zero", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(sessionTimeout, 0)),
			wantCode: lr.CodeCoANAK, wantCause: dae.InvalidAttributeValue},
		{name: "Idle-Timeout of 2 octets", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(idleTimeout, []byte{0, 1})),
			wantCode: lr.CodeCoANAK, wantCause: dae.InvalidAttributeValue},
		{name: "Framed-IP-Address of 3 octets", code: disc,
			attrs:    attrs(avp(framedIPAddress, []byte{10, 8, 0})),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.InvalidAttributeValue},
		{name: "Framed-IP-Address 0.0.0.0", code: disc,
			attrs:    attrs(avp(framedIPAddress, ip("0.0.0.0"))),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.InvalidAttributeValue},
		{name: "empty User-Name", code: disc,
			attrs:    attrs(avp(userName, "")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.InvalidAttributeValue},
		{name: "empty Filter-Id", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "")),
			wantCode: lr.CodeCoANAK, wantCause: dae.InvalidAttributeValue},
		{name: "two User-Names", code: disc,
			attrs:    attrs(avp(userName, "bob"), avp(userName, "alice")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.InvalidRequest},
		{name: "two Filter-Ids", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "staff"), avp(filterID, "quarantine")),
			wantCode: lr.CodeCoANAK, wantCause: dae.InvalidRequest},
		{name: "first problem in packet order wins", code: disc,
			attrs:    attrs(avp(userName, ""), avp(calledStationID, "x")),
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.InvalidAttributeValue},
		{name: "handler cannot decide", code: disc,
			attrs:    attrs(avp(userName, "bob")),
			handler:  &recorder{err: errors.New("session table locked")},
			want:     &dae.Request{User: "bob"},
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.ResourcesUnavailable},
		{name: "handler says deadline", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "staff")),
			handler:  &recorder{err: context.DeadlineExceeded},
			want:     &dae.Request{User: "bob", FilterID: "staff"},
			wantCode: lr.CodeCoANAK, wantCause: dae.ResourcesUnavailable},
		{name: "handler returns a wrapped Error", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "staff")),
			handler:  &recorder{err: errorsJoin(&dae.Error{Cause: dae.MultipleSessionSelectionUnsupported})},
			want:     &dae.Request{User: "bob", FilterID: "staff"},
			wantCode: lr.CodeCoANAK, wantCause: dae.MultipleSessionSelectionUnsupported},
		{name: "handler returns a reserved cause", code: disc,
			attrs:    attrs(avp(userName, "bob")),
			handler:  &recorder{err: &dae.Error{Cause: 300}},
			want:     &dae.Request{User: "bob"},
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.ResourcesUnavailable},
		{name: "handler returns a proxy's cause", code: disc,
			attrs:    attrs(avp(userName, "bob")),
			handler:  &recorder{err: &dae.Error{Cause: dae.RequestNotRoutable}},
			want:     &dae.Request{User: "bob"},
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.ResourcesUnavailable},
		{name: "handler returns residual context removed to a CoA", code: coa,
			attrs:    attrs(avp(userName, "bob"), avp(filterID, "staff")),
			handler:  &recorder{err: &dae.Error{Cause: dae.ResidualSessionContextRemoved}},
			want:     &dae.Request{User: "bob", FilterID: "staff"},
			wantCode: lr.CodeCoANAK, wantCause: dae.ResourcesUnavailable},
		{name: "session not removable", code: disc,
			attrs:    attrs(avp(userName, "bob")),
			handler:  &recorder{err: &dae.Error{Cause: dae.SessionContextNotRemovable}},
			want:     &dae.Request{User: "bob"},
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.SessionContextNotRemovable},
		{name: "residual context removed is an ACK", code: disc,
			attrs:    attrs(avp(userName, "bob")),
			handler:  &recorder{err: &dae.Error{Cause: dae.ResidualSessionContextRemoved}},
			want:     &dae.Request{User: "bob"},
			wantCode: lr.CodeDisconnectACK, wantCause: dae.ResidualSessionContextRemoved},
		{name: "handler panics", code: disc,
			attrs:    attrs(avp(userName, "bob")),
			handler:  &recorder{panic: true},
			want:     &dae.Request{User: "bob"},
			wantCode: lr.CodeDisconnectNAK, wantCause: dae.ResourcesUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := c.handler
			if h == nil {
				h = &recorder{}
			}
			s := newServer(t, h, nil, func(cfg *dae.Config) {
				cfg.NASIdentifier = "gw1"
				cfg.NASAddresses = []netip.Addr{ip("192.0.2.1"), ip("2001:db8::1")}
			})
			req := daetest.MustEncode(c.code, 7, c.attrs, secret, true)
			r := answer(t, req, s.Handle(context.Background(), req, dac))
			if r.Code != c.wantCode || r.ErrorCause != c.wantCause {
				t.Errorf("answer %s %s, want %s %s", r.Code, r.ErrorCause, c.wantCode, c.wantCause)
			}
			if !r.MessageAuthenticator {
				t.Error("answer without Message-Authenticator")
			}
			got := h.calls()
			switch {
			case c.want == nil && len(got) != 0:
				t.Errorf("handler called with %+v", got[0])
			case c.want != nil && len(got) != 1:
				t.Errorf("handler called %d times", len(got))
			case c.want != nil:
				w := *c.want
				w.Code, w.Source, w.Client, w.Identifier = c.code, dac, dacPrefix, 7
				if !reflect.DeepEqual(got[0], w) {
					t.Errorf("handler saw\n%+v\nwant\n%+v", got[0], w)
				}
			}
			st := s.Stats()
			acks := st.DisconnectACKs + st.DisconnectNAKs + st.CoAACKs + st.CoANAKs
			if st.Requests != 1 || acks != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }

// TestDrops: packets that get no answer, each counted under its reason,
// and never seen by the Handler.
func TestDrops(t *testing.T) {
	ok := attrs(avp(acctSessionID, "abc"))
	enc := func(code lr.Code, as lr.Attributes, withMA bool) []byte {
		return daetest.MustEncode(code, 9, as, secret, withMA)
	}
	// resign fixes Length and the Request Authenticator after an edit.
	resign := func(b []byte) []byte {
		binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
		daetest.Authenticate(b, secret)
		return b
	}
	maAsIs := func() []byte {
		// The mistake of signing with the Authenticator field as it is,
		// as for an Access-Request.
		b := enc(disc, append(ok, avp(80, make([]byte, 16))), false)
		if err := rfc3579.Sign(b, secret, nil); err != nil {
			t.Fatal(err)
		}
		return resign(b)
	}
	twoMAs := func() []byte {
		b := enc(disc, ok, true)
		return resign(append(b, append([]byte{80, 18}, make([]byte, 16)...)...))
	}
	for _, c := range []struct {
		name string
		pkt  []byte
		from netip.AddrPort
		mod  func(*dae.Config)
		want dae.Stats // Requests: 1 is added
	}{
		{"unknown client", enc(disc, ok, true), netip.MustParseAddrPort("198.51.100.1:1"), nil,
			dae.Stats{UnknownClient: 1}},
		{"wrong secret", daetest.MustEncode(disc, 9, ok, []byte("other"), true), dac, nil,
			dae.Stats{BadAuthenticator: 1}},
		{"changed in flight", func() []byte { b := enc(disc, ok, true); b[22]++; return b }(), dac, nil,
			dae.Stats{BadAuthenticator: 1}},
		{"no Message-Authenticator", enc(disc, ok, false), dac, nil,
			dae.Stats{MissingMessageAuthenticator: 1}},
		{"Message-Authenticator over the Authenticator as is", maAsIs(), dac, nil,
			dae.Stats{BadMessageAuthenticator: 1}},
		{"two Message-Authenticators", twoMAs(), dac, nil,
			dae.Stats{BadMessageAuthenticator: 1}},
		{"Message-Authenticator of 17 octets", resign(enc(disc, append(ok, avp(80, make([]byte, 15))), false)), dac,
			func(c *dae.Config) { c.AllowMissingMessageAuthenticator = true },
			dae.Stats{BadMessageAuthenticator: 1}},
		{"short", enc(disc, ok, true)[:19], dac, nil,
			dae.Stats{Malformed: 1}},
		{"Length beyond the datagram", func() []byte { b := enc(disc, ok, true); b[3]++; return b }(), dac, nil,
			dae.Stats{Malformed: 1}},
		{"Length below the header", func() []byte { b := enc(disc, ok, true); b[2], b[3] = 0, 19; return b }(), dac, nil,
			dae.Stats{Malformed: 1}},
		{"attribute length 0", func() []byte { b := enc(disc, ok, true); b[21] = 0; return b }(), dac, nil,
			dae.Stats{Malformed: 1}},
		{"attribute beyond Length", resign(append(enc(disc, ok, true), 1, 9, 'b')), dac, nil,
			dae.Stats{Malformed: 1}},
		{"Access-Request", enc(lr.CodeAccessRequest, ok, true), dac, nil,
			dae.Stats{UnsupportedCode: 1}},
		{"Accounting-Request", enc(lr.CodeAccountingRequest, ok, true), dac, nil,
			dae.Stats{UnsupportedCode: 1}},
		{"Disconnect-ACK", enc(lr.CodeDisconnectACK, ok, true), dac, nil,
			dae.Stats{UnsupportedCode: 1}},
		{"stale Event-Timestamp", enc(disc, append(ok, avp(eventTimestamp, uint32(t0.Unix()-301))), true), dac, nil,
			dae.Stats{StaleEventTimestamp: 1}},
		{"future Event-Timestamp", enc(coa, append(ok, avp(eventTimestamp, uint32(t0.Unix()+301)), avp(filterID, "staff")), true), dac, nil,
			dae.Stats{StaleEventTimestamp: 1}},
		{"stale with a 10s window", enc(disc, append(ok, avp(eventTimestamp, uint32(t0.Unix()-11))), true), dac,
			func(c *dae.Config) { c.ReplayWindow = 10 * time.Second },
			dae.Stats{StaleEventTimestamp: 1}},
		{"two Event-Timestamps", enc(disc, append(ok, avp(eventTimestamp, uint32(t0.Unix())), avp(eventTimestamp, uint32(t0.Unix()))), true), dac, nil,
			dae.Stats{Malformed: 1}},
		{"Event-Timestamp of 3 octets", enc(disc, append(ok, avp(eventTimestamp, []byte{1, 2, 3})), true), dac, nil,
			dae.Stats{Malformed: 1}},
		{"no Event-Timestamp when required", enc(disc, ok, true), dac,
			func(c *dae.Config) { c.RequireEventTimestamp = true },
			dae.Stats{MissingEventTimestamp: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &recorder{}
			s := newServer(t, h, nil, c.mod)
			if out := s.Handle(context.Background(), c.pkt, c.from); out != nil {
				t.Fatalf("answered: % x", out)
			}
			if got := h.calls(); len(got) != 0 {
				t.Errorf("handler called with %+v", got[0])
			}
			c.want.Requests = 1
			if st := s.Stats(); st != c.want {
				t.Errorf("stats %+v, want %+v", st, c.want)
			}
		})
	}
}

// TestAllowMissingMessageAuthenticator: when allowed, a request without
// one is decided and its answer carries none; one that has one gets one.
func TestAllowMissingMessageAuthenticator(t *testing.T) {
	h := &recorder{}
	s := newServer(t, h, nil, func(c *dae.Config) { c.AllowMissingMessageAuthenticator = true })
	for _, withMA := range []bool{false, true} {
		req := daetest.MustEncode(disc, 1, attrs(avp(userName, "bob")), secret, withMA)
		r := answer(t, req, s.Handle(context.Background(), req, dac))
		if r.Code != lr.CodeDisconnectACK || r.MessageAuthenticator != withMA {
			t.Errorf("request with MA %v: %s, answer with MA %v", withMA, r.Code, r.MessageAuthenticator)
		}
	}
}

// TestDuplicate: a retransmission within the replay window is answered
// from the cache and not acted on twice; after the window it is a new
// request unless its Event-Timestamp went stale (RFC 5176 section 6.3:
// the two windows are one).
func TestDuplicate(t *testing.T) {
	now := t0
	h := &recorder{}
	s := newServer(t, h, &now, func(c *dae.Config) { c.ReplayWindow = time.Minute })
	ctx := context.Background()
	req := daetest.MustEncode(disc, 3, attrs(avp(userName, "bob")), secret, true)
	first := s.Handle(ctx, req, dac)
	answer(t, req, first)
	now = now.Add(59 * time.Second)
	if again := s.Handle(ctx, req, dac); string(again) != string(first) {
		t.Errorf("retransmission answered differently: % x", again)
	}
	if n := len(h.calls()); n != 1 {
		t.Errorf("handler called %d times", n)
	}
	// Same Identifier, other content: a new request.
	other := daetest.MustEncode(disc, 3, attrs(avp(acctSessionID, "abc")), secret, true)
	answer(t, other, s.Handle(ctx, other, dac))
	// Same packet from another port: a new request.
	answer(t, req, s.Handle(ctx, req, netip.AddrPortFrom(dac.Addr(), dac.Port()+1)))
	if n := len(h.calls()); n != 3 {
		t.Errorf("handler called %d times, want 3", n)
	}
	st := s.Stats()
	if st.Duplicates != 1 || st.DisconnectACKs != 3 {
		t.Errorf("stats %+v", st)
	}

	// After the window, without Event-Timestamp: acted on again.
	now = now.Add(2 * time.Second)
	answer(t, req, s.Handle(ctx, req, dac))
	if n := len(h.calls()); n != 4 {
		t.Errorf("after the window: handler called %d times, want 4", n)
	}
	// With one: stale by then, dropped.
	now = t0
	ts := daetest.MustEncode(disc, 4, attrs(avp(userName, "bob"), avp(eventTimestamp, uint32(t0.Unix()))), secret, true)
	answer(t, ts, s.Handle(ctx, ts, dac))
	now = now.Add(61 * time.Second)
	if out := s.Handle(ctx, ts, dac); out != nil {
		t.Error("replay after the window answered")
	}
	if st := s.Stats(); st.StaleEventTimestamp != 1 || len(h.calls()) != 5 {
		t.Errorf("stats %+v, %d calls", st, len(h.calls()))
	}
}

// TestEcho: Proxy-State attributes (RFC 5176 section 3.1) and State
// (section 3.3) come back unmodified, in order, in ACKs and NAKs; nothing
// else comes back.
func TestEcho(t *testing.T) {
	s := newServer(t, &recorder{}, nil, nil)
	for _, as := range []lr.Attributes{
		attrs(avp(proxyState, "one"), avp(userName, "bob"), avp(state, "st"), avp(filterID, "staff"), avp(proxyState, "two")),
		attrs(avp(proxyState, "one"), avp(userName, "eve"), avp(state, "st"), avp(filterID, "staff"), avp(proxyState, "two")),
		attrs(avp(proxyState, "one"), avp(userName, "bob"), avp(state, "st"), avp(serviceType, 17), avp(proxyState, "two")),
	} {
		req := daetest.MustEncode(coa, 1, as, secret, true)
		r := answer(t, req, s.Handle(context.Background(), req, dac))
		var got []string
		for _, a := range r.Attributes {
			switch a.Type {
			case proxyState, state:
				got = append(got, string(a.Attribute))
			case errorCause, 80:
			default:
				t.Errorf("%s carries attribute %d", r.Code, a.Type)
			}
		}
		if fmt.Sprint(got) != "[one st two]" {
			t.Errorf("%s %s: echoed %q", r.Code, r.ErrorCause, got)
		}
	}
}

// TestNASIdentityUnconfigured: without a configured identity, NAS
// attributes are handed to the Handler unchecked.
func TestNASIdentityUnconfigured(t *testing.T) {
	h := &recorder{}
	s := newServer(t, h, nil, nil)
	req := daetest.MustEncode(disc, 1, attrs(avp(nasIdentifier, "anything"), avp(nasIPAddress, netip.MustParseAddr("203.0.113.9")), avp(userName, "bob")), secret, true)
	if r := answer(t, req, s.Handle(context.Background(), req, dac)); r.Code != lr.CodeDisconnectACK {
		t.Errorf("%s %s", r.Code, r.ErrorCause)
	}
	if got := h.calls(); len(got) != 1 || got[0].NASIdentifier != "anything" || got[0].NASIP.String() != "203.0.113.9" {
		t.Errorf("handler saw %+v", got)
	}
}

// TestLongestPrefix: the most specific client's secret is used, and
// IPv4-mapped sources and prefixes are unmapped.
func TestLongestPrefix(t *testing.T) {
	h := &recorder{}
	s, err := dae.NewServer(dae.Config{
		Handler: h,
		Clients: []dae.Client{
			{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Secret: dae.Secret("wide")},
			{Prefix: netip.MustParsePrefix("::ffff:10.1.0.0/112"), Secret: dae.Secret("narrow")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		from   string
		secret string
	}{
		{"10.2.0.1:5", "wide"},
		{"10.1.0.1:5", "narrow"},
		{"[::ffff:10.1.0.1]:5", "narrow"},
	} {
		req := daetest.MustEncode(disc, 1, attrs(avp(userName, "bob")), []byte(c.secret), true)
		out := s.Handle(ctx, req, netip.MustParseAddrPort(c.from))
		if _, err := daetest.Verify(out, req, []byte(c.secret)); err != nil {
			t.Errorf("from %s with %s: %v", c.from, c.secret, err)
		}
	}
}

func TestNewServer(t *testing.T) {
	ok := dae.Client{Prefix: dacPrefix, Secret: secret}
	for _, c := range []struct {
		name string
		cfg  dae.Config
	}{
		{"no handler", dae.Config{Clients: []dae.Client{ok}}},
		{"no prefix", dae.Config{Handler: &recorder{}, Clients: []dae.Client{{Secret: secret}}}},
		{"no secret", dae.Config{Handler: &recorder{}, Clients: []dae.Client{{Prefix: dacPrefix}}}},
		{"twice", dae.Config{Handler: &recorder{}, Clients: []dae.Client{ok, {Prefix: netip.MustParsePrefix("192.0.2.77/24"), Secret: secret}}}},
		{"negative window", dae.Config{Handler: &recorder{}, Clients: []dae.Client{ok}, ReplayWindow: -1}},
		{"invalid NAS address", dae.Config{Handler: &recorder{}, Clients: []dae.Client{ok}, NASAddresses: []netip.Addr{{}}}},
	} {
		if _, err := dae.NewServer(c.cfg); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := dae.NewServer(dae.Config{Handler: &recorder{}}); err != nil {
		t.Errorf("no clients: %v", err)
	}
}

func TestErrorCause(t *testing.T) {
	for c, want := range map[dae.ErrorCause]string{
		dae.SessionContextNotFound:              "Session-Context-Not-Found",
		dae.NASIdentificationMismatch:           "NAS-Identification-Mismatch",
		dae.MultipleSessionSelectionUnsupported: "Multiple-Session-Selection-Unsupported",
		999:                                     "ErrorCause(999)",
	} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", uint32(c), got, want)
		}
	}
	e := &dae.Error{Cause: dae.SessionContextNotFound, Msg: "no session abc"}
	if got := e.Error(); got != "dae: Session-Context-Not-Found (503): no session abc" {
		t.Errorf("Error() = %q", got)
	}
}
