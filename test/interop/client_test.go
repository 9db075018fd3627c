package interop

import (
	"net/netip"
	"strings"
	"testing"
)

func TestPPPDOptions(t *testing.T) {
	server := netip.MustParseAddr("198.51.100.1")
	def, err := ClientOptions{User: "alice"}.PPPDOptions(server)
	if err != nil {
		t.Fatal(err)
	}
	const want = `pty "pptp 198.51.100.1 --nolaunchpppd"
user "alice"
remotename gatehouse-test-server
noauth nodetach maxfail 1 noipdefault usepeerdns nodefaultroute noipv6
ipparam gatehouse-test
debug
refuse-pap refuse-chap refuse-mschap refuse-eap
require-mppe-128
`
	if def != want {
		t.Errorf("default options:\n%s\nwant:\n%s", def, want)
	}

	tests := []struct {
		o       ClientOptions
		has     []string
		hasNot  []string
		invalid bool
	}{
		{o: ClientOptions{Auth: "pap"}, has: []string{"refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap\n", "nomppe\n"}},
		{o: ClientOptions{Auth: "pap", MPPE: "required"}, has: []string{"require-mppe-128\n"}},
		{o: ClientOptions{MPPE: "40"}, has: []string{"require-mppe-40\n"}, hasNot: []string{"128"}},
		{o: ClientOptions{MPPE: "stateful"}, has: []string{"require-mppe-128\nmppe-stateful\n"}},
		{o: ClientOptions{MPPE: "any"}, has: []string{"require-mppe\n"}},
		{o: ClientOptions{Auth: "any"}, hasNot: []string{"refuse"}},
		{o: ClientOptions{PPPDOpts: []string{"mtu 1400", "lcp-echo-interval 2"}}, has: []string{"mtu 1400\nlcp-echo-interval 2\n"}},
		{o: ClientOptions{PPTPOpts: []string{"--nobuffer"}}, has: []string{`pty "pptp 198.51.100.1 --nolaunchpppd --nobuffer"`}},
		{o: ClientOptions{Auth: "eap"}, invalid: true},
		{o: ClientOptions{MPPE: "56"}, invalid: true},
		{o: ClientOptions{PPPDOpts: []string{"a\nb"}}, invalid: true},
		{o: ClientOptions{PPTPOpts: []string{"--a b"}}, invalid: true},
	}
	for _, tt := range tests {
		tt.o.User = "alice"
		got, err := tt.o.PPPDOptions(server)
		if tt.invalid {
			if err == nil {
				t.Errorf("%+v: no error", tt.o)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tt.o, err)
			continue
		}
		for _, s := range tt.has {
			if !strings.Contains(got, s) {
				t.Errorf("%+v: options lack %q:\n%s", tt.o, s, got)
			}
		}
		for _, s := range tt.hasNot {
			if strings.Contains(got, s) {
				t.Errorf("%+v: options have %q:\n%s", tt.o, s, got)
			}
		}
	}
}

func TestPPPDQuote(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                          `"alice"`,
		`correct "horse" battery\staple`: `"correct \"horse\" battery\\staple"`,
		"with space":                     `"with space"`,
	} {
		if got := pppdQuote(in); got != want {
			t.Errorf("pppdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestGuestFilesRefuseRealAddresses(t *testing.T) {
	tp := &Topology{ServerIP: ServerIP}
	for _, o := range []ClientOptions{
		{User: "a", Password: "b", Server: netip.MustParseAddr("10.0.0.1")},
		{User: "a", Password: "b", Ping: netip.MustParseAddr("8.8.8.8")},
		{User: "a", Password: "b", Routes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}},
		{User: "a"},
		{User: "a", Password: "two\nlines"},
	} {
		if _, err := o.guestFiles(tp); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
	files, err := ClientOptions{User: "a", Password: "b", Ping: LanHostIP}.guestFiles(tp)
	if err != nil {
		t.Fatal(err)
	}
	if files["ping"] != "203.0.113.2" || files["mppe_wait"] != "1" || files["secrets"] != "\"a\" * \"b\" *\n" {
		t.Errorf("files: %q", files)
	}
}
