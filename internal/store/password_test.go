package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

func TestPassword(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, u := range []string{"alice", "bob"} {
		if err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	// No password yet.
	if ok, err := st.CheckPassword(ctx, "alice", "anything"); ok || err != nil {
		t.Fatalf("CheckPassword without a password = %v, %v; want false, nil", ok, err)
	}
	if _, err := st.Password(ctx, "alice"); !errors.Is(err, ErrNoPassword) || err.Error() != `user "alice": no password set` {
		t.Fatalf("Password without a password = %v", err)
	}

	const pw = "Tr0ub4dor&3 — ünïcødé"
	if err := st.SetPassword(ctx, "alice", pw); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, "alice"); !u.HasPassword {
		t.Fatal("HasPassword false after SetPassword")
	}
	tests := []struct {
		user, pw string
		want     bool
	}{
		{"alice", pw, true},
		{"alice", pw + " ", false},
		{"alice", strings.ToUpper(pw), false},
		{"alice", pw[:len(pw)-1], false},
		{"alice", "", false},
		{"bob", pw, false}, // bob has no password
	}
	for _, tt := range tests {
		ok, err := st.CheckPassword(ctx, tt.user, tt.pw)
		if err != nil || ok != tt.want {
			t.Errorf("CheckPassword(%q, %q) = %v, %v; want %v", tt.user, tt.pw, ok, err, tt.want)
		}
	}
	ok, err := st.CheckPassword(ctx, "dave", pw)
	if ok || !errors.Is(err, ErrNotFound) {
		t.Fatalf("CheckPassword(unknown user) = %v, %v; want false, ErrNotFound", ok, err)
	}

	got, err := st.Password(ctx, "alice")
	if err != nil || got != pw {
		t.Fatalf("Password = %q, %v", got, err)
	}
	if _, err := st.Password(ctx, "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Password(unknown user) = %v", err)
	}

	// Changing it.
	if err := st.SetPassword(ctx, "alice", "new one"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.CheckPassword(ctx, "alice", pw); ok {
		t.Fatal("old password still accepted")
	}
	if ok, _ := st.CheckPassword(ctx, "alice", "new one"); !ok {
		t.Fatal("new password refused")
	}
	if got, _ := st.Password(ctx, "alice"); got != "new one" {
		t.Fatalf("Password after change = %q", got)
	}

	// Clearing it.
	if err := st.ClearPassword(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, "alice"); u.HasPassword {
		t.Fatal("HasPassword after ClearPassword")
	}
	if ok, err := st.CheckPassword(ctx, "alice", "new one"); ok || err != nil {
		t.Fatalf("CheckPassword after ClearPassword = %v, %v", ok, err)
	}
	if err := st.ClearPassword(ctx, "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ClearPassword(unknown user) = %v", err)
	}
	if err := st.SetPassword(ctx, "dave", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetPassword(unknown user) = %v", err)
	}
}

func TestPasswordRefused(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := st.AddUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pw string
	}{
		{"empty", ""},
		{"invalid UTF-8", "abc\xff"},
		{"257 characters", strings.Repeat("é", MaxPasswordLen+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.SetPassword(ctx, "alice", tt.pw)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("SetPassword = %v, want ErrInvalid", err)
			}
			if tt.pw != "" && strings.Contains(err.Error(), tt.pw) {
				t.Fatal("error contains the password")
			}
		})
	}
	if err := st.SetPassword(ctx, "alice", strings.Repeat("é", MaxPasswordLen)); err != nil {
		t.Fatalf("a %d-character password: %v", MaxPasswordLen, err)
	}
	if u, _ := st.User(ctx, "alice"); !u.HasPassword {
		t.Fatal("password not set")
	}
}

// A sealed password copied into another user's row does not open there:
// the additional data binds it to "password:alice".
func TestPasswordBoundToRow(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, u := range []string{"alice", "bob"} {
		if err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetPassword(ctx, "alice", "alice's secret"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, "bob", "bob's secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Exec(`UPDATE users SET password_sealed = (SELECT password_sealed FROM users WHERE name = 'alice') WHERE name = 'bob'`); err != nil {
		t.Fatal(err)
	}
	_, err := st.Password(ctx, "bob")
	if !errors.Is(err, seal.ErrAuthFailed) {
		t.Fatalf("Password(bob) with alice's sealed value = %v, want seal.ErrAuthFailed", err)
	}
	if strings.Contains(err.Error(), "alice's secret") {
		t.Fatal("error contains the password")
	}
}

func TestPHC(t *testing.T) {
	p := Argon2Params{Time: 3, Memory: 256, Threads: 4, SaltLen: 16, KeyLen: 32}
	phc, err := hashPassword("hunter2", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=256,t=3,p=4$") {
		t.Fatalf("PHC string = %s", phc)
	}
	if strings.Contains(phc, "hunter2") {
		t.Fatal("PHC string contains the password")
	}
	got, salt, key, err := decodePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	if got != p || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("decodePHC = %+v (salt %d, key %d), want %+v", got, len(salt), len(key), p)
	}
	if encodePHC(got, salt, key) != phc {
		t.Fatal("encode(decode(phc)) != phc")
	}
	if ok, err := verifyPassword("hunter2", phc); !ok || err != nil {
		t.Fatalf("verify = %v, %v", ok, err)
	}
	if ok, err := verifyPassword("hunter3", phc); ok || err != nil {
		t.Fatalf("verify wrong = %v, %v", ok, err)
	}
}

