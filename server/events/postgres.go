package events

// The index in a PostgreSQL database that several gateways share: the
// same Index, with pgBackend in place of sqliteBackend. See the package
// documentation, "PostgreSQL".

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/gatehouse-vpn/gatehouse/internal/store"
)

// Advisory lock keys of the index, distinct from the store's migration
// lock ("gatehous"): the index's migration ("ghevents") and its pruning
// ("ghevprun").
const (
	pgMigrationLock = 0x67686576_656e7473
	pgPruneLock     = 0x67686576_7072756e
)

// pgMigrations are the versions of the index's PostgreSQL schema:
// applying pgMigrations[i] brings it to version i+1, which the one row of
// event_schema records. The tables are the index's own, named apart from
// the store's (schema_migrations, meta, users, ...). The columns are
// SQLite's (see schema), with a gateway column: the host name of the
// gateway that wrote the event. body is TEXT, not JSONB: it is read back
// whole, and JSONB would refuse an event whose strings hold a NUL
// (json.Marshal writes \u0000), losing its whole batch.
var pgMigrations = [][]string{{
	`CREATE TABLE events (
		id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		time       BIGINT NOT NULL,
		kind       TEXT NOT NULL,
		result     TEXT NOT NULL,
		front_door TEXT NOT NULL,
		service    TEXT NOT NULL,
		"user"     TEXT NOT NULL,
		client     BYTEA,
		session_id TEXT NOT NULL,
		body       TEXT NOT NULL,
		gateway    TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX events_time ON events (time)`,
	`CREATE INDEX events_user ON events ("user", time)`,
	`CREATE INDEX events_session ON events (session_id, time)`,
	`CREATE INDEX events_client ON events (client, time)`,
}}

// pgMaxConns bounds the index's connections, per gateway.
const pgMaxConns = 6

// pgSchemaVersion is the newest schema this program knows.
var pgSchemaVersion = len(pgMigrations)

// OpenPostgres opens the event index in the PostgreSQL database that dsn
// names (a libpq connection string or URL, as store.dsn_file holds),
// creating or upgrading its tables under an advisory lock so that
// gateways starting together migrate once, and starts its writer. It
// prunes at once, in the writer, like Open.
//
// A database whose index schema is newer than this program knows gives an
// error that wraps ErrSchemaTooNew and names both versions. ctx bounds
// the connection and the migration; the Index outlives it.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Index, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("events: open postgres: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the string, password included.
		return nil, errors.New("events: open postgres: the connection string does not parse")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	where := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	db := stdlib.OpenDB(*cfg)
	// The writer, a prune's lock and its deletes, and queries (the
	// console's, gatehouse logs', a follower's backlog).
	db.SetMaxOpenConns(pgMaxConns)
	db.SetMaxIdleConns(3)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("events: open %s: %w", where, err)
	}
	gw := opts.gateway
	if gw == "" {
		gw, _ = os.Hostname()
	}
	return start(ctx, db, &pgBackend{gateway: gw}, "", where, opts)
}

// migratePostgres brings the index's tables to pgSchemaVersion in one
// transaction that first takes a transaction-scoped advisory lock; DDL is
// transactional in PostgreSQL, so a failed upgrade leaves the old schema.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgMigrationLock)); err != nil {
		return fmt.Errorf("migrate: advisory lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS event_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM event_schema`).Scan(&v); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	switch {
	case v == pgSchemaVersion:
		return tx.Commit()
	case v > pgSchemaVersion:
		return fmt.Errorf("%w (schema %d, this program knows %d)", ErrSchemaTooNew, v, pgSchemaVersion)
	}
	for ; v < pgSchemaVersion; v++ {
		for _, s := range pgMigrations[v] {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("migrate to version %d: %w", v+1, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_schema`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO event_schema (version) VALUES ($1)`, v); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return tx.Commit()
}

// pgBackend is the index in a shared PostgreSQL database.
type pgBackend struct {
	gateway string // written with each event
}

// pgInserts holds the INSERT of n rows, for n up to rowsPerInsert: the
// gateway is the statement's last parameter, shared by its rows.
var pgInserts = func() []string {
	out := make([]string, rowsPerInsert+1)
	for n := 1; n <= rowsPerInsert; n++ {
		var b strings.Builder
		b.WriteString(`INSERT INTO events (time, kind, result, front_door, service, "user", client, session_id, body, gateway) VALUES `)
		gw := "$" + strconv.Itoa(n*insertColumns+1)
		for r := range n {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range insertColumns {
				fmt.Fprintf(&b, "$%d, ", r*insertColumns+c+1)
			}
			b.WriteString(gw + ")")
		}
		b.WriteString(` RETURNING id`)
		out[n] = b.String()
	}
	return out
}()

func (p *pgBackend) insert(ctx context.Context, tx *sql.Tx, n int, args []any, ids []int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, pgInserts[n], append(args, p.gateway)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	first := len(ids)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids)-first != n {
		return nil, fmt.Errorf("insert of %d events returned %d ids", n, len(ids)-first)
	}
	// RETURNING lists the rows in the order of VALUES in practice, which
	// PostgreSQL does not promise; only the order of the ids matters.
	slices.Sort(ids[first:])
	return ids, nil
}

