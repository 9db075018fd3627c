package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOperators(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	before := time.Now().Add(-time.Second)

	must(t, st.AddOperator(ctx, "root-ops", "correct horse", RoleOperator))
	must(t, st.AddOperator(ctx, "auditor", "battery staple", RoleViewer))
	if err := st.AddOperator(ctx, "auditor", "other", RoleOperator); !errors.Is(err, ErrExists) || err.Error() != `operator "auditor": already exists` {
		t.Fatalf("duplicate AddOperator = %v", err)
	}
	for name, tc := range map[string]struct {
		name, pw string
		role     OperatorRole
	}{
		"bad name":     {" x", "pw", RoleViewer},
		"empty pw":     {"x", "", RoleViewer},
		"unknown role": {"x", "pw", "admin"},
		"empty role":   {"x", "pw", ""},
	} {
		if err := st.AddOperator(ctx, tc.name, tc.pw, tc.role); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AddOperator = %v, want ErrInvalid", name, err)
		}
	}
	// A user of the same name is someone else.
	must(t, st.AddUser(ctx, "auditor"))

	o, err := st.Operator(ctx, "auditor")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "auditor" || o.Role != RoleViewer || o.CreatedAt.Before(before) || !o.UpdatedAt.Equal(o.CreatedAt) {
		t.Fatalf("Operator = %+v", o)
	}
	if _, err := st.Operator(ctx, "nobody"); !errors.Is(err, ErrNotFound) || err.Error() != `operator "nobody": not found` {
		t.Fatalf("Operator(nobody) = %v", err)
	}
	ops, err := st.Operators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range ops {
		names = append(names, o.Name+":"+string(o.Role))
	}
	if !slices.Equal(names, []string{"auditor:viewer", "root-ops:operator"}) {
		t.Fatalf("Operators = %v", names)
	}

	check := func(name, pw string, want bool) {
		t.Helper()
		o, ok, err := st.CheckOperator(ctx, name, pw)
		if err != nil || ok != want || ok && o.Name != name || !ok && o != (Operator{}) {
			t.Errorf("CheckOperator(%s, %q) = %+v, %v, %v; want %v", name, pw, o, ok, err, want)
		}
	}
	check("auditor", "battery staple", true)
	check("auditor", "battery staple ", false)
	check("auditor", "correct horse", false)
	check("root-ops", "correct horse", true)
	check("nobody", "correct horse", false)
	check("Auditor", "battery staple", false)

	time.Sleep(time.Millisecond)
	must(t, st.SetOperatorPassword(ctx, "auditor", "new one"))
	check("auditor", "battery staple", false)
	check("auditor", "new one", true)
	if o2, _ := st.Operator(ctx, "auditor"); !o2.UpdatedAt.After(o.UpdatedAt) {
		t.Errorf("UpdatedAt did not move with the password: %v, %v", o.UpdatedAt, o2.UpdatedAt)
	}
	if err := st.SetOperatorPassword(ctx, "auditor", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty password: %v", err)
	}
	if err := st.SetOperatorPassword(ctx, "nobody", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetOperatorPassword(nobody) = %v", err)
	}

	must(t, st.SetOperatorRole(ctx, "auditor", RoleOperator))
	if o, ok, _ := st.CheckOperator(ctx, "auditor", "new one"); !ok || o.Role != RoleOperator {
		t.Errorf("after SetOperatorRole: %+v %v", o, ok)
	}
	if err := st.SetOperatorRole(ctx, "auditor", "root"); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetOperatorRole(root) = %v", err)
	}
	if err := st.SetOperatorRole(ctx, "nobody", RoleViewer); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetOperatorRole(nobody) = %v", err)
	}

	must(t, st.DeleteOperator(ctx, "auditor"))
	check("auditor", "new one", false)
	if err := st.DeleteOperator(ctx, "auditor"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteOperator = %v", err)
	}
	if _, err := st.User(ctx, "auditor"); err != nil {
		t.Errorf("deleting the operator touched the user: %v", err)
	}
}