// A known answer from the reference implementation (P-H-C/phc-winner-argon2):
//
//	echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e
func TestPHCReference(t *testing.T) {
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	ok, err := verifyPassword("password", ref)
	if err != nil || !ok {
		t.Fatalf("reference hash: %v, %v", ok, err)
	}
}

// Hashes keep their parameters: raising the defaults does not break
// passwords set before.
func TestPasswordParamsRecorded(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := st.AddUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	saved := PasswordHashParams
	t.Cleanup(func() { PasswordHashParams = saved })
	PasswordHashParams = Argon2Params{Time: 2, Memory: 128, Threads: 2, SaltLen: 24, KeyLen: 48}
	if ok, err := st.CheckPassword(ctx, "alice", "pw"); !ok || err != nil {
		t.Fatalf("CheckPassword after a parameter change = %v, %v", ok, err)
	}
	if err := st.SetPassword(ctx, "alice", "pw2"); err != nil {
		t.Fatal(err)
	}
	var phc string
	if err := st.db.QueryRow(`SELECT password_hash FROM users WHERE name = 'alice'`).Scan(&phc); err != nil {
		t.Fatal(err)
	}
	p, _, _, err := decodePHC(phc)
	if err != nil || p != PasswordHashParams {
		t.Fatalf("stored parameters = %+v, %v; want %+v", p, err, PasswordHashParams)
	}
}

func TestDecodePHCMalformed(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	bad := map[string]string{
		"empty":            "",
		"argon2i":          "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"version 16":       "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"missing field":    "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"extra field":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x",
		"params order":     "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"params missing":   "$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"params not num":   "$argon2id$v=19$m=x,t=1,p=1$" + salt + "$" + key,
		"negative":         "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key,
		"t=0":              "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"p=0":              "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"p=256":            "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key,
		"m too small":      "$argon2id$v=19$m=8,t=1,p=4$" + salt + "$" + key,
		"m too large":      "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key,
		"t too large":      "$argon2id$v=19$m=64,t=1000000,p=1$" + salt + "$" + key,
		"salt bad base64":  "$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"salt short":       "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"hash padded":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "=",
		"hash short":       "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c2FsdA",
		"no leading $":     "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"spaces in params": "$argon2id$v=19$m=64, t=1, p=1$" + salt + "$" + key,
	}
	for name, phc := range bad {
		if _, _, _, err := decodePHC(phc); err == nil {
			t.Errorf("%s: decodePHC(%q) succeeded", name, phc)
		} else if phc != "" && strings.Contains(err.Error(), key) {
			t.Errorf("%s: error quotes the hash: %v", name, err)
		}
	}
}

func TestArgon2ParamsCheck(t *testing.T) {
	if err := defaultHashParams.check(); err != nil {
		t.Fatalf("default parameters: %v", err)
	}
	if defaultHashParams != (Argon2Params{Time: 1, Memory: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}) {
		t.Fatalf("defaults changed: %+v", defaultHashParams)
	}
	if got := defaultHashParams.String(); got != "m=65536,t=1,p=2" {
		t.Fatalf("String() = %q", got)
	}
}

// CheckPassword decides with the sealed copy, and with the argon2id hash
// when the copy does not unseal (here: a copy moved from another row; the
// store refuses to open with another key): the right password still
// passes, a wrong one still fails.
func TestCheckPasswordSealedAndHash(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	for _, u := range []string{"alice", "bob"} {
		if err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := st.SetPassword(ctx, u, u+"'s secret"); err != nil {
			t.Fatal(err)
		}
	}
	check := func(st *Store, name, pw string, want bool) {
		t.Helper()
		if ok, err := st.CheckPassword(ctx, name, pw); ok != want || err != nil {
			t.Errorf("CheckPassword(%s, %q) = %v, %v; want %v", name, pw, ok, err, want)
		}
	}
	check(st, "alice", "alice's secret", true)
	check(st, "alice", "alice's secret ", false)
	check(st, "alice", "alice's secre", false)
	check(st, "alice", "bob's secret", false)

	// Bob's copy replaced by alice's: it does not unseal for bob, so his
	// hash decides, and alice's password is not his.
	if _, err := st.db.Exec(`UPDATE users SET password_sealed = (SELECT password_sealed FROM users WHERE name = 'alice') WHERE name = 'bob'`); err != nil {
		t.Fatal(err)
	}
	check(st, "bob", "bob's secret", true)
	check(st, "bob", "alice's secret", false)
}
