package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// querier is what a method needs to run statements: the pool or a
// transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// read runs fn in a read-only (deferred) transaction: one consistent
// snapshot, and no write lock.
func (st *Store) read(ctx context.Context, fn func(*txn) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if st.db.driver == Postgres {
		// One snapshot for the whole transaction, as SQLite's read
		// transactions have; READ COMMITTED takes one per statement.
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := st.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// write runs fn in a writing transaction and commits if fn returns nil:
// on SQLite an IMMEDIATE one (see dsn), on PostgreSQL READ COMMITTED
// (the package documentation says why that is enough).
func (st *Store) write(ctx context.Context, fn func(*txn) error) error {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// userID returns the row id of a user, or an error wrapping ErrNotFound.
func userID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("user %q: %w", name, err)
	}
	return id, nil
}

// groupID returns the row id of a group, or an error wrapping ErrNotFound.
func groupID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM groups WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("group %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", name, err)
	}
	return id, nil
}

// affected returns the rows a statement changed.
func affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}
