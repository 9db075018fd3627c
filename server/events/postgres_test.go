package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/testlog"
	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
)

// The index's tests run against both back-ends. A plain "go test" run is
// the SQLite run; TestPostgres runs every test of driverSuite again, as
// subtests, against a real PostgreSQL 15 (test/peers/postgres), each in a
// fresh database, then the tests of what only PostgreSQL has
// (postgresOnly). The suite reaches the database only through newIndex,
// newLocation and openAt, which follow testPG.

// testPG is the server of the PostgreSQL run; nil in the SQLite run.
var testPG *postgres.Server

// newLocation returns where a fresh index can be opened: a file path in a
// temporary directory, or the DSN of a new, empty database.
func newLocation(t testing.TB) string {
	t.Helper()
	if testPG != nil {
		return testPG.CreateDatabase(t)
	}
	return filepath.Join(t.TempDir(), "events.db")
}

// openAt opens the index at loc, a path or a postgres:// DSN.
func openAt(loc string, opts Options) (*Index, error) {
	if strings.HasPrefix(loc, "postgres://") {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return OpenPostgres(ctx, loc, opts)
	}
	return Open(loc, opts)
}

// driverSuite is every test that holds for both back-ends.
var driverSuite = []func(*testing.T){
	TestQueryFilters, TestQueryAgreesWithMatch, TestOddStrings, TestRetention,
	TestAppendNeverBlocks, TestAppendAllocs, TestReopen, TestInvalidKind,
	TestFollow, TestFollowSince, TestFollowCutOff, TestWriteErrors, TestRecorder,
}

// sqliteOnly are the package's other tests, and why they are not run
// against PostgreSQL.
var sqliteOnly = map[string]string{
	"TestSizeBound":         "SQLite's file size and auto_vacuum; testPostgresSizeBound is PostgreSQL's",
	"TestUnusableFile":      "damaged files; testPostgresSchemaTooNew is PostgreSQL's newer schema",
	"TestEventJSON":         "no index",
	"TestLogAttrs":          "no index",
	"TestKinds":             "no index",
	"TestWriteTable":        "no index",
	"TestParseFilter":       "no index",
	"TestParseFilterErrors": "no index",
	"TestParseDuration":     "no index",
	"TestMain":              "not a test",
	"TestPostgres":          "the runner",
	"TestSuiteComplete":     "this check",
}

// postgresOnly are PostgreSQL's own tests, run by TestPostgres after the
// suite.
var postgresOnly = []func(*testing.T){
	testPostgresTwoGateways, testPostgresFollowBacklog, testPostgresSchemaTooNew, testPostgresConcurrentOpen,
	testPostgresSizeBound, testPostgresPruneTogether, testPostgresOutage, testPostgresBadDSN,
}

func funcName(f func(*testing.T)) string {
	n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return n[strings.LastIndex(n, ".")+1:]
}

// TestPostgres runs driverSuite, then postgresOnly, against PostgreSQL.
func TestPostgres(t *testing.T) {
	testPG = postgres.Start(t, postgres.Options{NoFsync: true})
	defer func() { testPG = nil }()
	for _, f := range slices.Concat(driverSuite, postgresOnly) {
		t.Run(strings.TrimPrefix(funcName(f), "test"), f)
	}
}

// TestSuiteComplete: every test of the package is in driverSuite or in
// sqliteOnly, not both, so that a new test is not left out of the
// PostgreSQL run by mistake.
func TestSuiteComplete(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	suite := map[string]bool{}
	for _, f := range driverSuite {
		suite[funcName(f)] = true
	}
	for _, name := range files {
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			if in, why := suite[fn.Name.Name], sqliteOnly[fn.Name.Name]; in == (why != "") {
				t.Errorf("%s (%s): in driverSuite %v, in sqliteOnly %v; it must be in one of them", fn.Name.Name, name, in, why != "")
			}
		}
	}
}

