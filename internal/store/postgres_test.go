package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = ? AND b = ?`, `WHERE a = $1 AND b = $2`},
		{`SET c = ?1 + 1, u = ?2 WHERE s = ?3 AND c <= ?1`, `SET c = $1 + 1, u = $2 WHERE s = $3 AND c <= $1`},
		{`VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, `VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`},
		{`?12 ?`, `$12 $13`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestReadDSNFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# the shared store\nhost=db.example.net dbname=gatehouse user=gh password=pw sslmode=verify-full\n", 0o600)
	if dsn, err := ReadDSNFile(good); err != nil || !strings.HasPrefix(dsn, "host=db.example.net") {
		t.Errorf("ReadDSNFile(good) = %q, %v", dsn, err)
	}
	for _, c := range []struct {
		path, want string
	}{
		{write("readable", "host=x\n", 0o640), "chmod 600"},
		{write("two", "host=x\nhost=y\n", 0o600), "found 2 lines"},
		{write("empty", "# nothing\n", 0o600), "found 0 lines"},
		{write("bad", "postgres://gh:secretpw@[::1/db\n", 0o600), "does not parse"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		_, err := ReadDSNFile(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadDSNFile(%s) = %v, want an error with %q", filepath.Base(c.path), err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secretpw") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

// postgresOnly are the PostgreSQL driver's own tests; TestPostgres runs
// them after driverSuite, on its server.
var postgresOnly = []func(*testing.T){testSchemasAgree, testMigrationLock, testVerifyFull, testOutage}

// testSchemasAgree: both drivers' migrations make the same tables with
// the same columns, so that Copy and the package's queries hold for both.
func testSchemasAgree(t *testing.T) {
	ctx := context.Background()
	lite := openAt(t, t.TempDir()+"/g.db")
	pg := newStore(t)
	columns := func(st *Store, q string) map[string][]string {
		rows, err := st.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string][]string{}
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], col)
		}
		for _, cols := range out {
			slices.Sort(cols)
		}
		return out
	}
	a := columns(lite, `SELECT t.name, c.name FROM sqlite_schema t, pragma_table_info(t.name) c WHERE t.type = 'table'`)
	b := columns(pg, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`)
	for table := range a {
		if !slices.Equal(a[table], b[table]) {
			t.Errorf("table %s: SQLite columns %v, PostgreSQL %v", table, a[table], b[table])
		}
	}
	for table := range b {
		if _, ok := a[table]; !ok {
			t.Errorf("table %s only on PostgreSQL", table)
		}
	}
	if len(postgresMigrations) != len(migrations) {
		t.Errorf("%d PostgreSQL migrations, %d SQLite", len(postgresMigrations), len(migrations))
	}
	for i := range min(len(migrations), len(postgresMigrations)) {
		if migrations[i].version != postgresMigrations[i].version || migrations[i].name != postgresMigrations[i].name {
			t.Errorf("migration %d: SQLite %d %q, PostgreSQL %d %q", i, migrations[i].version, migrations[i].name,
				postgresMigrations[i].version, postgresMigrations[i].name)
		}
	}
}

// testMigrationLock: ten gateways opening a new database at once migrate
// it once, under the advisory lock, and all open it.
func testMigrationLock(t *testing.T) {
	ctx := context.Background()
	dsn := newLocation(t)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			st, err := OpenPostgres(ctx, dsn, testSealer(t, testKey), PostgresOptions{MaxConns: 2})
			if err == nil {
				st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
		}
	}
	st := openAt(t, dsn)
	var n, max int
	if err := st.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(postgresMigrations) || max != SchemaVersion() {
		t.Errorf("schema_migrations holds %d rows up to version %d, want %d up to %d", n, max, len(postgresMigrations), SchemaVersion())
	}
}

// testVerifyFull: with sslmode=verify-full a server certificate from
// another CA is refused.
func testVerifyFull(t *testing.T) {
	dsn := newLocation(t)
	bad := strings.Replace(dsn, filepathEscape(testPG.CAFile), filepathEscape(testPG.UntrustedCAFile), 1)
	if bad == dsn {
		t.Fatalf("no CA file in %q", dsn)
	}
	_, err := OpenPostgres(context.Background(), bad, testSealer(t, testKey), PostgresOptions{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("open with an untrusted CA: %v, want a certificate error", err)
	}
	if err != nil && strings.Contains(err.Error(), "gatehouse-test-password") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func filepathEscape(p string) string { return strings.ReplaceAll(p, "/", "%2F") }

// testOutage: with the server down every call fails (IsUnavailable), none
// succeeds from memory, and the same Store works again once the server
// is back, without reopening.
func testOutage(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	must(t, st.AddUser(ctx, "alice"))
	must(t, st.SetPassword(ctx, "alice", "pw"))
	must(t, st.AddToken(ctx, totpToken("T1")))
	c, err := NewCache(ctx, st)
	must(t, err)
	defer c.Close()
	if ok, err := c.CheckPassword(ctx, "alice", "pw"); err != nil || !ok {
		t.Fatalf("before the outage: %v %v", ok, err)
	}
	testPG.Kill(t)
	down := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s succeeded with the server down", what)
		} else if !IsUnavailable(err) {
			t.Errorf("%s: %v: IsUnavailable is false", what, err)
		}
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = c.CheckPassword(qctx, "alice", "pw")
	down("a cached password check", err)
	down("a TOTP commit", st.CommitTOTP(qctx, "T1", 5, 0))
	_, err = st.Revisions(qctx)
	down("Revisions", err)
	testPG.Restart(t)
	var after error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if after = st.CommitTOTP(ctx, "T1", 5, 0); after == nil || errors.Is(after, ErrReplayed) {
			break
		}
	}
	if after != nil {
		t.Fatalf("after the restart: %v (the commit made while down must not have happened)", after)
	}
	if ok, err := c.CheckPassword(ctx, "alice", "pw"); err != nil || !ok {
		t.Errorf("cached check after the restart: %v %v", ok, err)
	}
}

// fakeConnector fails while down, and counts attempts.
type fakeConnector struct {
	down     bool
	attempts int
}

func (f *fakeConnector) Connect(context.Context) (driver.Conn, error) {
	f.attempts++
	if f.down {
		return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return nil, nil
}

func (f *fakeConnector) Driver() driver.Driver { return nil }

// TestBackoffConnector: after a failed attempt, attempts within the
// back-off fail at once without dialling; the wait doubles up to
// maxBackoff; one success resets it.
func TestBackoffConnector(t *testing.T) {
	f := &fakeConnector{down: true}
	c := &backoffConnector{Connector: f}
	ctx := context.Background()
	if _, err := c.Connect(ctx); !IsUnavailable(err) || f.attempts != 1 {
		t.Fatalf("first attempt: %v, %d dials", err, f.attempts)
	}
	for range 5 {
		if _, err := c.Connect(ctx); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "next attempt in") {
			t.Fatalf("within the back-off: %v", err)
		}
	}
	if f.attempts != 1 {
		t.Fatalf("%d dials within the back-off, want none", f.attempts-1)
	}
	for i := range 8 {
		c.next = time.Time{} // the wait has passed
		c.Connect(ctx)
		if want := min(minBackoff<<(i+1), maxBackoff); c.wait != want {
			t.Errorf("after %d failures the wait is %s, want %s", i+2, c.wait, want)
		}
	}
	f.down = false
	c.next = time.Time{}
	if _, err := c.Connect(ctx); err != nil || c.wait != 0 {
		t.Errorf("after the server is back: %v, wait %s", err, c.wait)
	}
}
