package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// ErrInUse: the operation needs the database to itself and another
// connection, in this process or another (a running gateway, its
// plugins, another gatehouse command), has it open.
var ErrInUse = errors.New("the store is in use")

// DefaultLockWait is how long Rekey, Restore and RecoverKey wait for the
// other connections to a database to go away before failing with
// [ErrInUse]. A gatehouse command that touches the store holds it for
// milliseconds; a running gateway holds it for good.
const DefaultLockWait = 2 * time.Second

// NewKeySuffix names the file a key change writes its new key to before
// the database commits to it: store.key_file + NewKeySuffix.
const NewKeySuffix = ".new"

// KeyOptions tune the operations that need the database to themselves.
type KeyOptions struct {
	// LockWait bounds the wait for other connections to close; 0 means
	// DefaultLockWait.
	LockWait time.Duration
}

func (o KeyOptions) lockWait() time.Duration {
	if o.LockWait > 0 {
		return o.LockWait
	}
	return DefaultLockWait
}

// sealedColumn is one place the schema keeps sealed values; key is the
// column whose value, after prefix, is the additional data. Rekey reseals,
// and backup and restore check, exactly these. A migration that adds a
// sealed column must add it here (TestSealedColumnsComplete fails
// otherwise).
type sealedColumn struct {
	what   string // for messages: what + " " + key
	table  string
	key    string
	col    string
	where  string // rows that hold a sealed value
	prefix string // additional data = prefix + key
}

var sealedColumns = []sealedColumn{
	{"key check", "meta", "key", "value", "key = '" + metaKeyCheck + "'", "meta:"},
	{"password of user", "users", "name", "password_sealed", "password_sealed IS NOT NULL", "password:"},
	{"secret of token", "tokens", "serial", "secret", "TRUE", "token:"},
}

// sealedRow is one sealed value read by eachSealed.
type sealedRow struct {
	col    *sealedColumn
	key    string
	sealed []byte
}

func (r sealedRow) aad() []byte { return []byte(r.col.prefix + r.key) }

func (r sealedRow) String() string { return fmt.Sprintf("%s %q", r.col.what, r.key) }

// readSealed reads every sealed value. The rows are read in full before
// returning, so the caller may write to the same tables.
func readSealed(ctx context.Context, q querier) ([]sealedRow, error) {
	var out []sealedRow
	for i := range sealedColumns {
		c := &sealedColumns[i]
		rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s ORDER BY %s`, c.key, c.col, c.table, c.where, c.key))
		if err != nil {
			return nil, fmt.Errorf("read sealed values (%s): %w", c.table, err)
		}
		for rows.Next() {
			r := sealedRow{col: c}
			if err := rows.Scan(&r.key, &r.sealed); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read sealed values (%s): %w", c.table, err)
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read sealed values (%s): %w", c.table, err)
		}
	}
	return out, nil
}

// checkSealed opens every sealed value under s and reports how many
// passwords and token secrets there are. A key check that does not open
// is ErrWrongKey; another value that does not open names its row.
func checkSealed(ctx context.Context, q querier, s *seal.Sealer) (passwords, tokens int, err error) {
	rows, err := readSealed(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	keyChecked := false
	for _, r := range rows {
		pt, err := s.Open(r.sealed, r.aad())
		if r.col.table == "meta" {
			if err != nil || string(pt) != keyCheckValue {
				return 0, 0, fmt.Errorf("%w: the key does not open the database's key check", ErrWrongKey)
			}
			keyChecked = true
			continue
		}
		clear(pt)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", r, err)
		}
		switch r.col.table {
		case "users":
			passwords++
		case "tokens":
			tokens++
		}
	}
	if !keyChecked {
		return 0, 0, errors.New("the database has no key check: it was never opened by gatehouse")
	}
	return passwords, tokens, nil
}

// exclusive is a connection that holds its database's EXCLUSIVE lock, so
// no other connection, in this process or another, has the file open.
//
// It relies on SQLite's documented behaviour in WAL mode
// (https://sqlite.org/wal.html, "Use of WAL Without Shared-Memory"):
// with locking_mode=EXCLUSIVE set before the first access, the connection
// takes the EXCLUSIVE lock on the database file and keeps the wal-index in
// its own memory. Every other WAL connection holds a SHARED lock on the
// file for as long as it is open (that is how the last one to close knows
// to checkpoint), so the EXCLUSIVE lock is granted only when there is no
// other connection: a running gateway, with its store and its plugins'
// stores open, is refused. Closing the connection checkpoints the WAL into
// the database and deletes it.
type exclusive struct {
	db   *sql.DB
	conn *sql.Conn
	path string
}

// lockExclusive opens the existing database at path and takes its
// EXCLUSIVE lock, waiting up to wait for other connections to close. It
// fails with ErrInUse if they do not.
func lockExclusive(ctx context.Context, path string, wait time.Duration) (*exclusive, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", max(wait.Milliseconds(), 1)))
	q.Set("mode", "rw") // never create
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, lockError(path, err)
	}
	ex := &exclusive{db: db, conn: conn, path: path}
	var n int
	for _, step := range []func() error{
		func() error { _, err := conn.ExecContext(ctx, `PRAGMA locking_mode = EXCLUSIVE`); return err },
		// The first read takes the lock (EXCLUSIVE in WAL mode, SHARED in
		// rollback mode), the empty exclusive transaction makes it
		// EXCLUSIVE in either.
		func() error { return conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema`).Scan(&n) },
		func() error { _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); return err },
		func() error { _, err := conn.ExecContext(ctx, `COMMIT`); return err },
		func() error { _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); return err },
		func() error { _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); return err },
	} {
		if err := step(); err != nil {
			ex.close()
			return nil, lockError(path, err)
		}
	}
	return ex, nil
}

