package otp_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

// FuzzMatch builds the candidates of any token, valid or not, at any
// counter and time, and matches any code against them. Nothing panics;
// invalid parameters give no candidates; every candidate is a decimal
// code of the token's length; Match finds only a candidate equal to the
// code, never one of another length, and finds every candidate's code at
// its first occurrence. The seed corpus is in testdata/fuzz/FuzzMatch.
func FuzzMatch(f *testing.F) {
	f.Add(seed20, uint8(otp.TOTP), uint8(otp.SHA1), uint8(8), uint8(3), uint8(4), int8(0), uint64(0), int64(59), "94287082")
	f.Add(seed20, uint8(otp.HOTP), uint8(otp.SHA1), uint8(6), uint8(2), uint8(24), int8(0), uint64(1), int64(0), "287082")
	f.Fuzz(func(t *testing.T, secret []byte, kind, alg, digits, skew, lookAhead uint8, drift int8, counter uint64, unix int64, code string) {
		// digits%10 straddles 6..8 and the zero default; digits/10 gives
		// periods of 0 (30 s) to 25 s.
		p := otp.Params{Kind: otp.Kind(kind % 4), Algorithm: otp.Algorithm(alg % 4), Digits: int(digits % 10),
			Period: time.Duration(digits/10) * time.Second}
		st := otp.State{Counter: counter, LastStep: int64(counter>>1) - 2, Drift: int64(drift)}
		// Windows from -2 up to past the limit of skew; look-ahead stays
		// cheap (the limit is tested in TestFailClosed).
		w := otp.Window{Skew: int(skew) - 2, LookAhead: int(lookAhead) - 4}

		cands := otp.Candidates(secret, p, st, w, time.Unix(unix, 0))
		valid := len(secret) > 0 && p.Validate() == nil && w.Validate() == nil
		if !valid && cands != nil {
			t.Fatalf("invalid input gave %d candidates", len(cands))
		}
		n := p.Digits
		if n == 0 {
			n = otp.DefaultDigits
		}
		for _, c := range cands {
			if len(c.Code) != n || strings.Trim(c.Code, "0123456789") != "" {
				t.Fatalf("candidate at %d is not %d decimal digits", c.Counter, n)
			}
			if p.Kind == otp.HOTP && c.Counter < st.Counter {
				t.Fatalf("used HOTP counter %d offered (next %d)", c.Counter, st.Counter)
			}
			if p.Kind == otp.TOTP && int64(c.Counter) <= st.LastStep {
				t.Fatalf("used TOTP step %d offered (last %d)", c.Counter, st.LastStep)
			}
		}

		m, ok := otp.Match(cands, code)
		if ok && (m.Code != code || len(code) != n) {
			t.Fatalf("Match(%q) matched a candidate of length %d that differs", code, len(m.Code))
		}
		if !ok {
			for _, c := range cands {
				if c.Code == code && code != "" {
					t.Fatalf("Match(%q) missed candidate %d", code, c.Counter)
				}
			}
		}
		for i, c := range cands {
			m, ok := otp.Match(cands, c.Code)
			if !ok || m.Code != c.Code {
				t.Fatalf("Match misses candidate %d", c.Counter)
			}
			for _, e := range cands[:i] {
				if e.Code == c.Code && m.Counter != e.Counter {
					t.Fatalf("Match returned %d, not the first candidate with its code (%d)", m.Counter, e.Counter)
				}
			}
			if _, ok := otp.Match(cands, c.Code[1:]); ok {
				t.Fatal("Match matched a code one digit short")
			}
			if _, ok := otp.Match(cands, c.Code+"0"); ok {
				t.Fatal("Match matched a code one digit long")
			}
		}
	})
}

// FuzzParseKeyURI: any text parses or is refused without panic, and
// what parses writes back to a URI that parses to the same key. The seed
// corpus is in testdata/fuzz/FuzzParseKeyURI.
func FuzzParseKeyURI(f *testing.F) {
	f.Add("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example")
	f.Add("otpauth://hotp/bob?secret=GEZDGNBV&counter=42&digits=8&algorithm=SHA512")
	f.Fuzz(func(t *testing.T, uri string) {
		k, err := otp.ParseKeyURI(uri)
		if err != nil {
			return
		}
		if len(k.Secret) == 0 || k.Account == "" || k.Params.Validate() != nil {
			t.Fatalf("ParseKeyURI accepted a key it cannot use: %#v", k.Params)
		}
		again, err := otp.KeyURI(k)
		if err != nil {
			t.Fatalf("KeyURI of a parsed key: %v", err)
		}
		back, err := otp.ParseKeyURI(again)
		if err != nil {
			t.Fatalf("ParseKeyURI(KeyURI(k)): %v", err)
		}
		if !reflect.DeepEqual(back, k) {
			t.Fatalf("round trip changed the key:\n got %#v\nwant %#v", back, k)
		}
	})
}
