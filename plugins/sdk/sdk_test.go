package sdk_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
)

// serveEnv makes the test binary act as a plugin: TestMain calls
// sdk.Serve with the back-end it names.
const serveEnv = "SDK_TEST_SERVE"

func TestMain(m *testing.M) {
	switch os.Getenv(serveEnv) {
	case "":
		os.Exit(m.Run())
	case "allow-list":
		sdk.Serve(&allowList{})
	case "inconsistent":
		sdk.Serve(declares{caps: []sdk.Capability{sdk.CapFragments}})
	}
	os.Exit(0)
}

// declares declares capabilities and implements none of them.
type declares struct{ caps []sdk.Capability }

func (d declares) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "declares", Version: "0", Capabilities: d.caps}, nil
}

func runSelf(t *testing.T, backend string, env ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+backend)
	cmd.Env = append(cmd.Env, env...)
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return errBuf.String(), cmd.ProcessState.ExitCode()
}

func TestServeFromTerminal(t *testing.T) {
	out, code := runSelf(t, "allow-list")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(exe)
	for _, want := range []string{
		"allow-list 1.0.0 is a Gatehouse authentication plugin (plugin protocol 2; capabilities: verify-plaintext, fragments)",
		"It is not meant to be run by hand",
		"sha256: " + hex.EncodeToString(sum[:]),
		"users (required): comma-separated user:password pairs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "These are not meant to be executed directly") {
		t.Errorf("go-plugin's own message, not Gatehouse's:\n%s", out)
	}
}

func TestServeRefusesInconsistentBackend(t *testing.T) {
	out, code := runSelf(t, "inconsistent", sdk.Handshake.MagicCookieKey+"="+sdk.Handshake.MagicCookieValue)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := "gatehouse plugin cannot start: declares: declares capability fragments but does not implement sdk.FragmentSource"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	// Run by hand, it says the same.
	out, _ = runSelf(t, "inconsistent")
	if !strings.Contains(out, "It would not start: declares: declares capability fragments") {
		t.Errorf("terminal output does not explain:\n%s", out)
	}
}

// quirky implements everything, badly where the test asks it to.
type quirky struct {
	err      error
	panicNow bool
	verdict  sdk.MSCHAPv2Verdict
	health   error
}

func (q *quirky) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "quirky", Version: "1", Capabilities: []sdk.Capability{sdk.CapVerifyPlaintext, sdk.CapVerifyMSCHAPv2},
		ConfigKeys: []sdk.ConfigKey{{Name: "a", Required: true, Description: "the a"}, {Name: "b"}}}, nil
}

func (q *quirky) Configure(context.Context, map[string]string) error { return q.err }

func (q *quirky) VerifyPlaintext(context.Context, string, string) (sdk.Verdict, error) {
	if q.panicNow {
		panic("boom")
	}
	return sdk.Verdict{}, q.err
}

func (q *quirky) VerifyMSCHAPv2(context.Context, string, sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	return q.verdict, q.err
}

func (q *quirky) Health(context.Context) error { return q.health }

func TestShim(t *testing.T) {
	ctx := context.Background()
	q := &quirky{}
	c := sdktest.Start(t, q)

	t.Run("unimplemented capabilities", func(t *testing.T) {
		if _, err := c.Fragments(ctx, "u"); status.Code(err) != codes.Unimplemented {
			t.Errorf("Fragments: %v", err)
		}
		if _, err := c.Lookup(ctx, "u"); status.Code(err) != codes.Unimplemented {
			t.Errorf("Lookup: %v", err)
		}
	})
	t.Run("commit without Committer succeeds", func(t *testing.T) {
		if err := c.Commit(ctx, "u", "t"); err != nil {
			t.Error(err)
		}
	})
	t.Run("configure checks keys", func(t *testing.T) {
		problems, err := c.Configure(ctx, map[string]string{"b": "1", "zz": "2"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{`unknown key "zz" (known keys: [a b])`, `missing required key "a" (the a)`}
		if fmt.Sprint(problems) != fmt.Sprint(want) {
			t.Errorf("problems %q, want %q", problems, want)
		}
	})
	t.Run("configure splits joined errors", func(t *testing.T) {
		q.err = errors.Join(errors.New("a: too short"), errors.New("b: not a number"))
		defer func() { q.err = nil }()
		problems, err := c.Configure(ctx, map[string]string{"a": "x"})
		if err != nil || len(problems) != 2 || problems[1] != "b: not a number" {
			t.Errorf("problems %q, err %v", problems, err)
		}
	})
	t.Run("panic becomes an error for that call", func(t *testing.T) {
		q.panicNow = true
		_, err := c.VerifyPlaintext(ctx, "u", "s")
		q.panicNow = false
		if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "panicked: boom") {
			t.Errorf("err %v", err)
		}
		if _, err := c.VerifyPlaintext(ctx, "u", "s"); err != nil {
			t.Errorf("after the panic: %v", err)
		}
	})
	t.Run("a back-end's UNAVAILABLE is not the transport's", func(t *testing.T) {
		q.err = status.Error(codes.Unavailable, "directory down")
		defer func() { q.err = nil }()
		_, err := c.VerifyPlaintext(ctx, "u", "s")
		if status.Code(err) != codes.Unknown || !strings.Contains(err.Error(), "directory down") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("context errors keep their code", func(t *testing.T) {
		q.err = fmt.Errorf("ldap: %w", context.DeadlineExceeded)
		defer func() { q.err = nil }()
		if _, err := c.VerifyPlaintext(ctx, "u", "s"); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("err %v", err)
		}
	})
	t.Run("malformed MS-CHAPv2 verdicts", func(t *testing.T) {
		k := [16]byte{}
		for _, v := range []sdk.MSCHAPv2Verdict{
			{Verdict: sdk.Verdict{OK: true}},
			{Verdict: sdk.Verdict{OK: true}, AuthenticatorResponse: "S=00", SendKey: &k},
			{Verdict: sdk.Verdict{OK: true}, PasswordHashHash: &k, RecvKey: &k},
		} {
			q.verdict = v
			if _, err := c.VerifyMSCHAPv2(ctx, "u", sdk.MSCHAPv2Request{}); status.Code(err) != codes.Internal {
				t.Errorf("verdict %v: err %v", v, err)
			}
		}
		q.verdict = sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "no"}, SendKey: &k}
		if v, err := c.VerifyMSCHAPv2(ctx, "u", sdk.MSCHAPv2Request{}); err != nil || v.SendKey != nil {
			t.Errorf("a rejection carries no proof: %v %v", v, err)
		}
	})
	t.Run("health", func(t *testing.T) {
		if err := c.Health(ctx); err != nil {
			t.Error(err)
		}
		q.health = errors.New("ldap1: connection refused")
		defer func() { q.health = nil }()
		if err := c.Health(ctx); err == nil || !strings.Contains(err.Error(), "ldap1: connection refused") {
			t.Errorf("err %v", err)
		}
	})
}
