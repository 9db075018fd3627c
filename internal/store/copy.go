package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CopyReport counts what [Copy] copied.
type CopyReport struct {
	Users, Groups, Members, Tokens, Lockouts, Operators int
}

// copied lists the tables Copy carries, parents first, with their
// columns. meta (the key check) and revisions are the destination's own;
// schema_migrations is its own history.
var copied = []struct {
	table   string
	columns []string
	count   func(*CopyReport) *int
}{
	{"users", []string{"id", "name", "disabled", "vpn_access", "password_hash", "password_sealed", "created_at", "updated_at"},
		func(r *CopyReport) *int { return &r.Users }},
	{"groups", []string{"id", "name", "created_at"}, func(r *CopyReport) *int { return &r.Groups }},
	{"group_members", []string{"group_id", "user_id"}, func(r *CopyReport) *int { return &r.Members }},
	{"tokens", []string{"serial", "kind", "algorithm", "digits", "period", "t0", "counter", "last_step", "drift",
		"secret", "user_id", "source", "manufacturer", "model", "created_at", "updated_at"},
		func(r *CopyReport) *int { return &r.Tokens }},
	{"lockouts", []string{"name", "failures", "window_start", "locked_until", "updated_at"},
		func(r *CopyReport) *int { return &r.Lockouts }},
	{"operators", []string{"name", "role", "password_hash", "created_at", "updated_at"},
		func(r *CopyReport) *int { return &r.Operators }},
}

// ErrNotEmpty: Copy's destination already holds users, groups, tokens or
// operators.
var ErrNotEmpty = errors.New("destination store is not empty")

// Copy copies every user, group, membership, token (with its counters
// and replay state), lockout and console operator of src into dst, an
// empty store, so that a single gateway's SQLite store can become the
// PostgreSQL store of several ("gatehouse store migrate").
//
// Sealed values are copied as they are, still sealed: both stores must
// be under the same key, which Copy checks (each store's key check opens
// under the other's sealer only if the keys are equal), and the
// additional data binds each value to its name or serial, not to a row
// id, so it opens in the new rows. Row ids are kept too.
//
// src is read in one read transaction (one consistent snapshot, while a
// gateway may still be running on it) and dst written in one
// transaction: a failure leaves dst empty. dst must hold no users,
// groups, tokens or operators ([ErrNotEmpty]).
func Copy(ctx context.Context, dst, src *Store) (CopyReport, error) {
	var rep CopyReport
	if err := sameKey(ctx, dst, src); err != nil {
		return rep, err
	}
	err := src.read(ctx, func(in *txn) error {
		return dst.write(ctx, func(out *txn) error {
			var n int
			if err := out.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM groups) +
	(SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM operators)`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: it holds %d users, groups, tokens or operators; copy into a new, empty database", ErrNotEmpty, n)
			}
			for _, t := range copied {
				c, err := copyTable(ctx, out, in, t.table, t.columns, dst.db.driver)
				if err != nil {
					return fmt.Errorf("copy %s: %w", t.table, err)
				}
				*t.count(&rep) = c
			}
			if dst.db.driver == Postgres {
				// Rows inserted with their ids leave the identity
				// sequences behind; the next AddUser would collide.
				for _, t := range []string{"users", "groups"} {
					if _, err := out.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'),
	GREATEST((SELECT MAX(id) FROM `+t+`), 0) + 1, false)`); err != nil {
						return fmt.Errorf("copy %s: identity: %w", t, err)
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		return CopyReport{}, fmt.Errorf("store: copy: %w", err)
	}
	return rep, nil
}

// sameKey checks that dst's sealer opens src's key check and the other
// way round: the sealed values copied will open.
func sameKey(ctx context.Context, dst, src *Store) error {
	for _, p := range [][2]*Store{{dst, src}, {src, dst}} {
		stored, err := p[1].keyCheck(ctx)
		if err != nil {
			return fmt.Errorf("store: copy: key check: %w", err)
		}
		if pt, err := p[0].seal.Open(stored, []byte(keyCheckAAD)); err != nil || string(pt) != keyCheckValue {
			return fmt.Errorf("store: copy: %w: the two stores are not under the same key; use the source's key file for the destination", ErrWrongKey)
		}
	}
	return nil
}

// copyTable copies the columns of table, row by row.
func copyTable(ctx context.Context, out, in *txn, table string, columns []string, to Driver) (int, error) {
	list := strings.Join(columns, ", ")
	rows, err := in.QueryContext(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	insert := `INSERT INTO ` + table + ` (` + list + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + `)`
	vals := make([]any, len(columns))
	ptrs := make([]any, len(columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, c := range columns {
			vals[i] = convert(vals[i], c, to)
		}
		if _, err := out.ExecContext(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// convert adapts a value read from one driver to the other's column
// types: users.disabled is an INTEGER 0/1 on SQLite and a BOOLEAN on
// PostgreSQL.
func convert(v any, column string, to Driver) any {
	if column != "disabled" {
		return v
	}
	switch x := v.(type) {
	case int64:
		if to == Postgres {
			return x != 0
		}
	case bool:
		if to == SQLite {
			if x {
				return int64(1)
			}
			return int64(0)
		}
	}
	return v
}
