package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// RFC 6238 appendix B secrets.
var (
	secretSHA1 = []byte("12345678901234567890")
	secretSHA2 = []byte("12345678901234567890123456789012")
)

func totpToken(serial string) Token {
	return Token{
		Serial: serial, Kind: KindTOTP, Algorithm: AlgSHA1, Digits: 6, Period: 30 * time.Second,
		LastStep: -1, Secret: bytes.Clone(secretSHA1), Source: SourceOATH,
	}
}

func hotpToken(serial string) Token {
	return Token{
		Serial: serial, Kind: KindHOTP, Algorithm: AlgSHA1, Digits: 6,
		LastStep: -1, Secret: bytes.Clone(secretSHA1), Source: SourceOATH,
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, u := range []string{"alice", "bob"} {
		if err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	dp := Token{
		Serial: "FDS0123456", Kind: KindTOTP, Algorithm: AlgSHA256, Digits: 8, Period: 60 * time.Second,
		T0: 1_000_000_000, LastStep: 42, Secret: bytes.Clone(secretSHA2), User: "alice",
		Source: SourceDIGIPASS, Manufacturer: "OneSpan", Model: "DIGIPASS GO 6", Drift: -2,
	}
	hotp := hotpToken("HOTP-1")
	hotp.Counter = 17
	soft := totpToken("SOFT-1")
	soft.User = "bob"
	for _, tok := range []Token{dp, hotp, soft} {
		if err := st.AddToken(ctx, tok); err != nil {
			t.Fatalf("AddToken(%s): %v", tok.Serial, err)
		}
	}
	if err := st.AddToken(ctx, totpToken("SOFT-1")); !errors.Is(err, ErrExists) || err.Error() != `token "SOFT-1": already exists` {
		t.Fatalf("duplicate AddToken = %v", err)
	}
	orphan := totpToken("ORPHAN")
	orphan.User = "dave"
	if err := st.AddToken(ctx, orphan); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AddToken for unknown user = %v", err)
	}

	// Every field round-trips.
	for _, want := range []Token{dp, hotp, soft} {
		got, err := st.Token(ctx, want.Serial)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Token(%s) =\n  %v\nwant\n  %v", want.Serial, got, want)
		}
		if !bytes.Equal(got.Secret, want.Secret) {
			t.Errorf("Token(%s) secret differs", want.Serial)
		}
	}
	if _, err := st.Token(ctx, "NOPE"); !errors.Is(err, ErrNotFound) || err.Error() != `token "NOPE": not found` {
		t.Fatalf("Token(NOPE) = %v", err)
	}

	serials := func(ts []Token, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, tok := range ts {
			s = append(s, tok.Serial)
		}
		return s
	}
	filters := []struct {
		f    TokenFilter
		want []string
	}{
		{TokenFilter{}, []string{"FDS0123456", "HOTP-1", "SOFT-1"}},
		{TokenFilter{User: "alice"}, []string{"FDS0123456"}},
		{TokenFilter{User: "bob"}, []string{"SOFT-1"}},
		{TokenFilter{User: "dave"}, nil},
		{TokenFilter{Source: SourceOATH}, []string{"HOTP-1", "SOFT-1"}},
		{TokenFilter{Source: SourceDIGIPASS}, []string{"FDS0123456"}},
		{TokenFilter{User: "alice", Source: SourceOATH}, nil},
		{TokenFilter{Unassigned: true}, []string{"HOTP-1"}},
		{TokenFilter{Unassigned: true, Source: SourceDIGIPASS}, nil},
	}
	for _, tt := range filters {
		if got := serials(st.Tokens(ctx, tt.f)); !slices.Equal(got, tt.want) {
			t.Errorf("Tokens(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	if _, err := st.Tokens(ctx, TokenFilter{User: "alice", Unassigned: true}); !errors.Is(err, ErrInvalid) {
		t.Errorf("contradictory filter = %v", err)
	}

	if got := serials(st.UserTokens(ctx, "alice", "")); !slices.Equal(got, []string{"FDS0123456"}) {
		t.Errorf("UserTokens(alice) = %v", got)
	}
	if got := serials(st.UserTokens(ctx, "alice", SourceOATH)); got != nil {
		t.Errorf("UserTokens(alice, oath) = %v", got)
	}
	if _, err := st.UserTokens(ctx, "dave", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserTokens(dave) = %v", err)
	}

	// Assign and unassign.
	if err := st.AssignToken(ctx, "HOTP-1", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := st.AssignToken(ctx, "HOTP-1", "alice"); err != nil {
		t.Fatalf("assigning to the same user again = %v", err)
	}
	err := st.AssignToken(ctx, "HOTP-1", "bob")
	if !errors.Is(err, ErrAssigned) || !strings.Contains(err.Error(), `"alice"`) {
		t.Fatalf("AssignToken of alice's token to bob = %v", err)
	}
	if err := st.AssignToken(ctx, "HOTP-1", "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AssignToken to unknown user = %v", err)
	}
	if err := st.AssignToken(ctx, "NOPE", "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AssignToken of unknown token = %v", err)
	}
	if got := serials(st.UserTokens(ctx, "alice", SourceOATH)); !slices.Equal(got, []string{"HOTP-1"}) {
		t.Errorf("UserTokens(alice, oath) after assign = %v", got)
	}
	if err := st.UnassignToken(ctx, "HOTP-1"); err != nil {
		t.Fatal(err)
	}
	if err := st.UnassignToken(ctx, "HOTP-1"); err != nil {
		t.Fatalf("UnassignToken twice = %v", err)
	}
	if err := st.UnassignToken(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UnassignToken(NOPE) = %v", err)
	}
	if tok, _ := st.Token(ctx, "HOTP-1"); tok.User != "" || tok.Counter != 17 {
		t.Fatalf("after unassign: %v", tok)
	}
	if err := st.AssignToken(ctx, "HOTP-1", "bob"); err != nil {
		t.Fatal(err)
	}

	// Deleting a user unassigns the user's tokens and keeps them.
	if err := st.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if got := serials(st.Tokens(ctx, TokenFilter{Unassigned: true})); !slices.Equal(got, []string{"HOTP-1", "SOFT-1"}) {
		t.Errorf("unassigned after deleting bob = %v", got)
	}

	// Delete.
	if err := st.DeleteToken(ctx, "SOFT-1"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteToken(ctx, "SOFT-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteToken twice = %v", err)
	}
	if _, err := st.Token(ctx, "SOFT-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted token still there: %v", err)
	}
}

