package dae_test

import (
	"context"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae/daetest"
)

// vector reads testdata/radclient/name.txt: comment lines starting with
// #, then the packet in hex.
func vector(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "radclient", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	var h strings.Builder
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, "#") {
			h.WriteString(strings.TrimSpace(line))
		}
	}
	b, err := hex.DecodeString(h.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// TestRadclientVectors replays requests captured from FreeRADIUS's
// radclient 3.2.1 (testdata/radclient, each file says how it was made),
// so that the Request Authenticator and Message-Authenticator of a real
// client are checked even where radclient is not installed.
func TestRadclientVectors(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	for _, c := range []struct {
		name      string
		now       time.Time
		allowNoMA bool
		handled   *dae.Request // nil: dropped
		wantCode  lr.Code
		dropped   dae.Stats
	}{
		{name: "disconnect", now: t0,
			handled:  &dae.Request{Code: lr.CodeDisconnectRequest, Identifier: 0xc6, User: "bob", SessionID: "abc"},
			wantCode: lr.CodeDisconnectACK},
		{name: "coa", now: t0,
			handled:  &dae.Request{Code: lr.CodeCoARequest, Identifier: 0xfb, User: "bob", FilterID: "quarantine", SessionTimeout: time.Hour},
			wantCode: lr.CodeCoAACK},
		{name: "disconnect-event-timestamp", now: time.Unix(1_700_000_010, 0),
			handled:  &dae.Request{Code: lr.CodeDisconnectRequest, Identifier: 0x76, SessionID: "abc", EventTime: time.Unix(1_700_000_000, 0)},
			wantCode: lr.CodeDisconnectACK},
		{name: "disconnect-event-timestamp", now: t0,
			dropped: dae.Stats{StaleEventTimestamp: 1}},
		{name: "coa-no-message-authenticator", now: t0,
			dropped: dae.Stats{MissingMessageAuthenticator: 1}},
		{name: "coa-no-message-authenticator", now: t0, allowNoMA: true,
			handled:  &dae.Request{Code: lr.CodeCoARequest, Identifier: 0x5d, SessionID: "abc", IdleTimeout: 10 * time.Minute},
			wantCode: lr.CodeCoAACK},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &recorder{}
			s, err := dae.NewServer(dae.Config{
				Handler:                          h,
				Clients:                          []dae.Client{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: secret}},
				AllowMissingMessageAuthenticator: c.allowNoMA,
			})
			if err != nil {
				t.Fatal(err)
			}
			dae.SetClock(s, func() time.Time { return c.now })
			req := vector(t, c.name)
			out := s.Handle(context.Background(), req, from)
			got := h.calls()
			if c.handled == nil {
				c.dropped.Requests = 1
				if out != nil || len(got) != 0 || s.Stats() != c.dropped {
					t.Errorf("not dropped as %+v: answer % x, handler saw %+v, stats %+v", c.dropped, out, got, s.Stats())
				}
				return
			}
			r, err := daetest.Verify(out, req, secret)
			if err != nil {
				t.Fatalf("answer: %v", err)
			}
			if r.Code != c.wantCode || r.MessageAuthenticator == c.allowNoMA {
				t.Errorf("answer %s, Message-Authenticator %v", r.Code, r.MessageAuthenticator)
			}
			w := *c.handled
			w.Source, w.Client = from, netip.MustParsePrefix("127.0.0.0/8")
			if len(got) != 1 || got[0] != w {
				t.Errorf("handler saw %+v, want %+v", got, w)
			}
		})
	}
}
