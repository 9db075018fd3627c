package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// Driver names the database a Store runs on.
type Driver string

// The drivers.
const (
	SQLite   Driver = "sqlite"
	Postgres Driver = "postgres"
)

// db is the Store's connection pool. The package's queries are written
// once, with SQLite's placeholders (? and ?N); on PostgreSQL db rewrites
// them to $N (rebind) before they reach the driver. Everything else in
// the statements is SQL both databases run alike (see the package
// documentation, "PostgreSQL").
type db struct {
	*sql.DB
	driver Driver
	errs   *tracer // PostgreSQL: counts failed statements
}

func (d *db) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.rebind(q), args...)
}

func (d *db) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.rebind(q), args...)
}

func (d *db) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.rebind(q), args...)
}

// Exec, Query and QueryRow are the methods without a context, rebound
// too; only tests use them.

func (d *db) Exec(q string, args ...any) (sql.Result, error) {
	return d.ExecContext(context.Background(), q, args...)
}

func (d *db) Query(q string, args ...any) (*sql.Rows, error) {
	return d.QueryContext(context.Background(), q, args...)
}

func (d *db) QueryRow(q string, args ...any) *sql.Row {
	return d.QueryRowContext(context.Background(), q, args...)
}

// BeginTx starts a transaction whose statements are rebound like db's.
func (d *db) BeginTx(ctx context.Context, o *sql.TxOptions) (*txn, error) {
	tx, err := d.DB.BeginTx(ctx, o)
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, d: d}, nil
}

func (d *db) rebind(q string) string {
	if d.driver != Postgres {
		return q
	}
	return rebind(q)
}

// txn is a transaction of a db.
type txn struct {
	*sql.Tx
	d *db
}

func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// rebound caches rebind's results: the package has a few dozen distinct
// statements, so the map stays small and a login rewrites nothing.
var rebound sync.Map // string -> string

// rebind rewrites SQLite placeholders to PostgreSQL's: ?N becomes $N,
// and each bare ? the next $N after the highest number used so far. The
// package's statements hold no ? in string literals or identifiers, so a
// plain scan is enough.
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	if !strings.Contains(q, "?") {
		rebound.Store(q, q)
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	next := 1
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c != '?' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		b.WriteByte('$')
		if j > i+1 {
			n, _ := strconv.Atoi(q[i+1 : j])
			b.WriteString(q[i+1 : j])
			next = max(next, n+1)
			i = j - 1
			continue
		}
		b.WriteString(strconv.Itoa(next))
		next++
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}