func lockError(path string, err error) error {
	if isBusy(err) {
		return fmt.Errorf("%w: %s is open in another process or connection "+
			"(a running gateway and its plugins keep it open): stop the gateway, "+
			"let other gatehouse commands finish, and retry", ErrInUse, path)
	}
	return fmt.Errorf("lock %s: %w", path, err)
}

// close releases the lock. SQLite checkpoints the WAL into the database
// and deletes it first.
func (ex *exclusive) close() error {
	err := ex.conn.Close()
	if cerr := ex.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadKeyFile reads a key file with the checks of seal.LoadOrCreateKey (a
// regular file of seal.KeySize bytes that group and others cannot
// access), without ever creating one.
func loadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("key file %s has mode %04o: group or others can access it; run: chmod 600 %s",
			path, fi.Mode().Perm(), path)
	case fi.Size() != seal.KeySize:
		return nil, fmt.Errorf("key file %s is %d bytes, want %d", path, fi.Size(), seal.KeySize)
	}
	key := make([]byte, seal.KeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// writeNewFile writes data to a new file at path (it must not exist) with
// mode 0600 and makes file and directory entry durable.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // whatever the umask
		f.Close()
		os.Remove(path)
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes renames and new entries in dir durable. A failure weakens
// only durability across a power cut, not the order of the steps, so it
// is ignored, as seal does.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

func newKey() ([]byte, error) {
	key := make([]byte, seal.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	return key, nil
}

// KeyRecovery says what RecoverKey did.
type KeyRecovery int

const (
	// KeyNothingPending: there was no new key file.
	KeyNothingPending KeyRecovery = iota
	// KeyRolledForward: the database had committed to the new key; it
	// replaced the key file.
	KeyRolledForward
	// KeyRolledBack: the database had not committed to the new key; the
	// new key file was deleted.
	KeyRolledBack
)

func (k KeyRecovery) String() string {
	switch k {
	case KeyRolledForward:
		return "an interrupted key change was completed"
	case KeyRolledBack:
		return "an interrupted key change was undone"
	}
	return "no interrupted key change"
}

// RecoverKey finishes or undoes a key change (Rekey, Restore) that was
// interrupted, so that the store opens with the key file at keyPath. It is
// cheap when there is nothing to do (one stat) and is to be called before
// loading the key to open the store.
//
// A key change writes the new key to keyPath+NewKeySuffix before the
// database commits to it, and renames it over keyPath after. If that file
// exists, RecoverKey takes the database to itself (see [ErrInUse]) and
// asks the database's key check which key it is sealed under: the new key
// means the commit happened, and the file is renamed into place; the old
// one means it did not, and the file is deleted. If neither opens the key
// check, nothing is touched and the error says so.
func RecoverKey(ctx context.Context, dbPath, keyPath string, opt KeyOptions) (KeyRecovery, error) {
	if _, err := os.Lstat(keyPath + NewKeySuffix); errors.Is(err, fs.ErrNotExist) {
		return KeyNothingPending, nil
	}
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		// A restore into an empty place stopped before the database was
		// put in place.
		return rollBack(keyPath)
	}
	ex, err := lockExclusive(ctx, dbPath, opt.lockWait())
	if err != nil {
		return 0, fmt.Errorf("store: finish an interrupted key change (%s exists): %w", keyPath+NewKeySuffix, err)
	}
	defer ex.close()
	return recoverLocked(ctx, ex, keyPath)
}

func recoverLocked(ctx context.Context, ex *exclusive, keyPath string) (KeyRecovery, error) {
	newPath := keyPath + NewKeySuffix
	if _, err := os.Lstat(newPath); errors.Is(err, fs.ErrNotExist) {
		return KeyNothingPending, nil
	}
	var check []byte
	var n int
	if err := ex.conn.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: interrupted key change: %w", err)
	}
	if n == 1 {
		err := ex.conn.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaKeyCheck).Scan(&check)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("store: interrupted key change: %w", err)
		}
	}
	if check == nil {
		// No key check: an empty database; nothing was committed to the
		// new key.
		return rollBack(keyPath)
	}
	opens := func(path string) bool {
		key, err := loadKeyFile(path)
		if err != nil {
			return false
		}
		s, err := seal.New(key)
		clear(key)
		if err != nil {
			return false
		}
		pt, err := s.Open(check, []byte(keyCheckAAD))
		return err == nil && string(pt) == keyCheckValue
	}
	switch {
	case opens(newPath):
		if err := os.Rename(newPath, keyPath); err != nil {
			return 0, fmt.Errorf("store: finish an interrupted key change: %w", err)
		}
		syncDir(filepath.Dir(keyPath))
		return KeyRolledForward, nil
	case opens(keyPath):
		return rollBack(keyPath)
	}
	return 0, fmt.Errorf("store: %w: an interrupted key change left %s, and neither it nor %s opens the database %s; "+
		"restore a backup (gatehouse store restore)", ErrWrongKey, newPath, keyPath, ex.path)
}

