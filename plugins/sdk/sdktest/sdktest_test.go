package sdktest_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
)

// store is a well-behaved back-end with every capability: a password per
// user and a sheet of one-time codes.
type store struct {
	mu       sync.Mutex
	password map[string]string
	codes    map[string][]string
	used     map[string]bool

	// Faults, for the tests that prove the kit catches them.
	errOnWrong     bool // a wrong secret is an error
	leakReason     bool // the reason quotes the secret
	badHashHash    bool // MS-CHAPv2 proof for another secret
	consumeOnCheck bool // VerifyPlaintext consumes codes
	longCodes      bool // fragments longer than declared
}

func newStore() *store {
	return &store{
		password: map[string]string{"alice": "correct horse"},
		codes:    map[string][]string{"alice": {"123456", "654321"}},
		used:     map[string]bool{},
	}
}

func (s *store) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name: "store", Version: "1",
		Capabilities:    []sdk.Capability{sdk.CapFragments, sdk.CapVerifyPlaintext, sdk.CapVerifyMSCHAPv2, sdk.CapIdentity},
		FragmentLengths: []int{6},
		OneTime:         true,
		ConfigKeys:      []sdk.ConfigKey{{Name: "realm"}},
	}, nil
}

func (s *store) Configure(context.Context, map[string]string) error { return nil }

func (s *store) Fragments(_ context.Context, user string) ([]sdk.Fragment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sdk.Fragment
	for i, c := range s.codes[user] {
		if s.longCodes {
			c += "0"
		}
		if !s.used[user+c] {
			out = append(out, sdk.Fragment{Secret: c, Token: fmt.Sprint(i)})
		}
	}
	return out, nil
}

func (s *store) VerifyPlaintext(_ context.Context, user, secret string) (sdk.Verdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.password[user]; ok && subtle.ConstantTimeCompare([]byte(p), []byte(secret)) == 1 {
		return sdk.Verdict{OK: true}, nil
	}
	for _, c := range s.codes[user] {
		if c == secret && !s.used[user+c] {
			if s.consumeOnCheck {
				s.used[user+c] = true
			}
			return sdk.Verdict{OK: true, Token: "code"}, nil
		}
	}
	switch {
	case s.errOnWrong:
		return sdk.Verdict{}, errors.New("authentication failed")
	case s.leakReason:
		return sdk.Verdict{Reason: fmt.Sprintf("%q is wrong", secret)}, nil
	}
	return sdk.Verdict{Reason: "wrong secret"}, nil
}

func (s *store) VerifyMSCHAPv2(_ context.Context, user string, r sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	s.mu.Lock()
	p, ok := s.password[user]
	s.mu.Unlock()
	if !ok {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "unknown user"}}, nil
	}
	nt := mschapv2.NTHash(p)
	if !mschapv2.Verify(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, r.NTResponse, nt) {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "wrong secret"}}, nil
	}
	hh := mschapv2.HashNTHash(nt)
	if s.badHashHash {
		hh[0] ^= 1
	}
	return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{OK: true}, PasswordHashHash: &hh}, nil
}

func (s *store) Commit(_ context.Context, user, token string) error { return nil }

func (s *store) Lookup(_ context.Context, user string) (sdk.Identity, error) {
	_, ok := s.password[user]
	return sdk.Identity{Found: ok, Groups: []string{"staff"}}, nil
}

var options = sdktest.Options{User: "alice", Secret: "correct horse"}

func TestRunWellBehaved(t *testing.T) {
	sdktest.Run(t, newStore(), options)
}

// delegating answers MS-CHAPv2 the way a RADIUS bridge does: with the
// authenticator response and the keys.
type delegating struct{ wrongKey bool }

func (delegating) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "radius-bridge", Version: "2", Capabilities: []sdk.Capability{sdk.CapVerifyMSCHAPv2}}, nil
}

func (d delegating) VerifyMSCHAPv2(_ context.Context, user string, r sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	nt := mschapv2.NTHash("correct horse")
	if user != "alice" || !mschapv2.Verify(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, r.NTResponse, nt) {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "Access-Reject"}}, nil
	}
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(nt), r.NTResponse, true)
	if d.wrongKey {
		send, recv = recv, send // the classic mistake
	}
	return sdk.MSCHAPv2Verdict{
		Verdict:               sdk.Verdict{OK: true},
		AuthenticatorResponse: mschapv2.GenerateAuthenticatorResponse(nt, r.NTResponse, r.PeerChallenge, r.AuthenticatorChallenge, r.UserName),
		SendKey:               &send,
		RecvKey:               &recv,
	}, nil
}

func TestRunDelegating(t *testing.T) {
	sdktest.Run(t, delegating{}, options)
}

// TestConformanceCatches proves each check can fail.
func TestConformanceCatches(t *testing.T) {
	tests := []struct {
		name  string
		b     sdk.Backend
		check string
		want  string
	}{
		{"wrong secret is an error", func() sdk.Backend { s := newStore(); s.errOnWrong = true; return s }(),
			"VerifyPlaintext", "an error instead of a verdict"},
		{"reason quotes the secret", func() sdk.Backend { s := newStore(); s.leakReason = true; return s }(),
			"VerifyPlaintext", "contains the secret that was sent"},
		{"hash-hash of another secret", func() sdk.Backend { s := newStore(); s.badHashHash = true; return s }(),
			"VerifyMSCHAPv2", "PasswordHashHash is not"},
		{"verify consumes", func() sdk.Backend { s := newStore(); s.consumeOnCheck = true; return s }(),
			"Fragments", "verifying must not consume"},
		{"fragments too long", func() sdk.Backend { s := newStore(); s.longCodes = true; return s }(),
			"Fragments", "7 bytes long; the description declares [6]"},
		{"swapped MPPE keys", delegating{wrongKey: true}, "VerifyMSCHAPv2", "not the server's MPPE master keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures, err := sdktest.Conformance(context.Background(), tt.b, options)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range failures {
				if f.Check == tt.check && strings.Contains(f.Problem, tt.want) {
					return
				}
			}
			t.Errorf("no %s failure containing %q; failures: %v", tt.check, tt.want, failures)
		})
	}
}

func TestStartClosesCleanly(t *testing.T) {
	c := sdktest.Start(t, newStore())
	if _, err := c.Describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, err := c.Describe(context.Background()); err == nil {
		t.Error("Describe after Close succeeded")
	}
}
