package otp_test

import (
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

func TestResyncHOTP(t *testing.T) {
	st := otp.State{Counter: 10}
	code := func(c uint64) string { return otp.Code(seed20, hotp6, c) }

	// The token was pressed 500 times away from us: the window misses it.
	if _, ok := accepts(seed20, hotp6, st, otp.DefaultWindow, now, code(510)); ok {
		t.Fatal("a code 500 ahead is inside the default window")
	}
	got, ok := otp.ResyncHOTP(seed20, hotp6, st, code(510), code(511), 1000)
	if !ok || got.Counter != 512 {
		t.Fatalf("resync from 510, 511: %+v, %v; want Counter 512", got, ok)
	}
	if _, ok := accepts(seed20, hotp6, got, otp.DefaultWindow, now, code(511)); ok {
		t.Error("the second resync code is accepted again")
	}
	if c, ok := accepts(seed20, hotp6, got, otp.DefaultWindow, now, code(512)); !ok || c != 512 {
		t.Error("the code after the resync codes is not accepted")
	}

	for _, tt := range []struct {
		name         string
		code1, code2 string
		max          int
	}{
		{"not consecutive", code(510), code(512), 1000},
		{"reversed", code(511), code(510), 1000},
		{"same code twice", code(510), code(510), 1000},
		{"beyond the search", code(510), code(511), 500},
		{"already used", code(8), code(9), 1000},
		{"wrong length", code(510) + "0", code(511) + "0", 1000},
		{"empty", "", "", 1000},
		{"max 0", code(10), code(11), 0},
		{"max too large", code(10), code(11), otp.MaxResync + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := otp.ResyncHOTP(seed20, hotp6, st, tt.code1, tt.code2, tt.max); ok || got != st {
				t.Errorf("resync = %+v, %v; want the state unchanged, false", got, ok)
			}
		})
	}
	// The edge of the search: code2 exactly maxLookAhead ahead.
	if got, ok := otp.ResyncHOTP(seed20, hotp6, st, code(509), code(510), 500); !ok || got.Counter != 511 {
		t.Errorf("resync with code2 at Counter+500, max 500: %+v, %v", got, ok)
	}
	if _, ok := otp.ResyncHOTP(seed20, totp6, st, code(510), code(511), 1000); ok {
		t.Error("ResyncHOTP resynchronised a TOTP token")
	}
}

func TestResyncTOTP(t *testing.T) {
	step := otp.Step(totp6, now)
	st := otp.State{LastStep: step - 100}
	code := func(s int64) string { return otp.Code(seed20, totp6, uint64(s)) }

	// The token's clock runs 7 steps (3.5 minutes) fast.
	if _, ok := accepts(seed20, totp6, st, otp.DefaultWindow, now, code(step+7)); ok {
		t.Fatal("a code 7 steps ahead is inside the default window")
	}
	got, ok := otp.ResyncTOTP(seed20, totp6, st, code(step+6), code(step+7), now, 10)
	if !ok || got.Drift != 7 || got.LastStep != step+7 {
		t.Fatalf("resync 7 ahead: %+v, %v; want Drift 7, LastStep %d", got, ok, step+7)
	}
	// The learnt drift shifts the window: a minute later the token shows
	// step+9, which is now accepted, and an on-time code is not.
	later := now.Add(time.Minute)
	if s, ok := accepts(seed20, totp6, got, otp.DefaultWindow, later, code(step+9)); !ok || s != uint64(step+9) {
		t.Errorf("after resync, the token's code a minute later: matched %v at %d", ok, s)
	}
	if _, ok := accepts(seed20, totp6, got, otp.DefaultWindow, later, code(step+2)); ok {
		t.Error("after resync to +7, an on-time code is still accepted")
	}
	if _, ok := accepts(seed20, totp6, got, otp.DefaultWindow, now, code(step+7)); ok {
		t.Error("the second resync code is accepted again")
	}

	// Behind: a clock 5 steps slow learns a negative drift; resync learns
	// afresh rather than adding to the old drift.
	behind, ok := otp.ResyncTOTP(seed20, totp6, got, code(step-6), code(step-5), now, 10)
	if ok {
		t.Fatalf("resync to steps before the last used one succeeded: %+v", behind)
	}
	drifted := st
	drifted.Drift = 3
	behind, ok = otp.ResyncTOTP(seed20, totp6, drifted, code(step-6), code(step-5), now, 10)
	if !ok || behind.Drift != -5 {
		t.Fatalf("resync 5 behind from drift 3: %+v, %v; want Drift -5", behind, ok)
	}

	for _, tt := range []struct {
		name         string
		code1, code2 string
		max          int
	}{
		{"not consecutive", code(step + 6), code(step + 8), 10},
		{"reversed", code(step + 7), code(step + 6), 10},
		{"beyond the search", code(step + 6), code(step + 7), 6},
		{"code1 beyond the search", code(step - 8), code(step - 7), 7},
		{"wrong length", code(step+6) + "1", code(step+7) + "1", 10},
		{"max too large", code(step + 6), code(step + 7), otp.MaxResync + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := otp.ResyncTOTP(seed20, totp6, st, tt.code1, tt.code2, now, tt.max); ok || got != st {
				t.Errorf("resync = %+v, %v; want the state unchanged, false", got, ok)
			}
		})
	}
	if _, ok := otp.ResyncTOTP(seed20, hotp6, st, code(step+6), code(step+7), now, 10); ok {
		t.Error("ResyncTOTP resynchronised an HOTP token")
	}
}
