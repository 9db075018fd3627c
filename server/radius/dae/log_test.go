package dae_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae/daetest"
)

// TestLog: decisions are logged with the request's attributes; drops a
// stranger can cause warn at most once per 10 seconds and reason, and
// every one is counted; the secret never appears.
func TestLog(t *testing.T) {
	var logs bytes.Buffer
	now := t0
	s := newServer(t, &recorder{}, &now, func(c *dae.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ctx := context.Background()
	req := daetest.MustEncode(disc, 1, attrs(avp(acctSessionID, "abc"), avp(userName, "bob")), secret, true)
	answer(t, req, s.Handle(ctx, req, dac))
	stranger := netip.MustParseAddrPort("198.51.100.1:1")
	for range 3 {
		s.Handle(ctx, req, stranger)
	}
	noMA := daetest.MustEncode(disc, 2, attrs(avp(userName, "bob")), secret, false)
	s.Handle(ctx, noMA, dac)
	now = now.Add(10 * time.Second)
	s.Handle(ctx, req, stranger)

	out := logs.String()
	t.Log(out)
	for _, want := range []string{
		`"msg":"dynamic authorization request acknowledged","request":{"code":"Disconnect-Request","from":"192.0.2.10:40000","user":"bob","session_id":"abc"}`,
		`"dropped_total":1`, `"dropped_total":4`, `no Message-Authenticator`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if n := strings.Count(out, "unknown address"); n != 2 {
		t.Errorf("%d unknown-address warnings, want 2 (rate-limited)", n)
	}
	if s.Stats().UnknownClient != 4 {
		t.Errorf("stats %+v", s.Stats())
	}
	if strings.Contains(out, string(secret)) {
		t.Error("the secret is in the log")
	}
}

func TestSecretRedacted(t *testing.T) {
	sec := dae.Secret("testing123")
	c := dae.Client{Prefix: dacPrefix, Secret: sec}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("client", "client", c, "secret", sec)
	for _, out := range []string{fmt.Sprint(sec), fmt.Sprintf("%s %v %q %x %X %#v %+v", sec, sec, sec, sec, sec, c, c), logs.String()} {
		if strings.Contains(out, "testing123") || strings.Contains(out, "74657374") || !strings.Contains(out, "REDACTED") {
			t.Errorf("secret printed: %s", out)
		}
	}
}
