package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver; pure Go, no cgo

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// Sentinel errors. Methods wrap them once with the row they concern, for
// example `user "bob": not found`; test with errors.Is.
var (
	// ErrNotFound: the user, group, membership or token does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a user, group, membership or token serial already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: an argument breaks a rule (a name too long, an unknown
	// token kind); the message says which.
	ErrInvalid = errors.New("invalid")
	// ErrReplayed: a one-time code's counter or time step was already used,
	// here or in another process. A replay is a rejected login, not a
	// failure to decide.
	ErrReplayed = errors.New("one-time code already used")
	// ErrNoPassword: the user has no local password.
	ErrNoPassword = errors.New("no password set")
	// ErrAssigned: the token is assigned to another user; unassign it first.
	ErrAssigned = errors.New("assigned to another user")
	// ErrWrongKey: the database was sealed under a different key than the
	// one given to Open (the key file was replaced or belongs to another
	// installation).
	ErrWrongKey = errors.New("database was sealed with a different key")
	// ErrSchemaTooNew: the database was migrated by a newer Gatehouse.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
)

// BusyTimeout is how long a statement waits for another connection or
// process holding the write lock before it fails with SQLITE_BUSY. Writes
// are single short statements or small transactions, so waiting is rare and
// brief; the context given to each method still bounds the wait.
const BusyTimeout = 5 * time.Second

// maxOpenConns bounds the connections of one Store. SQLite serialises
// writers anyway; a bound keeps waiting goroutines in database/sql, where
// their context applies, rather than in SQLite's busy loop.
const maxOpenConns = 8

// Store is the embedded local store. It is safe for concurrent use, and
// several processes may open the same file at once.
type Store struct {
	db   *db
	seal *seal.Sealer
	path string // SQLite: the database file; PostgreSQL: ""
}

// Open opens, creating if needed, the SQLite database at path, applies any
// pending schema migrations and checks that the database's sealed values
// were sealed under s.
//
// A new database file is created with mode 0600. Open refuses a database
// whose schema is newer than this program ([ErrSchemaTooNew]) and one that
// was sealed under a different key ([ErrWrongKey]).
func Open(ctx context.Context, path string, s *seal.Sealer) (*Store, error) {
	if s == nil {
		return nil, errors.New("store: open: nil sealer")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	sqldb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	sqldb.SetMaxOpenConns(maxOpenConns)
	st := &Store{db: &db{DB: sqldb, driver: SQLite}, seal: s, path: abs}
	for _, step := range []func(context.Context) error{st.migrate, st.checkKey} {
		if err := retryBusy(ctx, step); err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("store: open %s: %w", abs, err)
		}
	}
	return st, nil
}

// retryBusy runs fn again while it fails with SQLITE_BUSY, for up to
// BusyTimeout. It is needed only while a new file is being set up: when
// several processes open a file that is not yet in WAL mode, one converts
// it, and another connection's PRAGMA journal_mode=WAL can fail with
// SQLITE_BUSY at once, without waiting out the busy timeout (seen about
// once in 200 concurrent opens of a new file). database/sql discards the
// failed connection, and the retry opens a new one. Once the file is in
// WAL mode the pragma changes nothing and the busy timeout covers every
// wait.
func retryBusy(ctx context.Context, fn func(context.Context) error) error {
	deadline := time.Now().Add(BusyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := fn(ctx)
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqliteBusy
}

const sqliteBusy = 5 // SQLITE_BUSY, https://sqlite.org/rescode.html#busy

// Close closes the database. Statements in flight finish first.
func (st *Store) Close() error {
	return st.db.Close()
}

// Path is the absolute path of the database file; "" on PostgreSQL.
func (st *Store) Path() string { return st.path }

// Driver is the database the store runs on.
func (st *Store) Driver() Driver { return st.db.driver }

// dsn builds the modernc.org/sqlite data source name. Every connection of
// the pool runs the pragmas:
//
//   - busy_timeout first, so that the others wait for a lock instead of
//     failing when another process is writing;
//   - journal_mode=WAL: readers never block the writer, and the gateway,
//     its plugins and the CLI share one file;
//   - synchronous=FULL: a committed HOTP counter or TOTP step survives a
//     power cut; with NORMAL the last commits could roll back and a used
//     code be accepted again;
//   - foreign_keys=ON: memberships and token assignments follow deletions.
//
// _txlock=immediate makes every transaction take the write lock at BEGIN,
// so two read-then-write transactions cannot deadlock into SQLITE_BUSY.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// createPrivate creates an empty file at path with mode 0600 unless it
// exists. SQLite gives its -wal and -shm files the mode of the database.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// Key check: a known value sealed under the store's key. Open compares it
// so that a replaced key file is reported at once, not as a failure to
// unseal the first password at login time.
const (
	metaKeyCheck  = "key_check"
	keyCheckValue = "gatehouse store key check v1"
	keyCheckAAD   = "meta:" + metaKeyCheck
)

func (st *Store) checkKey(ctx context.Context) error {
	stored, err := st.keyCheck(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		// A new database: record the check. A concurrent opener may have
		// recorded its own first; then its value is the one compared.
		sealed := st.seal.Seal([]byte(keyCheckValue), []byte(keyCheckAAD))
		if _, err := st.db.ExecContext(ctx,
			`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
			metaKeyCheck, sealed); err != nil {
			return fmt.Errorf("key check: %w", err)
		}
		stored, err = st.keyCheck(ctx)
	}
	if err != nil {
		return fmt.Errorf("key check: %w", err)
	}
	pt, err := st.seal.Open(stored, []byte(keyCheckAAD))
	if err != nil || string(pt) != keyCheckValue {
		return fmt.Errorf("%w: the key file was replaced or belongs to another installation; "+
			"restore the original key file (sealed passwords and token secrets cannot be read without it)", ErrWrongKey)
	}
	return nil
}

func (st *Store) keyCheck(ctx context.Context) ([]byte, error) {
	var b []byte
	err := st.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaKeyCheck).Scan(&b)
	return b, err
}

// unixNano and fromUnixNano convert the stored timestamps (INTEGER Unix
// nanoseconds, UTC).
func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

// now is the clock for created_at and updated_at.
var now = time.Now
