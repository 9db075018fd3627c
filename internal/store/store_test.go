package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
)

// defaultHashParams keeps the production argon2id parameters for the
// benchmark; tests run with cheap ones.
var defaultHashParams = PasswordHashParams

func TestMain(m *testing.M) {
	PasswordHashParams = Argon2Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(m.Run())
}

var testKey = bytes.Repeat([]byte{0x5e}, seal.KeySize)

func testSealer(t testing.TB, key []byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openAt opens the store at path (or DSN) with testKey and closes it at the end of
// the test.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	st, err := openLocation(context.Background(), path, testSealer(t, testKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newStore opens a fresh store of testDriver.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openAt(t, newLocation(t))
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database created with mode %04o, want 0600", perm)
	}
	if st.Path() != path {
		t.Errorf("Path() = %q, want %q", st.Path(), path)
	}

	pragmas := map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "5000",
		"foreign_keys": "1",
		"synchronous":  "2", // FULL
	}
	for name, want := range pragmas {
		var got string
		if err := st.db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("PRAGMA %s = %q, want %q", name, got, want)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestOpenPathWithURIChars(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "g.db")
	st := openAt(t, path)
	if err := st.AddUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at the given path: %v", err)
	}
}

func TestOpenNilSealer(t *testing.T) {
	if _, err := openLocation(context.Background(), newLocation(t), nil); err == nil {
		t.Fatal("Open with a nil sealer succeeded")
	}
}

func TestOpenWrongKey(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	st.Close()

	other := bytes.Repeat([]byte{0x17}, seal.KeySize)
	_, err := openLocation(ctx, path, testSealer(t, other))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another key: err = %v, want ErrWrongKey", err)
	}
	if !strings.Contains(err.Error(), "restore the original key file") {
		t.Errorf("error does not say what to do: %v", err)
	}
	// The right key still opens it.
	openAt(t, path)
}

func migrationRows(t *testing.T, st *Store) []int {
	t.Helper()
	rows, err := st.db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	if err := st.AddUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for range 3 {
		st = openAt(t, path)
		if got := migrationRows(t, st); len(got) != len(migrations) || got[len(got)-1] != SchemaVersion() {
			t.Fatalf("schema_migrations = %v, want 1..%d once each", got, SchemaVersion())
		}
		if _, err := st.User(ctx, "alice"); err != nil {
			t.Fatalf("data lost across reopen: %v", err)
		}
		st.Close()
	}
}

func TestMigrationVersionsContiguous(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Fatalf("migrations[%d].version = %d, want %d", i, m.version, i+1)
		}
		if m.name == "" || strings.TrimSpace(m.sql) == "" {
			t.Fatalf("migration %d has no name or no SQL", m.version)
		}
	}
}

func TestMigrationAppliesPending(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	if err := st.AddUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]migration(nil), saved...), migration{
		version: SchemaVersion() + 1,
		name:    "test: add a column",
		sql:     `ALTER TABLE users ADD COLUMN test_note TEXT NOT NULL DEFAULT 'migrated';`,
	})
	st = openAt(t, path)
	var note string
	if err := st.db.QueryRowContext(ctx, `SELECT test_note FROM users WHERE name = 'alice'`).Scan(&note); err != nil {
		t.Fatalf("pending migration not applied: %v", err)
	}
	if got := migrationRows(t, st); len(got) != len(migrations) {
		t.Fatalf("schema_migrations = %v", got)
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	openAt(t, path).Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]migration(nil), saved...),
		migration{SchemaVersion() + 1, "test: good", `CREATE TABLE test_good (x INTEGER);`},
		migration{SchemaVersion() + 2, "test: bad", `CREATE TABLE test_bad (x INTEGER); SELECT * FROM no_such_table;`},
	)
	_, err := openLocation(ctx, path, testSealer(t, testKey))
	if err == nil || !strings.Contains(err.Error(), "test: bad") {
		t.Fatalf("Open = %v, want the failing migration named", err)
	}
	migrations = saved
	st := openAt(t, path)
	var n int
	if err := st.db.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('test_good', 'test_bad')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a failed upgrade left %d of its tables behind", n)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	if _, err := st.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`,
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	st.Close()

	_, err := openLocation(ctx, path, testSealer(t, testKey))
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	where := path
	if testDriver == Postgres {
		// The database is named by host, port and name; the DSN, which
		// holds the password, never appears.
		where = "postgres 127.0.0.1:"
		if strings.Contains(err.Error(), postgres.RolePassword) {
			t.Errorf("error %q holds the password", err)
		}
	}
	for _, want := range []string{where, fmt.Sprintf("schema version %d", SchemaVersion()+1), fmt.Sprintf("up to %d", SchemaVersion())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// Several processes starting at once on a new file: one migrates, the
// others wait and find it done.
func TestConcurrentOpen(t *testing.T) {
	path := newLocation(t)
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = openLocation(context.Background(), path, testSealer(t, testKey)) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("opener %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	if got := migrationRows(t, stores[0]); len(got) != len(migrations) {
		t.Fatalf("schema_migrations = %v", got)
	}
	var keyChecks int
	if err := stores[0].db.QueryRow(`SELECT COUNT(*) FROM meta WHERE key = ?`, metaKeyCheck).Scan(&keyChecks); err != nil {
		t.Fatal(err)
	}
	if keyChecks != 1 {
		t.Fatalf("%d key checks recorded", keyChecks)
	}
}

func TestNames(t *testing.T) {
	good := []string{"a", "alice", "Alice Smith", "bob@example.com", `CORP\bob`, "Zoë", "用户", strings.Repeat("x", 64), strings.Repeat("é", 64)}
	bad := []string{"", " alice", "alice ", "\talice", "ali\nce", "ali\x00ce", "a\x7fb", "a\u0085b", strings.Repeat("x", 65), "\xff\xfe", "alice\u00a0"}
	for _, name := range good {
		if err := checkName("user name", name); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range bad {
		err := checkName("user name", name)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("checkName(%q) = %v, want ErrInvalid", name, err)
		}
	}
}