// TestOddStrings proves strings SQLite keeps but PostgreSQL's TEXT
// refuses (a NUL, invalid UTF-8: a RADIUS User-Name may hold them) cost
// neither the event nor its batch, and that a filter by the same string
// finds it.
func TestOddStrings(t *testing.T) {
	ix := newIndex(t, Options{Retention: -1})
	odd := "bo\x00b\xff"
	ix.Append(Event{Time: t0, Kind: KindLogin, User: odd, SessionID: "s\x00", Message: "odd"})
	ix.Append(Event{Time: t0.Add(time.Second), Kind: KindLogin, User: "bob", Message: "plain"})
	flush(t, ix)
	if st := ix.Stats(); st.Written != 2 || st.Lost != 0 {
		t.Fatalf("stats %+v; want 2 written", st)
	}
	if got := labels(query(t, ix, Filter{User: odd})); got != "odd" {
		t.Errorf("by the odd user: %q", got)
	}
	if got := labels(query(t, ix, Filter{SessionID: "s\x00"})); got != "odd" {
		t.Errorf("by the odd session: %q", got)
	}
	if got := query(t, ix, Filter{User: odd}); len(got) == 1 && got[0].User != "bo\x00b\uFFFD" {
		t.Errorf("user read back %q", got[0].User)
	}
}

