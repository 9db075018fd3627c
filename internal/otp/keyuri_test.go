package otp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	pqotp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

func TestKeyURI(t *testing.T) {
	tests := []struct {
		key  otp.Key
		want string
	}{
		{
			otp.Key{Issuer: "ACME Co", Account: "alice@example.com", Secret: seed20, Params: otp.Params{Kind: otp.TOTP, Digits: 6, Period: 30 * time.Second}},
			"otpauth://totp/ACME%20Co:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
		},
		{
			otp.Key{Issuer: "Gatehouse", Account: "bob", Secret: seed32, Params: otp.Params{Kind: otp.HOTP, Algorithm: otp.SHA256, Digits: 8}, Counter: 7},
			"otpauth://hotp/Gatehouse:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&issuer=Gatehouse&algorithm=SHA256&digits=8&counter=7",
		},
		{
			otp.Key{Account: "carol", Secret: []byte{0xff, 1}, Params: otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA512, Digits: 8, Period: time.Minute}},
			"otpauth://totp/carol?secret=74AQ&algorithm=SHA512&digits=8&period=60",
		},
	}
	for _, tt := range tests {
		got, err := otp.KeyURI(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("KeyURI(%s) = %s, %v\nwant %s", tt.key.Account, got, err, tt.want)
			continue
		}
		back, err := otp.ParseKeyURI(got)
		if err != nil {
			t.Errorf("ParseKeyURI(%s): %v", got, err)
			continue
		}
		if !reflect.DeepEqual(back, tt.key) {
			t.Errorf("round trip of %s:\n got %#v\nwant %#v", tt.key.Account, back, tt.key)
		}
	}
}

func TestParseKeyURI(t *testing.T) {
	sha1TOTP := otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second}
	tests := []struct {
		uri  string
		want otp.Key
	}{
		// Google's example, with defaults filled in.
		{"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			otp.Key{Issuer: "Example", Account: "alice@google.com", Secret: []byte("Hello!\xde\xad\xbe\xef"), Params: sha1TOTP}},
		// Lower case, padding, a space after the colon, no issuer param.
		{"  otpauth://TOTP/Big%20Corp:%20john.doe?secret=jbswy3dpehpk3pxp====  ",
			otp.Key{Issuer: "Big Corp", Account: "john.doe", Secret: []byte("Hello!\xde\xad\xbe\xef"), Params: sha1TOTP}},
		// The issuer parameter wins; '+' is a space in a query.
		{"otpauth://totp/Old:dave?secret=GEZDGNBV&issuer=New+Name&algorithm=sha256&digits=8&period=60",
			otp.Key{Issuer: "New Name", Account: "dave", Secret: []byte("12345"), Params: otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA256, Digits: 8, Period: time.Minute}}},
		// HOTP with and without the counter.
		{"otpauth://hotp/erin?secret=GEZDGNBV&counter=42",
			otp.Key{Account: "erin", Secret: []byte("12345"), Params: otp.Params{Kind: otp.HOTP, Digits: 6}, Counter: 42}},
		{"otpauth://hotp/erin?secret=GEZDGNBV",
			otp.Key{Account: "erin", Secret: []byte("12345"), Params: otp.Params{Kind: otp.HOTP, Digits: 6}}},
	}
	for _, tt := range tests {
		got, err := otp.ParseKeyURI(tt.uri)
		if err != nil {
			t.Errorf("ParseKeyURI(%s): %v", tt.uri, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseKeyURI(%s):\n got %#v\nwant %#v", tt.uri, got, tt.want)
		}
	}
}

