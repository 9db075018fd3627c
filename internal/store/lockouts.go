package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lockout is the failed-login state of one user name, as the gateway's
// lockout policy (server/lockout) keeps it. The store only records it;
// counting and deciding are the policy's.
type Lockout struct {
	Name string
	// Failures counted since WindowStart.
	Failures    int
	WindowStart time.Time
	// LockedUntil is when a lockout ends; zero when the name is not locked.
	LockedUntil time.Time
}

// Fail counts one failed login at now under a lockout policy: threshold
// failures within window lock the name for duration. A failure while the
// name is locked (a login let through before the lockout began) changes
// nothing; the first failure, one after the window passed, and one after
// a lockout ended start a new window. It reports whether this failure
// locked the name. The gateway's memory (server/lockout) and
// [Store.RecordFailure] count with it alike.
func (l *Lockout) Fail(now time.Time, threshold int, window, duration time.Duration) (lockedNow bool) {
	if now.Before(l.LockedUntil) {
		return false
	}
	if l.Failures == 0 || now.Sub(l.WindowStart) > window || !l.LockedUntil.IsZero() {
		*l = Lockout{Name: l.Name, WindowStart: now}
	}
	l.Failures++
	if l.Failures >= threshold {
		l.LockedUntil = now.Add(duration)
		return true
	}
	return false
}