// pgIndex opens an index on dsn, closed when the test ends.
func pgIndex(t *testing.T, dsn string, opts Options) *Index {
	t.Helper()
	ix, err := openAt(dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// testPostgresTwoGateways: two Indexes on one database, as two gateways.
// What either appends, a Query on either returns, each row records the
// gateway that wrote it, and a follower receives the new events of its
// own Index only.
func testPostgresTwoGateways(t *testing.T) {
	dsn := testPG.CreateDatabase(t)
	a := pgIndex(t, dsn, Options{Retention: -1, gateway: "gw-a"})
	b := pgIndex(t, dsn, Options{Retention: -1, gateway: "gw-b"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fa := a.Follow(ctx, Filter{})
	fb := b.Follow(ctx, Filter{})
	for i, e := range corpus() {
		if i%2 == 0 {
			a.Append(e)
		} else {
			b.Append(e)
		}
		// Alternate commits, so that ids interleave.
		flush(t, a)
		flush(t, b)
	}
	for _, ix := range []*Index{a, b} {
		if got := labels(query(t, ix, Filter{})); got != "e0 e1 e2 e3 e4 e5 e6 e7" {
			t.Errorf("gateway %s sees %q", ix.be.(*pgBackend).gateway, got)
		}
		if got := labels(query(t, ix, Filter{User: "bob", Result: Refused})); got != "e6" {
			t.Errorf("gateway %s filters to %q", ix.be.(*pgBackend).gateway, got)
		}
	}
	rows, err := a.db.Query(`SELECT gateway, body FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var written []string
	for rows.Next() {
		var gw, body string
		if err := rows.Scan(&gw, &body); err != nil {
			t.Fatal(err)
		}
		written = append(written, gw)
	}
	if want := "gw-a gw-b gw-a gw-b gw-a gw-b gw-a gw-b"; strings.Join(written, " ") != want {
		t.Errorf("gateway column %q, want %q", written, want)
	}
	// Each follower receives its own Index's events only.
	var got []string
	for range 4 {
		got = append(got, recv(t, fa).Message)
	}
	if strings.Join(got, " ") != "e1 e3 e5 e7" {
		t.Errorf("A's follower got %q, want A's own events e1 e3 e5 e7", got)
	}
	got = got[:0]
	for range 4 {
		got = append(got, recv(t, fb).Message)
	}
	if strings.Join(got, " ") != "e2 e4 e6 e0" {
		t.Errorf("B's follower got %q, want B's own events e2 e4 e6 e0", got)
	}
}

// testPostgresFollowBacklog: a follower with Since first receives the
// stored events of every gateway, then its own Index's new ones, without
// a repeat, while both gateways write.
func testPostgresFollowBacklog(t *testing.T) {
	dsn := testPG.CreateDatabase(t)
	a := pgIndex(t, dsn, Options{Retention: -1, gateway: "gw-a"})
	b := pgIndex(t, dsn, Options{Retention: -1, gateway: "gw-b"})
	// B writes first and A nothing yet: A's last id is 0.
	for i := range 50 {
		b.Append(Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindLogin, Message: fmt.Sprint("b", i)})
	}
	flush(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := a.Follow(ctx, Filter{Since: t0, Limit: MaxLimit})
	for i := range 50 {
		a.Append(Event{Time: t0.Add(time.Second + time.Duration(i)*time.Millisecond), Kind: KindLogin, Message: fmt.Sprint("a", i)})
	}
	flush(t, a)
	seen := map[string]bool{}
	var order []string
	for len(seen) < 100 {
		e := recv(t, ch)
		if seen[e.Message] {
			t.Fatalf("%s received twice", e.Message)
		}
		seen[e.Message] = true
		order = append(order, e.Message)
	}
	if order[0] != "b0" || order[49] != "b49" {
		t.Errorf("the backlog does not start with B's stored events: %q", order[:50])
	}
	select {
	case e := <-ch:
		t.Errorf("an extra event: %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

// testPostgresSchemaTooNew: a database whose index schema is newer than
// this program knows is refused, naming both versions, and left as it
// was.
func testPostgresSchemaTooNew(t *testing.T) {
	dsn := testPG.CreateDatabase(t)
	ix := pgIndex(t, dsn, Options{})
	if _, err := ix.db.Exec(`UPDATE event_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	_, err := openAt(dsn, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("OpenPostgres on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "schema 99") || !strings.Contains(msg, fmt.Sprintf("knows %d", pgSchemaVersion)) {
		t.Errorf("the error does not name both versions: %v", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT version FROM event_schema`).Scan(&v); err != nil || v != 99 {
		t.Errorf("schema version after the refusal: %d, %v", v, err)
	}
}

// testPostgresConcurrentOpen: gateways starting together on an empty
// database migrate once (the advisory lock) and all open.
func testPostgresConcurrentOpen(t *testing.T) {
	dsn := testPG.CreateDatabase(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ix, err := openAt(dsn, Options{gateway: fmt.Sprint("gw", i)})
			if err != nil {
				errs <- err
				return
			}
			ix.Append(Event{Kind: KindGatewayStart, Message: fmt.Sprint(i)})
			errs <- ix.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ix := pgIndex(t, dsn, Options{})
	if got := query(t, ix, Filter{}); len(got) != n {
		t.Errorf("%d events, want %d", len(got), n)
	}
	var versions int
	if err := ix.db.QueryRow(`SELECT count(*) FROM event_schema`).Scan(&versions); err != nil || versions != 1 {
		t.Errorf("event_schema has %d rows (%v), want 1", versions, err)
	}
}

// fill appends n events of about 1 KiB, session ids 0..n-1 in time order,
// and flushes.
func fill(t *testing.T, ix *Index, from, n int) {
	pad := strings.Repeat("x", 900)
	for i := from; i < from+n; i++ {
		ix.Append(Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: KindLogin, User: fmt.Sprintf("user%d", i%50),
			SessionID: fmt.Sprint(i), Message: fmt.Sprintf("%d %s", i, pad)})
		if i%500 == 0 {
			flush(t, ix)
		}
	}
	flush(t, ix)
}

func totalSize(t *testing.T, ix *Index) int64 {
	t.Helper()
	var n int64
	if err := ix.db.QueryRow(`SELECT pg_total_relation_size('events')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testPostgresSizeBound: when the events take more than MaxBytes the
// oldest go, the newest stay, and the table then reuses the space of the
// deleted rows rather than growing, or being emptied prune after prune.
func testPostgresSizeBound(t *testing.T) {
	const maxBytes = 1 << 20
	ix := pgIndex(t, testPG.CreateDatabase(t), Options{MaxBytes: maxBytes, Retention: -1})
	const n = 5000 // about 1 KiB each, with indexes about six times the bound
	fill(t, ix, 0, n)
	before := totalSize(t, ix)
	if err := ix.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	got := query(t, ix, Filter{Limit: MaxLimit})
	t.Logf("%d events appended in %d bytes; %d pruned, %d left, %d bytes counted, table %d bytes",
		n, before, st.Pruned, len(got), st.Bytes, totalSize(t, ix))
	if st.Bytes > maxBytes || st.Bytes == 0 {
		t.Errorf("events take %d bytes after pruning; the bound is %d", st.Bytes, maxBytes)
	}
	if len(got) == 0 || len(got) >= n || int(st.Pruned)+len(got) != n {
		t.Fatalf("%d pruned + %d left, of %d", st.Pruned, len(got), n)
	}
	if got[len(got)-1].SessionID != fmt.Sprint(n-1) || got[0].SessionID != fmt.Sprint(n-len(got)) {
		t.Errorf("left %s..%s; pruning must take the oldest", got[0].SessionID, got[len(got)-1].SessionID)
	}
	// A second prune with nothing new deletes nothing: freed space the
	// table keeps does not count.
	if err := ix.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st2 := ix.Stats(); st2.Pruned != st.Pruned {
		t.Errorf("a second prune deleted %d more events", st2.Pruned-st.Pruned)
	}
	// New events reuse the space: the table does not grow past its size
	// before the prune, rounds of appending and pruning later.
	left := len(got)
	for round := range 4 {
		fill(t, ix, n+round*left/2, left/2)
		if err := ix.Prune(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	after := totalSize(t, ix)
	t.Logf("table %d bytes after four more rounds; %d events left", after, len(query(t, ix, Filter{Limit: MaxLimit})))
	if after > before*3/2 {
		t.Errorf("the table grew from %d to %d bytes: the freed space is not reused", before, after)
	}
}

// testPostgresPruneTogether: gateways pruning one database at once
// delete each event once (retention and size), and none fails.
func testPostgresPruneTogether(t *testing.T) {
	dsn := testPG.CreateDatabase(t)
	clk := newClock(t0.Add(10000 * time.Second))
	var ixs []*Index
	for i := range 4 {
		ixs = append(ixs, pgIndex(t, dsn, Options{Retention: 5000 * time.Second, MaxBytes: 2 << 20, Now: clk.Now, gateway: fmt.Sprint("gw", i)}))
	}
	const n = 8000 // half of them older than the retention
	fill(t, ixs[0], 0, n)
	var wg sync.WaitGroup
	errs := make(chan error, len(ixs))
	for _, ix := range ixs {
		wg.Go(func() { errs <- ix.Prune(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var pruned uint64
	for _, ix := range ixs {
		pruned += ix.Stats().Pruned
	}
	left := query(t, ixs[1], Filter{Limit: MaxLimit})
	t.Logf("%d pruned, %d left", pruned, len(left))
	if int(pruned)+len(left) != n || len(left) == 0 || len(left) > n/2 {
		t.Errorf("%d pruned + %d left != %d appended (or nothing left, or retention not applied)", pruned, len(left), n)
	}
	if left[len(left)-1].SessionID != fmt.Sprint(n-1) {
		t.Errorf("newest left is %s", left[len(left)-1].SessionID)
	}
}

// testPostgresOutage: with the server down Append never blocks; the
// batches are held, the writer pauses between tries (it neither crashes
// nor spins) and logs the error once; when the server is back the held
// events are written, in order, with no new Append and no restart. What
// does not fit in Options.Buffer is counted lost, and so is what is still
// held when the Index closes.
func testPostgresOutage(t *testing.T) {
	srv := postgres.Start(t, postgres.Options{NoFsync: true})
	dsn := srv.CreateDatabase(t)
	var logged testlog.Buffer
	ix := pgIndex(t, dsn, Options{Retention: -1, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	ix.Append(Event{Kind: KindLogin, Message: "before"})
	flush(t, ix)
	srv.Kill(t)
	began := time.Now()
	for i := range 2000 {
		ix.Append(Event{Kind: KindLogin, Message: fmt.Sprint("down", i)})
		if i%100 == 0 {
			flush(t, ix)
		}
	}
	flush(t, ix)
	took := time.Since(began)
	st := ix.Stats()
	t.Logf("2000 appends and 21 flushes with the server down took %v; stats %+v", took, st)
	if st.Written != 1 || st.Lost != 0 || st.Dropped != 0 || st.Queued != 2000 {
		t.Errorf("stats %+v; want the 2000 events of the outage held (Queued)", st)
	}
	if took > 30*time.Second {
		t.Errorf("the outage held the writer %v", took)
	}
	if n := strings.Count(logged.String(), "cannot write events"); n != 1 {
		t.Errorf("logged %d times:\n%s", n, logged.String())
	}
	if _, err := ix.Query(context.Background(), Filter{}); err == nil {
		t.Error("Query with the server down succeeded")
	}

	srv.Restart(t)
	back := time.Now()
	for ix.Stats().Written != 2001 {
		if time.Since(back) > time.Minute {
			t.Fatalf("the held events were not written within a minute of the server's return: %+v; log:\n%s", ix.Stats(), logged.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("held events written %v after the server returned", time.Since(back).Round(time.Millisecond))
	if !strings.Contains(logged.String(), "writing events again") {
		t.Errorf("the recovery was not logged:\n%s", logged.String())
	}
	got := query(t, ix, Filter{Limit: MaxLimit})
	if len(got) != 2001 || got[0].Message != "before" || got[1].Message != "down0" || got[2000].Message != "down1999" {
		t.Errorf("index holds %d events, %q ... %q", len(got), got[0].Message, got[len(got)-1].Message)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Message != fmt.Sprint("down", i-1) {
			t.Fatalf("event %d is %q: held events out of order", i, got[i].Message)
		}
	}

	// A small buffer: what does not fit is lost; Close with the server
	// down gives up on the rest at once.
	small := pgIndex(t, dsn, Options{Retention: -1, Buffer: 100})
	srv.Kill(t)
	for i := range 300 {
		small.Append(Event{Kind: KindLogin, Message: fmt.Sprint("small", i)})
		if i%50 == 49 {
			flush(t, small)
		}
	}
	if st := small.Stats(); st.Lost != 200 || st.Queued != 100 {
		t.Errorf("stats %+v; want 100 held, 200 lost", st)
	}
	began = time.Now()
	if err := small.Close(); err != nil {
		t.Error(err)
	}
	if st := small.Stats(); st.Lost != 300 || st.Queued != 0 || st.Written != 0 {
		t.Errorf("stats after Close %+v; want 300 lost", st)
	}
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("Close with the server down took %v", d)
	}
}

// testPostgresBadDSN: a DSN that does not parse is refused without
// echoing it (it may carry a password), and an unreachable server fails
// Open.
func testPostgresBadDSN(t *testing.T) {
	_, err := OpenPostgres(context.Background(), "postgres://u:secret-pw@[::1/x", Options{})
	if err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("bad DSN: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := OpenPostgres(ctx, "postgres://u:p@127.0.0.1:1/x?sslmode=disable", Options{}); err == nil {
		t.Error("OpenPostgres succeeded with no server")
	}
	if _, err := OpenPostgres(ctx, testPG.DSN("x"), Options{MaxBytes: MinMaxBytes - 1}); err == nil {
		t.Error("OpenPostgres accepted a size bound below MinMaxBytes")
	}
}

func BenchmarkAppendPostgres(b *testing.B) {
	testPG = postgres.Start(b, postgres.Options{NoFsync: true})
	defer func() { testPG = nil }()
	BenchmarkAppend(b)
}
