package dae_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
)

// TestRadclient talks to the server with FreeRADIUS's radclient, the
// real Dynamic Authorization Client: its requests must be accepted, our
// answers must pass its checks (Response Authenticator and
// Message-Authenticator), and it must print the Error-Cause we send.
// radclient comes with the Debian package freeradius-utils; CI has it.
func TestRadclient(t *testing.T) {
	bin, err := exec.LookPath("radclient")
	if err != nil {
		t.Skip("SKIP: radclient not found: install the Debian package freeradius-utils (apt-get install freeradius-utils) to run this real-peer test")
	}
	h := &recorder{}
	s, err := dae.NewServer(dae.Config{
		Handler:       h,
		Clients:       []dae.Client{{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: secret}},
		NASIdentifier: "gw1",
	})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()
	addr := pc.LocalAddr().String()

	for _, c := range []struct {
		name    string
		command string // disconnect or coa
		secret  string
		input   string
		// want are lines radclient must print; "" means no answer.
		want []string
		// handled is what the Handler must see, nil for nothing.
		handled *dae.Request
	}{
		{name: "disconnect", command: "disconnect", secret: string(secret),
			input:   `Acct-Session-Id = "abc", Message-Authenticator = 0x00`,
			want:    []string{"Received Disconnect-ACK Id"},
			handled: &dae.Request{SessionID: "abc"}},
		{name: "disconnect of an unknown session", command: "disconnect", secret: string(secret),
			input:   `User-Name = "eve", Message-Authenticator = 0x00`,
			want:    []string{"Received Disconnect-NAK Id", "Error-Cause = Session-Context-Not-Found"},
			handled: &dae.Request{User: "eve"}},
		{name: "disconnect for another NAS", command: "disconnect", secret: string(secret),
			input: `NAS-Identifier = "gw2", Acct-Session-Id = "abc", Message-Authenticator = 0x00`,
			want:  []string{"Received Disconnect-NAK Id", "Error-Cause = NAS-Identification-Mismatch"}},
		{name: "coa", command: "coa", secret: string(secret),
			input:   `User-Name = "bob", Filter-Id = "quarantine", Session-Timeout = 3600, Message-Authenticator = 0x00`,
			want:    []string{"Received CoA-ACK Id"},
			handled: &dae.Request{User: "bob", FilterID: "quarantine", SessionTimeout: time.Hour}},
		{name: "coa with an unsupported attribute", command: "coa", secret: string(secret),
			input: `User-Name = "bob", Framed-MTU = 1400, Message-Authenticator = 0x00`,
			want:  []string{"Received CoA-NAK Id", "Error-Cause = Unsupported-Attribute"}},
		{name: "wrong secret", command: "disconnect", secret: "wrong",
			input: `Acct-Session-Id = "abc", Message-Authenticator = 0x00`},
		{name: "no Message-Authenticator", command: "disconnect", secret: string(secret),
			input: `Acct-Session-Id = "abc"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := len(h.calls())
			// -t 1 -r 1: one try, a second to wait for an answer that
			// must not come.
			cmd := exec.Command(bin, "-x", "-t", "1", "-r", "1", addr, c.command, c.secret)
			cmd.Stdin = strings.NewReader(c.input + "\n")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			t.Logf("echo '%s' | radclient -x -t 1 -r 1 %s %s %s: %v\n%s", c.input, addr, c.command, c.secret, err, out.String())
			text := out.String()
			if strings.Contains(text, "verification failed") || strings.Contains(text, "invalid") {
				t.Error("radclient refused our answer")
			}
			if c.want == nil {
				if strings.Contains(text, "Received") || !strings.Contains(text, "No reply") {
					t.Error("answered, or radclient did not say it got no reply")
				}
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("radclient did not print %q", w)
				}
			}
			got := h.calls()[calls:]
			switch {
			case c.handled == nil && len(got) != 0:
				t.Errorf("handler called with %+v", got[0])
			case c.handled != nil && len(got) != 1:
				t.Errorf("handler called %d times", len(got))
			case c.handled != nil:
				g := got[0]
				w := *c.handled
				w.Code, w.Source, w.Client, w.Identifier = g.Code, g.Source, g.Client, g.Identifier
				if g != w || g.Code.String() != map[string]string{"disconnect": "Disconnect-Request", "coa": "CoA-Request"}[c.command] ||
					g.Source.Addr() != netip.MustParseAddr("127.0.0.1") {
					t.Errorf("handler saw %+v, want %+v", g, w)
				}
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	st := s.Stats()
	if st.BadAuthenticator != 1 || st.MissingMessageAuthenticator != 1 || st.DisconnectACKs != 1 || st.DisconnectNAKs != 2 || st.CoAACKs != 1 || st.CoANAKs != 1 {
		t.Errorf("stats %+v", st)
	}
}
