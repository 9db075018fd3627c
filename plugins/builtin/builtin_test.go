package builtin_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/plugins/builtin"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
)

// seed creates a store with alice (password "correct horse") and a TOTP
// token assigned to her, and returns the plugin options that open it.
func seed(t *testing.T) (map[string]string, []byte) {
	t.Helper()
	dir := t.TempDir()
	opts := map[string]string{"store_path": filepath.Join(dir, "g.db"), "key_file": filepath.Join(dir, "k")}
	key, err := seal.LoadOrCreateKey(opts["key_file"])
	if err != nil {
		t.Fatal(err)
	}
	s, _ := seal.New(key)
	ctx := context.Background()
	st, err := store.Open(ctx, opts["store_path"], s)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret := []byte("12345678901234567890")
	for _, step := range []error{
		st.AddUser(ctx, "alice"),
		st.SetPassword(ctx, "alice", "correct horse"),
		st.AddToken(ctx, store.Token{Serial: "t1", Kind: store.KindTOTP, Algorithm: store.AlgSHA1, Digits: 6,
			Period: 30 * time.Second, LastStep: -1, Secret: secret, User: "alice", Source: store.SourceOATH}),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return opts, secret
}

// The built-in back-ends pass the SDK's conformance kit, in-process over
// real gRPC, like any vendor's plugin.
func TestLocalConformance(t *testing.T) {
	opts, _ := seed(t)
	b, err := builtin.New("local")
	if err != nil {
		t.Fatal(err)
	}
	sdktest.Run(t, b, sdktest.Options{Config: opts, User: "alice", Secret: "correct horse"})
}

func TestOATHConformance(t *testing.T) {
	opts, secret := seed(t)
	code := otp.Code(secret, otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second},
		uint64(time.Now().Unix()/30))
	sdktest.Run(t, builtin.NewOATH(store.SourceOATH), sdktest.Options{Config: opts, User: "alice", Secret: code})
}

func TestUnknownBuiltin(t *testing.T) {
	if _, err := builtin.New("nosuch"); err == nil || err.Error() != `no built-in back-end "nosuch" (built in: [digipass ldap local oath radius])` {
		t.Errorf("got %v", err)
	}
}

// TestOATHReplay: a code that was used is refused as a replay, with the
// reason the gateway counts, not as a wrong code; a wrong code says so.
func TestOATHReplay(t *testing.T) {
	opts, secret := seed(t)
	o := builtin.NewOATH(store.SourceOATH)
	ctx := context.Background()
	if err := o.Configure(ctx, opts); err != nil {
		t.Fatal(err)
	}
	code := otp.Code(secret, otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second},
		uint64(time.Now().Unix()/30))
	v, err := o.VerifyPlaintext(ctx, "alice", code)
	if err != nil || !v.OK {
		t.Fatalf("first use: %+v %v", v, err)
	}
	if err := o.Commit(ctx, "alice", v.Token); err != nil {
		t.Fatal(err)
	}
	if err := o.Commit(ctx, "alice", v.Token); err == nil || !strings.Contains(err.Error(), builtin.ReplayReason) {
		t.Errorf("second commit of one code: %v; want %q", err, builtin.ReplayReason)
	}
	v, err = o.VerifyPlaintext(ctx, "alice", code)
	if err != nil || v.OK || !strings.HasPrefix(v.Reason, builtin.ReplayReason) {
		t.Errorf("replayed code: %+v %v; want refused with %q", v, err, builtin.ReplayReason)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	if v, _ := o.VerifyPlaintext(ctx, "alice", wrong); v.OK || v.Reason != "wrong code" {
		t.Errorf("wrong code: %+v", v)
	}
}
