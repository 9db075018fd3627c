package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// PostgresOptions tune [OpenPostgres].
type PostgresOptions struct {
	// MaxConns bounds the store's connections to the server (default
	// [DefaultPostgresConns]). Each gateway process and each built-in
	// plugin process has its own pool: size the server's max_connections
	// for all of them on every gateway.
	MaxConns int
	// ConnectTimeout bounds each attempt to connect (default 5 s) unless
	// the DSN sets connect_timeout.
	ConnectTimeout time.Duration
}

// DefaultPostgresConns is the default pool size of one process.
const DefaultPostgresConns = 8

// OpenPostgres connects to the PostgreSQL database that dsn names (a
// libpq connection string or URL: host, port, dbname, user, password,
// sslmode, sslrootcert, ... are honoured, sslmode=verify-full included),
// applies any pending schema migrations under an advisory lock, so that
// several gateways starting at once migrate once, and checks that the
// database's sealed values were sealed under s.
//
// It fails when the server cannot be reached: a gateway must not start
// without the store it was told to use. Once open, the pool reconnects by
// itself: a statement run while the server is down fails (and the login
// with it), and the next one after the server returns succeeds.
func OpenPostgres(ctx context.Context, dsn string, s *seal.Sealer, o PostgresOptions) (*Store, error) {
	if s == nil {
		return nil, errors.New("store: open postgres: nil sealer")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the string, password included.
		return nil, errors.New("store: open postgres: the connection string does not parse (see https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING)")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = orDefault(o.ConnectTimeout, 5*time.Second)
	}
	where := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	tr := &tracer{}
	cfg.Tracer = tr
	sqldb := sql.OpenDB(&backoffConnector{Connector: stdlib.GetConnector(*cfg)})
	n := o.MaxConns
	if n <= 0 {
		n = DefaultPostgresConns
	}
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	// A connection broken by a server restart is found and dropped when
	// next used; ConnMaxIdleTime keeps idle ones from going stale behind
	// a firewall.
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	st := &Store{db: &db{DB: sqldb, driver: Postgres, errs: tr}, seal: s}
	for _, step := range []func(context.Context) error{st.migratePostgres, st.checkKey} {
		if err := step(ctx); err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("store: open %s: %w", where, err)
		}
	}
	return st, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ReadDSNFile reads a connection string from path, the operator's
// store.dsn_file: one line (surrounding white space and # comment lines
// ignored), in a file that group and others cannot read, since it
// usually holds a password.
func ReadDSNFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("store: dsn file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("store: dsn file %s has mode %04o: it may hold a password; run chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("store: dsn file: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return "", fmt.Errorf("store: dsn file %s: want one connection string, found %d lines; "+
			"write for example: host=db.example.net dbname=gatehouse user=gatehouse password=... sslmode=verify-full", path, len(lines))
	}
	if _, err := pgx.ParseConfig(lines[0]); err != nil {
		return "", fmt.Errorf("store: dsn file %s: the connection string does not parse; "+
			"see https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING", path)
	}
	return lines[0], nil
}

// migrationLock is the advisory lock key the migration holds: any fixed
// number, shared by every gateway ("gatehous" in ASCII).
const migrationLock = 0x67617465_686f7573

// migratePostgres is migrate for PostgreSQL: the pending migrations run
// in one transaction that first takes a transaction-scoped advisory lock,
// so that gateways starting together queue, and the later ones find the
// schema current. PostgreSQL's DDL is transactional: a failed upgrade
// leaves the old schema.
func (st *Store) migratePostgres(ctx context.Context) error {
	cur, err := postgresSchemaVersion(ctx, st.db)
	if err != nil {
		return err
	}
	if err := checkNotNewer(cur); err != nil {
		return err
	}
	if cur == SchemaVersion() {
		return nil
	}
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migrate: advisory lock: %w", err)
	}
	if err := applyPending(ctx, tx, postgresMigrations, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at BIGINT  NOT NULL
)`); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// postgresSchemaVersion is the highest applied migration, 0 for an empty
// database.
func postgresSchemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// ErrUnavailable: the PostgreSQL server could not be reached a moment
// ago, and the store waits before it tries again (see backoffConnector).
var ErrUnavailable = errors.New("database unreachable")

// Reconnection back-off: after a failed connection attempt the next one
// waits minBackoff, doubling up to maxBackoff. Statements in between fail
// at once with ErrUnavailable instead of each waiting for a connection
// that will not come, so a login fails fast (and closed) during an
// outage; the first attempt after the server is back succeeds, so logins
// resume within maxBackoff of its return.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// backoffConnector is the pool's connector: pgx's, with the back-off.
type backoffConnector struct {
	driver.Connector
	mu   sync.Mutex
	wait time.Duration // 0: the last attempt succeeded
	next time.Time     // no attempt before
}

func (c *backoffConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	if wait := time.Until(c.next); wait > 0 {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: the last attempt to connect failed; next attempt in %s", ErrUnavailable, wait.Round(time.Millisecond))
	}
	c.mu.Unlock()
	conn, err := c.Connector.Connect(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			c.wait = min(max(2*c.wait, minBackoff), maxBackoff)
			c.next = time.Now().Add(c.wait)
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c.wait, c.next = 0, time.Time{}
	return conn, nil
}

// tracer counts the statements that failed, for [Store.Stats].
type tracer struct {
	failed, unavailable atomic.Uint64
}

func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t *tracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if d.Err == nil {
		return
	}
	t.failed.Add(1)
	if IsUnavailable(d.Err) {
		t.unavailable.Add(1)
	}
}

// Stats is the store's connection pool and errors, for the metrics.
type Stats struct {
	Driver Driver
	sql.DBStats
	// Errors counts statements the server refused or could not run
	// (PostgreSQL only); Unavailable those of them that failed because
	// the server could not be reached.
	Errors, Unavailable uint64
}

// Stats returns the pool's state and the error counts.
func (st *Store) Stats() Stats {
	s := Stats{Driver: st.db.driver, DBStats: st.db.DB.Stats()}
	if st.db.errs != nil {
		s.Errors, s.Unavailable = st.db.errs.failed.Load(), st.db.errs.unavailable.Load()
	}
	return s
}

// IsUnavailable reports whether err means the database could not be
// reached or stopped answering (a PostgreSQL server down or restarting,
// a broken connection), as opposed to a statement it refused. The
// gateway says so in its log and events; either way the login fails.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-03: admin shutdown,
		// crash shutdown, cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "unexpected EOF") ||
		strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset")
}