func TestAddTokenInvalid(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	tests := []struct {
		name string
		edit func(*Token)
	}{
		{"empty serial", func(t *Token) { t.Serial = "" }},
		{"serial with space at end", func(t *Token) { t.Serial = "ABC " }},
		{"serial too long", func(t *Token) { t.Serial = strings.Repeat("9", 65) }},
		{"kind", func(t *Token) { t.Kind = "motp" }},
		{"kind upper case", func(t *Token) { t.Kind = "TOTP" }},
		{"algorithm", func(t *Token) { t.Algorithm = "MD5" }},
		{"algorithm lower case", func(t *Token) { t.Algorithm = "sha1" }},
		{"5 digits", func(t *Token) { t.Digits = 5 }},
		{"11 digits", func(t *Token) { t.Digits = 11 }},
		{"no period", func(t *Token) { t.Period = 0 }},
		{"negative period", func(t *Token) { t.Period = -30 * time.Second }},
		{"fractional period", func(t *Token) { t.Period = 1500 * time.Millisecond }},
		{"last step below -1", func(t *Token) { t.LastStep = -2 }},
		{"period on hotp", func(t *Token) { t.Kind = KindHOTP }},
		{"counter too large", func(t *Token) { t.Kind, t.Period, t.Counter = KindHOTP, 0, 1<<63+5 }},
		{"source", func(t *Token) { t.Source = "" }},
		{"empty secret", func(t *Token) { t.Secret = nil }},
		{"secret too long", func(t *Token) { t.Secret = make([]byte, MaxSecretLen+1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := totpToken("SERIAL-1")
			tt.edit(&tok)
			err := st.AddToken(ctx, tok)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("AddToken = %v, want ErrInvalid", err)
			}
			if strings.Contains(err.Error(), string(secretSHA1)) {
				t.Fatal("error contains the secret")
			}
		})
	}
	ts, err := st.Tokens(ctx, TokenFilter{})
	if err != nil || len(ts) != 0 {
		t.Fatalf("invalid tokens were stored: %v, %v", ts, err)
	}
}

// A sealed secret moved to another token's row does not open.
func TestTokenSecretBoundToRow(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	a, b := totpToken("A"), totpToken("B")
	b.Secret = []byte("another secret of twenty")
	for _, tok := range []Token{a, b} {
		if err := st.AddToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.db.Exec(`UPDATE tokens SET secret = (SELECT secret FROM tokens WHERE serial = 'A') WHERE serial = 'B'`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Token(ctx, "B"); !errors.Is(err, seal.ErrAuthFailed) {
		t.Fatalf("Token(B) with A's sealed secret = %v, want seal.ErrAuthFailed", err)
	}
	if _, err := st.Token(ctx, "A"); err != nil {
		t.Fatalf("Token(A) = %v", err)
	}
}

func TestTokenRedacted(t *testing.T) {
	tok := totpToken("SERIAL-9")
	tok.Secret = []byte("TOPSECRETSEED")
	var logs bytes.Buffer
	lg := slog.New(slog.NewJSONHandler(&logs, nil))
	lg.Info("token", "token", tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("token", "token", tok, "ptr", &tok)
	js, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{
		"%v":   fmt.Sprintf("%v", tok),
		"%+v":  fmt.Sprintf("%+v", tok),
		"%#v":  fmt.Sprintf("%#v", tok),
		"%s":   fmt.Sprintf("%s", tok),
		"%x":   fmt.Sprintf("%x", tok),
		"%d":   fmt.Sprintf("%d", tok),
		"%q":   fmt.Sprintf("%q", tok),
		"&%v":  fmt.Sprintf("%v", &tok),
		"&%+v": fmt.Sprintf("%+v", &tok),
		"[]%v": fmt.Sprintf("%v", []Token{tok}),
		"err":  fmt.Errorf("x: %v", tok).Error(),
		"slog": logs.String(),
		"json": string(js),
	}
	leaks := []string{"TOPSECRETSEED", fmt.Sprintf("%x", tok.Secret), fmt.Sprint(tok.Secret), "VE9QU0VDUkVUU0VFRA"} // raw, hex, bytes, base64
	for name, out := range outs {
		for _, leak := range leaks {
			if strings.Contains(out, leak) {
				t.Errorf("%s leaks the secret: %s", name, out)
			}
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s does not say REDACTED: %s", name, out)
		}
		if !strings.Contains(out, "SERIAL-9") {
			t.Errorf("%s does not name the token: %s", name, out)
		}
	}
}
