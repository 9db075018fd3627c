package pskc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretRedacted prints and logs a parsed key package every way a
// careless caller might, and looks for the secret in every encoding.
func TestSecretRedacted(t *testing.T) {
	pkgs, err := Parse(readTestdata(t, "rfc6030-figure6.pskcxml"), Options{PreSharedKey: rfcPSK})
	if err != nil {
		t.Fatal(err)
	}
	kp := pkgs[0]
	opts := Options{PreSharedKey: rfcPSK, Password: rfcPassword}

	var out []string
	for _, v := range []any{kp, &kp, pkgs, kp.Secret, opts, &opts} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		out = append(out, fmt.Sprint(v), fmt.Sprintln(v))
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		out = append(out, string(j))
	}
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("imported", "token", kp, "secret", kp.Secret, "options", opts)
		log.Info("imported", slog.Any("token", &kp), slog.Any("all", pkgs))
		out = append(out, buf.String())
	}

	leaks := []string{
		"12345678901234567890",                     // the secret as text
		"3132333435363738393031323334353637383930", // hex
		"MTIzNDU2Nzg5MDEyMzQ1Njc4OTA",              // base64
		"[49 50 51",                                // a byte slice
		"\\x31\\x32",                               // escaped
		"12345678901234567890123456789012",         // the pre-shared key (hex, as it happens)
		"qwerty",                                   // the password
		"\x12\x34\x56\x78",                         // the pre-shared key, raw
	}
	for _, s := range out {
		for _, leak := range leaks {
			if strings.Contains(strings.ToLower(s), strings.ToLower(leak)) {
				t.Errorf("output leaks %q:\n%s", leak, s)
			}
		}
	}
	// And the redaction is visible, so nobody mistakes it for an empty key.
	if s := fmt.Sprintf("%+v", kp); !strings.Contains(s, "Secret:REDACTED") {
		t.Errorf("%%+v = %s; want Secret:REDACTED", s)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("imported", "token", kp)
	if s := buf.String(); !strings.Contains(s, "token.serial=987654321") || !strings.Contains(s, "token.secret=REDACTED") {
		t.Errorf("slog output %q lacks the serial or the redacted secret", s)
	}
}
