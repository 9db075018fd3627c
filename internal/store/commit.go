package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
)

// Replay protection. Each commit is one UPDATE whose WHERE clause holds the
// replay condition; SQLite runs it under the database's write lock, so of
// two processes committing the same code at once exactly one changes the
// row and the other finds the condition false. No read-then-write, no
// transaction, no lock held across a round trip.
//
// A statement that changed no row is then classified by a separate read,
// which only chooses the error: unknown serial, wrong kind, or replay.

// CommitHOTP consumes the HOTP code at usedCounter: the token's Counter
// becomes usedCounter+1, if usedCounter is at least the stored Counter.
// Otherwise the code was used before (here or in another process) and the
// error wraps ErrReplayed.
func (st *Store) CommitHOTP(ctx context.Context, serial string, usedCounter uint64) error {
	if usedCounter >= math.MaxInt64 {
		return fmt.Errorf("token %q: %w: counter above 2^63-2", serial, ErrInvalid)
	}
	res, err := st.db.ExecContext(ctx, `
UPDATE tokens SET counter = ?1 + 1, updated_at = ?2
WHERE serial = ?3 AND kind = 'hotp' AND counter <= ?1`,
		int64(usedCounter), unixNano(now()), serial)
	if err != nil {
		return fmt.Errorf("commit token %q: %w", serial, err)
	}
	return st.committed(ctx, res, serial, KindHOTP, fmt.Sprintf("counter %d", usedCounter))
}

// CommitTOTP consumes the TOTP code at time step step and records the
// clock drift, in steps, at which it was found: LastStep becomes step and
// Drift becomes drift, if step is later than the stored LastStep.
// Otherwise the error wraps ErrReplayed; a code at an earlier step than
// one already accepted is refused too, as RFC 6238 section 5.2 asks.
func (st *Store) CommitTOTP(ctx context.Context, serial string, step, drift int64) error {
	if step < 0 {
		return fmt.Errorf("token %q: %w: time step %d is negative", serial, ErrInvalid, step)
	}
	res, err := st.db.ExecContext(ctx, `
UPDATE tokens SET last_step = ?1, drift = ?2, updated_at = ?3
WHERE serial = ?4 AND kind = 'totp' AND last_step < ?1`,
		step, drift, unixNano(now()), serial)
	if err != nil {
		return fmt.Errorf("commit token %q: %w", serial, err)
	}
	return st.committed(ctx, res, serial, KindTOTP, fmt.Sprintf("time step %d", step))
}

// ResyncHOTP sets the next HOTP counter expected after a
// resynchronisation (the user typed consecutive codes found beyond the
// usual look-ahead window). It only moves forward: a next below the
// stored Counter would make used codes valid again, and the error wraps
// ErrReplayed. To move a counter back (a re-programmed token), delete the
// token and add it again.
func (st *Store) ResyncHOTP(ctx context.Context, serial string, next uint64) error {
	if next > math.MaxInt64 {
		return fmt.Errorf("token %q: %w: counter above 2^63-1", serial, ErrInvalid)
	}
	res, err := st.db.ExecContext(ctx, `
UPDATE tokens SET counter = ?1, updated_at = ?2
WHERE serial = ?3 AND kind = 'hotp' AND counter <= ?1`,
		int64(next), unixNano(now()), serial)
	if err != nil {
		return fmt.Errorf("resync token %q: %w", serial, err)
	}
	return st.committed(ctx, res, serial, KindHOTP, fmt.Sprintf("counter %d", next))
}

// ResyncTOTP sets the clock drift, in time steps, of a TOTP token. It
// does not consume codes: when the drift was learned from codes the user
// typed, call CommitTOTP with the step of the last of them and the new
// drift instead, which records both in one statement, so that those codes
// cannot be replayed inside the new window.
func (st *Store) ResyncTOTP(ctx context.Context, serial string, drift int64) error {
	res, err := st.db.ExecContext(ctx, `
UPDATE tokens SET drift = ?1, updated_at = ?2 WHERE serial = ?3 AND kind = 'totp'`,
		drift, unixNano(now()), serial)
	if err != nil {
		return fmt.Errorf("resync token %q: %w", serial, err)
	}
	return st.committed(ctx, res, serial, KindTOTP, "")
}

// committed returns nil if the statement changed the token's row, and
// otherwise says why it did not: no such token, a token of another kind,
// or (what remains) a replay of what.
func (st *Store) committed(ctx context.Context, res sql.Result, serial, kind, what string) error {
	n, err := affected(res)
	if err != nil {
		return fmt.Errorf("token %q: %w", serial, err)
	}
	if n == 1 {
		return nil
	}
	var stored string
	err = st.db.QueryRowContext(ctx, `SELECT kind FROM tokens WHERE serial = ?`, serial).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("token %q: %w", serial, ErrNotFound)
	case err != nil:
		return fmt.Errorf("token %q: %w", serial, err)
	case stored != kind:
		return fmt.Errorf("token %q: %w: it is a %s token, not %s", serial, ErrInvalid, stored, kind)
	}
	return fmt.Errorf("token %q: %s: %w", serial, what, ErrReplayed)
}