// TestParseKeyURIErrors: bad URIs are refused, and the error never shows
// the secret.
func TestParseKeyURIErrors(t *testing.T) {
	const s = "secret=JBSWY3DPEHPK3PXPJBSWY3DP"
	tests := []struct{ uri, want string }{
		{"otpauth://totp/a?" + s + "%zz", "malformed query"},
		{"otpauth://totp/a?" + s + "\x7f", "not a valid URL"},
		{"http://totp/a?" + s, "otpauth://"},
		{"otpauth://motp/a?" + s, "unknown OTP kind"},
		{"otpauth://totp/?" + s, "no account"},
		{"otpauth://totp/Issuer:?" + s, "no account"},
		{"otpauth://totp/a", "no secret"},
		{"otpauth://totp/a?secret=", "no secret"},
		{"otpauth://totp/a?secret=JBSWY3DPEHPK3PX1", "not base32"},
		{"otpauth://totp/a?secret=2", "not base32"}, // five bits, no byte
		{"otpauth://totp/a?" + s + "&" + s, `"secret" 2 times`},
		{"otpauth://totp/a?" + s + "&algorithm=MD5", "unknown OTP algorithm"},
		{"otpauth://totp/a?" + s + "&digits=5", "6 to 8"},
		{"otpauth://totp/a?" + s + "&digits=six", "not a number"},
		{"otpauth://totp/a?" + s + "&period=0", "positive number"},
		{"otpauth://totp/a?" + s + "&period=-30", "positive number"},
		{"otpauth://totp/a?" + s + "&encoder=steam", "encoder"},
		{"otpauth://hotp/a?" + s + "&counter=-1", "counter"},
		{"otpauth://totp/a:b:c?" + s, "contains ':'"},
		{"otpauth://totp/b?" + s + "&issuer=x:y", "contains ':'"},
	}
	for _, tt := range tests {
		_, err := otp.ParseKeyURI(tt.uri)
		if err == nil {
			t.Errorf("ParseKeyURI(%q) succeeded, want an error about %s", tt.uri, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseKeyURI(%q) = %v, want it to mention %s", tt.uri, err, tt.want)
		}
		if strings.Contains(err.Error(), "JBSWY3DP") {
			t.Errorf("ParseKeyURI(%q): the error shows the secret: %v", tt.uri, err)
		}
	}
}

func TestKeyURIErrors(t *testing.T) {
	ok := otp.Key{Account: "a", Secret: seed20, Params: totp6}
	for name, mod := range map[string]func(*otp.Key){
		"no secret":       func(k *otp.Key) { k.Secret = nil },
		"no account":      func(k *otp.Key) { k.Account = "" },
		"colon in issuer": func(k *otp.Key) { k.Issuer = "a:b" },
		"colon":           func(k *otp.Key) { k.Account = "a:b" },
		"leading space":   func(k *otp.Key) { k.Issuer, k.Account = "I", " a" },
		"bad params":      func(k *otp.Key) { k.Params.Digits = 10 },
	} {
		k := ok
		mod(&k)
		if uri, err := otp.KeyURI(k); err == nil {
			t.Errorf("%s: KeyURI = %s, want an error", name, uri)
		}
	}
	if _, err := otp.KeyURI(ok); err != nil {
		t.Fatalf("the unmodified key: %v", err)
	}
}

// TestKeyURIPquerna: pquerna/otp reads our URIs the way we wrote them, and
// we read its URIs and compute the codes it computes.
func TestKeyURIPquerna(t *testing.T) {
	ours := otp.Key{Issuer: "ACME Co", Account: "alice@example.com", Secret: seed64,
		Params: otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA512, Digits: 8, Period: time.Minute}}
	uri, err := otp.KeyURI(ours)
	if err != nil {
		t.Fatal(err)
	}
	k, err := pqotp.NewKeyFromURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	if k.Type() != "totp" || k.Issuer() != "ACME Co" || k.AccountName() != "alice@example.com" ||
		k.Algorithm() != pqotp.AlgorithmSHA512 || k.Digits() != 8 || k.Period() != 60 {
		t.Errorf("pquerna reads %s as type %s issuer %q account %q %s %d digits period %d",
			uri, k.Type(), k.Issuer(), k.AccountName(), k.Algorithm(), k.Digits(), k.Period())
	}
	at := time.Unix(1_700_000_000, 0)
	want, err := totp.GenerateCodeCustom(k.Secret(), at, totp.ValidateOpts{Period: 60, Digits: 8, Algorithm: pqotp.AlgorithmSHA512})
	if err != nil {
		t.Fatal(err)
	}
	if got := otp.Code(ours.Secret, ours.Params, uint64(otp.Step(ours.Params, at))); got != want {
		t.Errorf("our code %s, pquerna's from our URI %s", got, want)
	}

	gen, err := totp.Generate(totp.GenerateOpts{Issuer: "Gatehouse", AccountName: "bob", Period: 30, Digits: pqotp.DigitsSix, Algorithm: pqotp.AlgorithmSHA256})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := otp.ParseKeyURI(gen.URL())
	if err != nil {
		t.Fatalf("ParseKeyURI of pquerna's URI: %v", err)
	}
	want, err = totp.GenerateCodeCustom(gen.Secret(), at, totp.ValidateOpts{Period: 30, Digits: 6, Algorithm: pqotp.AlgorithmSHA256})
	if err != nil {
		t.Fatal(err)
	}
	if got := otp.Code(theirs.Secret, theirs.Params, uint64(otp.Step(theirs.Params, at))); got != want {
		t.Errorf("our code %s from pquerna's URI, pquerna's %s", got, want)
	}
	if theirs.Issuer != "Gatehouse" || theirs.Account != "bob" {
		t.Errorf("pquerna's URI read as issuer %q account %q", theirs.Issuer, theirs.Account)
	}
}

// TestSecretRedacts: neither a Secret nor a Key holding one shows the key.
func TestSecretRedacts(t *testing.T) {
	k := otp.Key{Issuer: "I", Account: "a", Secret: otp.Secret("hunter2-hunter2!"), Params: totp6}
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d"} {
		out = append(out, fmt.Sprintf(f, k.Secret), fmt.Sprintf(f, k))
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("enrolled", "secret", k.Secret, "key", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("enrolled", "secret", k.Secret, "key", k)
	out = append(out, buf.String())
	for _, s := range out {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "68756e74") || strings.Contains(s, "68 75 6e") || strings.Contains(s, "104 117 110") || strings.Contains(strings.ToLower(s), "nb2w45dfoi") {
			t.Errorf("the secret leaks: %s", s)
		}
	}
	if !strings.Contains(buf.String(), "REDACTED") {
		t.Errorf("no REDACTED in the log: %s", buf.String())
	}
}