func rollBack(keyPath string) (KeyRecovery, error) {
	if err := os.Remove(keyPath + NewKeySuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("store: undo an interrupted key change: %w", err)
	}
	syncDir(filepath.Dir(keyPath))
	return KeyRolledBack, nil
}

// RekeyResult is what Rekey did.
type RekeyResult struct {
	Passwords int // sealed passwords resealed
	Tokens    int // token secrets resealed
	// Recovered is what the recovery of an earlier interrupted key change
	// did before this one started.
	Recovered KeyRecovery
}

// rekeyCrash, when set (by tests), is called at each step of a key
// change; a test makes it stop the process there.
var rekeyCrash func(step string)

func crashPoint(step string) {
	if rekeyCrash != nil {
		rekeyCrash(step)
	}
}

// Rekey replaces the key that seals the store's secrets: it generates a
// new key and reseals every sealed value (passwords, token secrets, the
// key check) under it. The old key file is replaced and not kept.
//
// It needs the database to itself and fails with ErrInUse while anything
// has it open: a running gateway and its plugins hold the old key in
// memory and would fail to open every secret afterwards.
//
// The steps, each durable before the next: write the new key to
// keyPath+NewKeySuffix; reseal every value in one transaction, whose
// commit switches the database to the new key; rename the new key file
// over keyPath. A crash between any two leaves a store that opens once
// [RecoverKey] has run (the gatehouse commands and the gateway run it
// before they load the key).
func Rekey(ctx context.Context, dbPath, keyPath string, opt KeyOptions) (RekeyResult, error) {
	rk, err := beginRekey(ctx, dbPath, keyPath, opt)
	if err != nil {
		return RekeyResult{}, err
	}
	defer rk.close()
	if err := rk.writeNewKey(); err != nil {
		return rk.res, err
	}
	crashPoint("new key written")
	if err := rk.reseal(ctx); err != nil {
		// Whether or not the commit happened, the key check says which
		// key the database is under; recovery keeps the matching file.
		if _, rerr := recoverLocked(context.WithoutCancel(ctx), rk.ex, keyPath); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return rk.res, err
	}
	crashPoint("committed")
	if err := rk.install(); err != nil {
		return rk.res, err
	}
	crashPoint("installed")
	return rk.res, nil
}

// rekey is a key change in progress; its methods are the steps of Rekey.
type rekey struct {
	ex      *exclusive
	keyPath string
	oldSeal *seal.Sealer
	newKey  []byte
	newSeal *seal.Sealer
	res     RekeyResult
}

