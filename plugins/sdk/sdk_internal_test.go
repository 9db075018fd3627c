package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type describeOnly struct{ d Description }

func (b describeOnly) Describe(context.Context) (Description, error) { return b.d, nil }

type everything struct{ describeOnly }

func (everything) Configure(context.Context, map[string]string) error { return nil }
func (everything) Fragments(context.Context, string) ([]Fragment, error) {
	return nil, nil
}
func (everything) VerifyPlaintext(context.Context, string, string) (Verdict, error) {
	return Verdict{}, nil
}
func (everything) VerifyMSCHAPv2(context.Context, string, MSCHAPv2Request) (MSCHAPv2Verdict, error) {
	return MSCHAPv2Verdict{}, nil
}
func (everything) Commit(context.Context, string, string) error     { return nil }
func (everything) Lookup(context.Context, string) (Identity, error) { return Identity{}, nil }
func (everything) Health(context.Context) error                     { return nil }

func TestCheck(t *testing.T) {
	all := []Capability{CapFragments, CapVerifyMSCHAPv2, CapVerifyPlaintext, CapIdentity}
	tests := []struct {
		name string
		b    Backend
		want []string // substrings of the error; none means no error
	}{
		{"complete", everything{describeOnly{Description{Name: "x", Capabilities: all, OneTime: true, ConfigKeys: []ConfigKey{{Name: "k"}}}}}, nil},
		{"fragments without FragmentSource", describeOnly{Description{Name: "x", Capabilities: []Capability{CapFragments}}},
			[]string{"x: declares capability fragments but does not implement sdk.FragmentSource"}},
		{"every missing interface", describeOnly{Description{Name: "x", Capabilities: all}},
			[]string{"sdk.FragmentSource", "sdk.MSCHAPv2Verifier", "sdk.PlaintextVerifier", "sdk.IdentitySource"}},
		{"one-time without Committer", describeOnly{Description{Name: "x", Capabilities: []Capability{}, OneTime: true}},
			[]string{"no capabilities", "one-time codes but does not implement sdk.Committer"}},
		{"keys without Configurer", describeOnly{Description{Name: "x", Capabilities: nil, ConfigKeys: []ConfigKey{{Name: "a"}}}},
			[]string{"configuration keys but does not implement sdk.Configurer"}},
		{"no name", everything{describeOnly{Description{Capabilities: all}}}, []string{"plugin: the description has no name"}},
		{"unknown capability", everything{describeOnly{Description{Name: "x", Capabilities: []Capability{9}}}}, []string{"unknown capability 9"}},
		{"duplicate", everything{describeOnly{Description{Name: "x", Capabilities: []Capability{CapIdentity, CapIdentity}}}}, []string{"identity is declared twice"}},
		{"lengths", everything{describeOnly{Description{Name: "x", Capabilities: all, FragmentLengths: []int{0, 6, 256}}}},
			[]string{"fragment length 0", "fragment length 256"}},
		{"keys", everything{describeOnly{Description{Name: "x", Capabilities: all, ConfigKeys: []ConfigKey{{Name: "a"}, {Name: "a"}, {}}}}},
			[]string{`"a" is declared twice`, "a configuration key has no name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(context.Background(), tt.b)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check: no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check: %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestCapabilityMatchesProtocol(t *testing.T) {
	// The constants are the protocol's enum numbers; describeToProto
	// converts by value.
	names := map[Capability]string{
		CapFragments:       "CAPABILITY_FRAGMENTS",
		CapVerifyMSCHAPv2:  "CAPABILITY_VERIFY_MSCHAPV2",
		CapVerifyPlaintext: "CAPABILITY_VERIFY_PLAINTEXT",
		CapIdentity:        "CAPABILITY_IDENTITY",
	}
	for c, want := range names {
		if got := describeToProto(Description{Capabilities: []Capability{c}}).Capabilities[0].String(); got != want {
			t.Errorf("%s is %s in the protocol, want %s", c, got, want)
		}
	}
}

// TestLoggerSpeaksHclog checks that Logger's lines have the shape
// go-plugin parses into log records on the host (see go-plugin's
// parseJSON: @level, @message, and @timestamp in hclog's layout).
func TestLoggerSpeaksHclog(t *testing.T) {
	var buf bytes.Buffer
	old := stderr
	stderr = &buf
	defer func() { stderr = old }()
	t.Setenv(LogLevelEnv, "debug")

	Logger().Warn("directory slow", slog.String("server", "ldap1"), slog.Int("ms", 900))
	Logger().Debug("detail")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["@level"] != "warn" || rec["@message"] != "directory slow" || rec["server"] != "ldap1" {
		t.Errorf("record %v", rec)
	}
	if _, err := time.Parse(hclogTime, rec["@timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	if !strings.Contains(lines[1], `"@level":"debug"`) {
		t.Errorf("debug line %s", lines[1])
	}

	buf.Reset()
	t.Setenv(LogLevelEnv, "")
	Logger().Debug("hidden")
	if buf.Len() != 0 {
		t.Errorf("debug logged at the default level: %s", buf.String())
	}
}

func TestSplitJoined(t *testing.T) {
	err := errors.Join(errors.New("a"), errors.Join(errors.New("b"), errors.New("c")))
	if got := strings.Join(splitJoined(err), ","); got != "a,b,c" {
		t.Errorf("splitJoined = %s", got)
	}
}

func TestRedaction(t *testing.T) {
	k := [16]byte{1}
	f := Fragment{Secret: "hunter2", Token: "t1"}
	v := MSCHAPv2Verdict{Verdict: Verdict{OK: true}, SendKey: &k, RecvKey: &k, PasswordHashHash: &k}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	l.Info("x", "f", f, "v", v)
	out := buf.String() + f.String() + v.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "\x01") || strings.Contains(out, "[1 0") {
		t.Errorf("secret material printed: %s", out)
	}
}