// The deletes take the rows to delete in a materialized CTE, evaluated
// once, skipping rows another transaction holds: gateways prune one at a
// time (lockPrune), but a delete must never wait on or deadlock with
// another even so. (In an IN subquery instead, a rescan would skip the
// rows the DELETE itself has just locked and take the next ones, again
// and again.)
func (*pgBackend) deleteBefore() string {
	return `WITH doomed AS MATERIALIZED
		(SELECT id FROM events WHERE time < $1 ORDER BY time LIMIT $2 FOR UPDATE SKIP LOCKED)
		DELETE FROM events WHERE id IN (SELECT id FROM doomed)`
}

func (*pgBackend) deleteOldest() string {
	return `WITH doomed AS MATERIALIZED
		(SELECT id FROM events ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		DELETE FROM events WHERE id IN (SELECT id FROM doomed)`
}

// bind numbers the ? placeholders $1, $2, ... (the index's statements
// have no ? in a literal).
func (*pgBackend) bind(q string) string {
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(q, '?')
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		n++
		b.WriteString(q[:i])
		b.WriteString("$" + strconv.Itoa(n))
		q = q[i+1:]
	}
}

// text makes s storable in a TEXT column: PostgreSQL refuses invalid
// UTF-8 and NUL, which SQLite keeps (a RADIUS User-Name may hold either).
// Each becomes U+FFFD, in the columns and in the filters alike; the
// event's body keeps what json.Marshal wrote.
func (*pgBackend) text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// upTo: this gateway's events up to maxID, and every other gateway's
// (they never come live). A gateway that shares this one's host name
// counts as this one: its later events are left out of the backlog.
func (p *pgBackend) upTo(maxID int64) (string, []any) {
	return "(id <= ? OR gateway <> ?)", []any{maxID, p.gateway}
}

func (*pgBackend) classify(err error) error { return err }

func (*pgBackend) unavailable(err error) bool {
	return store.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

// lockPrune takes the prune lock with pg_try_advisory_xact_lock in a
// transaction that stays open, idle, until unlock: the deletes run on
// other connections. A lock held by a gateway that dies goes with its
// connection.
func (*pgBackend) lockPrune(ctx context.Context, db *sql.DB) (func(), bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	var ok bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(pgPruneLock)).Scan(&ok); err != nil || !ok {
		tx.Rollback()
		return nil, false, err
	}
	return func() { tx.Rollback() }, true, nil
}

// usedBytes is, under the bound, pg_total_relation_size('events'): the
// table, its TOAST and its indexes, as the server's disk holds them. Over
// the bound it is that size times the share of the table that live rows
// fill (the sum of their sizes over pg_table_size), so that space freed
// by deleted rows, which PostgreSQL keeps for new rows instead of giving
// it back, does not count: the table stays near the bound instead of
// being emptied by prune after prune. Only then are the rows read (one
// sequential scan).
func (*pgBackend) usedBytes(ctx context.Context, db *sql.DB, bound int64) (used, rows int64, err error) {
	var total, table int64
	if err := db.QueryRowContext(ctx, `SELECT pg_total_relation_size('events'), pg_table_size('events')`).Scan(&total, &table); err != nil {
		return 0, 0, err
	}
	if bound <= 0 || total <= bound {
		return total, 0, nil
	}
	var live int64
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(pg_column_size(e.*)), 0) FROM events e`).Scan(&rows, &live); err != nil {
		return 0, 0, err
	}
	if table > 0 && live < table {
		total = int64(float64(total) * float64(live) / float64(table))
	}
	return total, rows, nil
}

// reclaim runs VACUUM on the table at the end of a prune that deleted
// events, so that new ones reuse the space (the table does not shrink; its
// indexes' empty pages are recycled too). SKIP_LOCKED: when a vacuum
// (autovacuum's or another gateway's) holds the table, it is not waited
// for.
func (*pgBackend) reclaim(ctx context.Context, db *sql.DB, deleted int64, final bool) error {
	if !final || deleted == 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, `VACUUM (SKIP_LOCKED) events`)
	return err
}
