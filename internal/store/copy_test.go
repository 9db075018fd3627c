package store

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// TestCopy copies a SQLite store holding one of everything into a new
// store of testDriver (SQLite, and PostgreSQL in TestPostgres: the
// migration of a single box to a shared database), then checks that
// everything reads back the same, secrets open, replay state holds, new
// rows can be added, and a second copy is refused.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	src := openAt(t, t.TempDir()+"/single.db")
	must(t, src.AddUser(ctx, "alice"))
	must(t, src.SetPassword(ctx, "alice", "correct horse"))
	must(t, src.AddUser(ctx, "bob"))
	must(t, src.SetDisabled(ctx, "bob", true))
	must(t, src.SetVPNAccess(ctx, "bob", VPNOn))
	must(t, src.AddGroup(ctx, "staff"))
	must(t, src.AddMember(ctx, "staff", "alice"))
	tok := totpToken("SOFT-1")
	tok.User = "alice"
	must(t, src.AddToken(ctx, tok))
	hotp := hotpToken("HOTP-1")
	must(t, src.AddToken(ctx, hotp))
	must(t, src.CommitTOTP(ctx, "SOFT-1", 1000, 1))
	must(t, src.CommitHOTP(ctx, "HOTP-1", 7))
	must(t, src.SaveLockout(ctx, Lockout{Name: "mallory", Failures: 3, WindowStart: time.Unix(1_700_000_000, 0)}))
	must(t, src.AddOperator(ctx, "ops", "console pass", RoleOperator))

	dst := newStore(t)
	rep, err := Copy(ctx, dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (CopyReport{Users: 2, Groups: 1, Members: 1, Tokens: 2, Lockouts: 1, Operators: 1}); rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	for _, name := range []string{"alice", "bob"} {
		a, err := src.User(ctx, name)
		must(t, err)
		b, err := dst.User(ctx, name)
		must(t, err)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("user %s: %+v, was %+v", name, b, a)
		}
	}
	if ok, err := dst.CheckPassword(ctx, "alice", "correct horse"); err != nil || !ok {
		t.Errorf("alice's password after the copy: %v %v", ok, err)
	}
	for _, serial := range []string{"SOFT-1", "HOTP-1"} {
		a, err := src.Token(ctx, serial)
		must(t, err)
		b, err := dst.Token(ctx, serial)
		must(t, err)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("token %s: %v, was %v", serial, b, a)
		}
	}
	if err := dst.CommitTOTP(ctx, "SOFT-1", 1000, 0); !errors.Is(err, ErrReplayed) {
		t.Errorf("a step used before the copy: %v, want ErrReplayed", err)
	}
	if err := dst.CommitHOTP(ctx, "HOTP-1", 7); !errors.Is(err, ErrReplayed) {
		t.Errorf("a counter used before the copy: %v, want ErrReplayed", err)
	}
	if l, ok, err := dst.Lockout(ctx, "mallory"); err != nil || !ok || l.Failures != 3 {
		t.Errorf("lockout after the copy: %+v %v %v", l, ok, err)
	}
	if _, ok, err := dst.CheckOperator(ctx, "ops", "console pass"); err != nil || !ok {
		t.Errorf("operator after the copy: %v %v", ok, err)
	}
	// The copied ids do not collide with new rows.
	must(t, dst.AddUser(ctx, "carol"))
	must(t, dst.AddGroup(ctx, "admins"))
	must(t, dst.AddMember(ctx, "admins", "carol"))
	if _, err := Copy(ctx, dst, src); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("second copy: %v, want ErrNotEmpty", err)
	}
	other, err := Open(ctx, t.TempDir()+"/other.db", testSealer(t, bytes.Repeat([]byte{0x42}, seal.KeySize)))
	must(t, err)
	defer other.Close()
	if _, err := Copy(ctx, newStore(t), other); !errors.Is(err, ErrWrongKey) {
		t.Errorf("copy from a store under another key: %v, want ErrWrongKey", err)
	}
}