// RecordFailure counts one failed login of name in the store, where
// every gateway sharing the database counts, and returns the name's
// state after it: the sum of every gateway's failures. When this failure
// locks the name it also moves Revisions.Lockouts, so the other gateways
// reload their lockouts and refuse the name within a poll. The row is
// read and written in one transaction under its lock, so failures
// counted at once by several gateways are all counted.
func (st *Store) RecordFailure(ctx context.Context, name string, now time.Time, threshold int, window, duration time.Duration) (l Lockout, lockedNow bool, err error) {
	if name == "" || len(name) > 256 {
		return Lockout{}, false, fmt.Errorf("store: lockout: name of %d bytes: %w", len(name), ErrInvalid)
	}
	err = st.write(ctx, func(tx *txn) error {
		t := unixNano(now)
		if _, err := tx.ExecContext(ctx, `
INSERT INTO lockouts (name, failures, window_start, locked_until, updated_at) VALUES (?, 0, ?, 0, ?)
ON CONFLICT (name) DO NOTHING`, name, t, t); err != nil {
			return err
		}
		// An UPDATE takes the row's lock (PostgreSQL; SQLite's write
		// transaction holds the database's) before the row is read.
		if _, err := tx.ExecContext(ctx, `UPDATE lockouts SET updated_at = ? WHERE name = ?`, t, name); err != nil {
			return err
		}
		if l, err = scanLockout(tx.QueryRowContext(ctx,
			`SELECT name, failures, window_start, locked_until FROM lockouts WHERE name = ?`, name)); err != nil {
			return err
		}
		if l.Failures == 0 {
			l.WindowStart = time.Time{}
		}
		lockedNow = l.Fail(now, threshold, window, duration)
		var until int64
		if !l.LockedUntil.IsZero() {
			until = unixNano(l.LockedUntil)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lockouts SET failures = ?, window_start = ?, locked_until = ? WHERE name = ?`,
			l.Failures, unixNano(l.WindowStart), until, name); err != nil {
			return err
		}
		if lockedNow {
			_, err = tx.ExecContext(ctx, `UPDATE revisions SET value = value + 1 WHERE name = 'lockouts'`)
		}
		return err
	})
	if err != nil {
		return Lockout{}, false, fmt.Errorf("store: record failure of %q: %w", name, err)
	}
	return l, lockedNow, nil
}

// Revisions are counters that move when something a running gateway acts
// on changes in the store (see the schema in the package documentation).
type Revisions struct {
	// Identity moves when a user is disabled or enabled, gets another VPN
	// access, is deleted, or joins or leaves a group.
	Identity int64
	// Lockouts moves when an operator unlocks a user ([Store.Unlock]).
	Lockouts int64
}

// Revisions reads the change counters: one small read, cheap enough to
// poll every second.
func (st *Store) Revisions(ctx context.Context) (Revisions, error) {
	var r Revisions
	err := st.db.QueryRowContext(ctx, `SELECT
	(SELECT value FROM revisions WHERE name = 'identity'),
	(SELECT value FROM revisions WHERE name = 'lockouts')`).Scan(&r.Identity, &r.Lockouts)
	if err != nil {
		return Revisions{}, fmt.Errorf("store: revisions: %w", err)
	}
	return r, nil
}

// Lockouts returns every recorded lockout state, by name.
func (st *Store) Lockouts(ctx context.Context) ([]Lockout, error) {
	rows, err := st.db.QueryContext(ctx,
		`SELECT name, failures, window_start, locked_until FROM lockouts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: lockouts: %w", err)
	}
	defer rows.Close()
	var out []Lockout
	for rows.Next() {
		l, err := scanLockout(rows)
		if err != nil {
			return nil, fmt.Errorf("store: lockouts: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lockouts: %w", err)
	}
	return out, nil
}

// Lockout returns the lockout state of name; ok is false when none is
// recorded.
func (st *Store) Lockout(ctx context.Context, name string) (l Lockout, ok bool, err error) {
	l, err = scanLockout(st.db.QueryRowContext(ctx,
		`SELECT name, failures, window_start, locked_until FROM lockouts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Lockout{}, false, nil
	}
	if err != nil {
		return Lockout{}, false, fmt.Errorf("store: lockout of %q: %w", name, err)
	}
	return l, true, nil
}

func scanLockout(s scanner) (Lockout, error) {
	var l Lockout
	var start, until int64
	if err := s.Scan(&l.Name, &l.Failures, &start, &until); err != nil {
		return Lockout{}, err
	}
	l.WindowStart = fromUnixNano(start)
	if until != 0 {
		l.LockedUntil = fromUnixNano(until)
	}
	return l, nil
}

// SaveLockout records the state of l.Name, replacing what was there.
func (st *Store) SaveLockout(ctx context.Context, l Lockout) error {
	if l.Name == "" || len(l.Name) > 256 {
		return fmt.Errorf("store: lockout: name of %d bytes: %w", len(l.Name), ErrInvalid)
	}
	var until int64
	if !l.LockedUntil.IsZero() {
		until = unixNano(l.LockedUntil)
	}
	_, err := st.db.ExecContext(ctx, `
INSERT INTO lockouts (name, failures, window_start, locked_until, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
	locked_until = excluded.locked_until, updated_at = excluded.updated_at`,
		l.Name, l.Failures, unixNano(l.WindowStart), until, unixNano(now()))
	if err != nil {
		return fmt.Errorf("store: save lockout of %q: %w", l.Name, err)
	}
	return nil
}

// ClearLockout forgets the failures of name (after a successful login).
// It does not move Revisions.Lockouts: the gateway that calls it already
// knows.
func (st *Store) ClearLockout(ctx context.Context, name string) error {
	if _, err := st.db.ExecContext(ctx, `DELETE FROM lockouts WHERE name = ?`, name); err != nil {
		return fmt.Errorf("store: clear lockout of %q: %w", name, err)
	}
	return nil
}

// Unlock is the operator's "gatehouse user unlock": it forgets the
// failures and lockout of name and moves Revisions.Lockouts, so a running
// gateway lets the user in at once. It reports whether anything was
// recorded.
func (st *Store) Unlock(ctx context.Context, name string) (bool, error) {
	var found bool
	err := st.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM lockouts WHERE name = ?`, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		found = n > 0
		_, err = tx.ExecContext(ctx, `UPDATE revisions SET value = value + 1 WHERE name = 'lockouts'`)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: unlock %q: %w", name, err)
	}
	return found, nil
}

// PruneLockouts deletes the states that no longer matter at t: not
// locked, and whose counting window began before windowStart.
func (st *Store) PruneLockouts(ctx context.Context, t, windowStart time.Time) (int64, error) {
	res, err := st.db.ExecContext(ctx, `DELETE FROM lockouts WHERE locked_until <= ? AND window_start < ?`,
		unixNano(t), unixNano(windowStart))
	if err != nil {
		return 0, fmt.Errorf("store: prune lockouts: %w", err)
	}
	return res.RowsAffected()
}