// The password is stored only as an argon2id hash with the configured
// parameters: no sealed copy, nothing that holds the password.
func TestOperatorPasswordHashed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	must(t, st.AddOperator(ctx, "ops", "correct horse", RoleOperator))
	var hash string
	if err := st.db.QueryRow(`SELECT password_hash FROM operators WHERE name = 'ops'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	p, _, _, err := decodePHC(hash)
	if err != nil || p != PasswordHashParams || !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("stored hash %q: %+v, %v", hash, p, err)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("the hash holds the password")
	}
}

// An unknown name costs one argon2id computation with the configured
// parameters, as a known name does, so timing tells no names apart.
func TestCheckOperatorSpendsOnUnknownNames(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	must(t, st.AddOperator(ctx, "ops", "correct horse", RoleOperator))
	saved := operatorKDF
	t.Cleanup(func() { operatorKDF = saved })
	var calls []Argon2Params
	operatorKDF = func(pw, salt []byte, p Argon2Params) []byte {
		calls = append(calls, p)
		return saved(pw, salt, p)
	}
	for _, name := range []string{"ops", "nobody", "ops"} {
		for _, pw := range []string{"wrong", "correct horse"} {
			calls = nil
			if _, _, err := st.CheckOperator(ctx, name, pw); err != nil {
				t.Fatal(err)
			}
			if len(calls) != 1 || calls[0] != PasswordHashParams {
				t.Errorf("CheckOperator(%s, %s): argon2id computations %+v, want one with %+v", name, pw, calls, PasswordHashParams)
			}
		}
	}
}

// Operators survive a reopen and a rekey, which leaves their hashes
// alone (they are not sealed), and come back with a restored backup.
func TestOperatorsAcrossRekeyAndRestore(t *testing.T) {
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	st := ds.open(t)
	must(t, st.AddOperator(ctx, "ops", "correct horse", RoleViewer))
	var before string
	must(t, st.db.QueryRow(`SELECT password_hash FROM operators`).Scan(&before))
	st.Close()
	if _, err := Rekey(ctx, ds.db, ds.key, KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	st = ds.open(t)
	var after string
	must(t, st.db.QueryRow(`SELECT password_hash FROM operators`).Scan(&after))
	if after != before {
		t.Error("rekey changed an operator's hash")
	}
	if _, ok, err := st.CheckOperator(ctx, "ops", "correct horse"); !ok || err != nil {
		t.Fatalf("after rekey: %v %v", ok, err)
	}
	var backup bytes.Buffer
	if _, err := st.Backup(ctx, &backup, ds.key); err != nil {
		t.Fatal(err)
	}
	st.Close()
	to := freshTarget(t)
	if _, err := Restore(ctx, &backup, to.db, to.key, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := to.open(t).CheckOperator(ctx, "ops", "correct horse"); !ok || err != nil || o.Role != RoleViewer {
		t.Fatalf("after restore: %+v %v %v", o, ok, err)
	}
	for _, c := range sealedColumns {
		if c.table == "operators" {
			t.Errorf("operators.%s is listed as sealed", c.col)
		}
	}
}

// A store of version 2, as the release before the console left it, gets
// the operators table at the next open, its users intact.
func TestMigrateToOperators(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	must(t, st.AddUser(ctx, "alice"))
	for _, q := range []string{`DROP TABLE operators`, `DELETE FROM schema_migrations WHERE version >= 3`} {
		if _, err := st.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st = openAt(t, path)
	if got := migrationRows(t, st); !slices.Equal(got, []int{1, 2, 3}) || SchemaVersion() != 3 {
		t.Fatalf("schema_migrations = %v, SchemaVersion %d", got, SchemaVersion())
	}
	must(t, st.AddOperator(ctx, "ops", "pw", RoleOperator))
	if _, err := st.User(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
}