// beginRekey takes the database, finishes any interrupted key change and
// checks that the current key opens every sealed value.
func beginRekey(ctx context.Context, dbPath, keyPath string, opt KeyOptions) (*rekey, error) {
	dbPath, err := filepath.Abs(dbPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("store: rekey: %w", err)
	}
	ex, err := lockExclusive(ctx, dbPath, opt.lockWait())
	if err != nil {
		return nil, fmt.Errorf("store: rekey: %w", err)
	}
	rk := &rekey{ex: ex, keyPath: keyPath}
	fail := func(err error) (*rekey, error) {
		rk.close()
		return nil, fmt.Errorf("store: rekey: %w", err)
	}
	if rk.res.Recovered, err = recoverLocked(ctx, ex, keyPath); err != nil {
		return fail(err)
	}
	cur, err := schemaVersionOf(ctx, ex.conn)
	if err != nil {
		return fail(err)
	}
	if cur != SchemaVersion() {
		if err := checkNotNewer(cur); err != nil {
			return fail(err)
		}
		return fail(fmt.Errorf("the database is at schema version %d, this program writes %d: open it once (any gatehouse user or token command) to migrate it, then retry", cur, SchemaVersion()))
	}
	old, err := loadKeyFile(keyPath)
	if err != nil {
		return fail(err)
	}
	rk.oldSeal, err = seal.New(old)
	clear(old)
	if err != nil {
		return fail(err)
	}
	if _, _, err := checkSealed(ctx, ex.conn, rk.oldSeal); err != nil {
		if errors.Is(err, ErrWrongKey) {
			return fail(fmt.Errorf("%w: %s does not open %s", err, keyPath, dbPath))
		}
		return fail(fmt.Errorf("a sealed value does not open with the current key, so it cannot be resealed "+
			"(clear that password or delete that token, then retry): %w", err))
	}
	return rk, nil
}

// schemaVersionOf reads the highest applied migration (0 for a new
// database) through any querier: the store's, the exclusive connection,
// or a database that is not a Store.
func schemaVersionOf(ctx context.Context, q querier) (int, error) {
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// writeNewKey is step 1: the new key, durable, at keyPath+NewKeySuffix.
func (rk *rekey) writeNewKey() error {
	key, err := newKey()
	if err != nil {
		return err
	}
	rk.newKey = key
	if rk.newSeal, err = seal.New(key); err != nil {
		return err
	}
	if err := writeNewFile(rk.keyPath+NewKeySuffix, key); err != nil {
		return fmt.Errorf("store: rekey: write the new key: %w", err)
	}
	return nil
}

// reseal is step 2: every sealed value resealed under the new key in one
// transaction; its commit is the moment the database changes keys.
func (rk *rekey) reseal(ctx context.Context) error {
	tx, err := rk.ex.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: rekey: %w", err)
	}
	defer tx.Rollback()
	rows, err := readSealed(ctx, tx)
	if err != nil {
		return fmt.Errorf("store: rekey: %w", err)
	}
	var res RekeyResult
	for i, r := range rows {
		pt, err := rk.oldSeal.Open(r.sealed, r.aad())
		if err != nil {
			return fmt.Errorf("store: rekey: %s: %w", r, err)
		}
		sealed := rk.newSeal.Seal(pt, r.aad())
		clear(pt)
		c := r.col
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = ?`, c.table, c.col, c.key), sealed, r.key); err != nil {
			return fmt.Errorf("store: rekey: %s: %w", r, err)
		}
		switch c.table {
		case "users":
			res.Passwords++
		case "tokens":
			res.Tokens++
		}
		if i == 0 {
			crashPoint("in transaction")
		}
	}
	// Prove the transaction before committing to it.
	if _, _, err := checkSealed(ctx, tx, rk.newSeal); err != nil {
		return fmt.Errorf("store: rekey: check under the new key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: rekey: commit: %w", err)
	}
	rk.res.Passwords, rk.res.Tokens = res.Passwords, res.Tokens
	return nil
}

// install is step 3: the new key file replaces the old one.
func (rk *rekey) install() error {
	if err := os.Rename(rk.keyPath+NewKeySuffix, rk.keyPath); err != nil {
		return fmt.Errorf("store: rekey: the database now needs the key in %s, but it could not be renamed to %s "+
			"(any gatehouse command will retry): %w", rk.keyPath+NewKeySuffix, rk.keyPath, err)
	}
	syncDir(filepath.Dir(rk.keyPath))
	return nil
}

func (rk *rekey) close() {
	clear(rk.newKey)
	rk.ex.close()
}
