package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Token kinds.
const (
	KindTOTP = "totp" // time-based, RFC 6238
	KindHOTP = "hotp" // counter-based, RFC 4226
)

// HMAC algorithms of a token.
const (
	AlgSHA1   = "SHA1"
	AlgSHA256 = "SHA256"
	AlgSHA512 = "SHA512"
)

// Token sources: which back-end owns the token.
const (
	SourceOATH     = "oath"
	SourceDIGIPASS = "digipass"
)

// MaxSecretLen is the longest token secret in bytes (a SHA-512 block is
// 128 bytes; a longer HMAC key is hashed down anyway).
const MaxSecretLen = 128

// Token is a one-time-password token: an OATH soft or hard token, or a
// DIGIPASS. The two kinds share the fields below; Period, T0, LastStep and
// Drift concern TOTP, Counter concerns HOTP.
//
// Secret is plaintext in memory and sealed at rest (additional data
// "token:"+Serial). A Token redacts Secret wherever it could leak: fmt
// verbs, slog, JSON.
type Token struct {
	Serial    string
	Kind      string        // KindTOTP or KindHOTP
	Algorithm string        // AlgSHA1, AlgSHA256 or AlgSHA512
	Digits    int           // 6..10
	Period    time.Duration // TOTP time step, whole seconds; 0 for HOTP
	T0        int64         // TOTP epoch, Unix seconds (usually 0)
	// Counter is the next HOTP counter expected; a code at a lower counter
	// is a replay.
	Counter uint64
	// LastStep is the last accepted TOTP time step, -1 if none; a code at
	// this step or earlier is a replay. A new TOTP token should carry -1.
	LastStep int64
	Secret   []byte
	User     string // assigned user; "" when unassigned
	Source   string // SourceOATH or SourceDIGIPASS
	// Manufacturer and Model describe hardware tokens (from the vendor's
	// import file); empty for soft tokens.
	Manufacturer string
	Model        string
	// Drift is the TOTP clock drift in time steps learned at the last
	// accepted code or resynchronisation.
	Drift int64
}

// TokenFilter selects tokens for [Store.Tokens]. Zero fields match
// everything.
type TokenFilter struct {
	User       string // tokens assigned to this user
	Source     string // tokens of this source
	Unassigned bool   // only tokens assigned to no one; excludes User
}

// AddToken stores a new token. Its serial must be unique (else the error
// wraps ErrExists), and its user, if any, must exist.
func (st *Store) AddToken(ctx context.Context, t Token) error {
	if err := t.check(); err != nil {
		return err
	}
	sealed := st.seal.Seal(t.Secret, tokenAAD(t.Serial))
	return st.write(ctx, func(tx *txn) error {
		var uid sql.NullInt64
		if t.User != "" {
			id, err := userID(ctx, tx, t.User)
			if err != nil {
				return fmt.Errorf("token %q: %w", t.Serial, err)
			}
			uid = sql.NullInt64{Int64: id, Valid: true}
		}
		ts := unixNano(now())
		res, err := tx.ExecContext(ctx, `
INSERT INTO tokens (serial, kind, algorithm, digits, period, t0, counter, last_step, drift,
                    secret, user_id, source, manufacturer, model, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (serial) DO NOTHING`,
			t.Serial, t.Kind, t.Algorithm, t.Digits, int64(t.Period/time.Second), t.T0, int64(t.Counter), t.LastStep, t.Drift,
			sealed, uid, t.Source, t.Manufacturer, t.Model, ts, ts)
		if err != nil {
			return fmt.Errorf("add token %q: %w", t.Serial, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("add token %q: %w", t.Serial, err)
		} else if n == 0 {
			return fmt.Errorf("token %q: %w", t.Serial, ErrExists)
		}
		return nil
	})
}

// Token returns one token with its secret unsealed.
func (st *Store) Token(ctx context.Context, serial string) (Token, error) {
	ts, err := st.sealedTokens(ctx, st.db, tokenSelect+` WHERE t.serial = ?`, serial)
	if err != nil {
		return Token{}, fmt.Errorf("token %q: %w", serial, err)
	}
	if len(ts) == 0 {
		return Token{}, fmt.Errorf("token %q: %w", serial, ErrNotFound)
	}
	return st.unsealToken(ts[0])
}

// Tokens returns the tokens f selects, sorted by serial, with their
// secrets unsealed.
func (st *Store) Tokens(ctx context.Context, f TokenFilter) ([]Token, error) {
	if f.Unassigned && f.User != "" {
		return nil, fmt.Errorf("list tokens: %w: filter by user and unassigned at once", ErrInvalid)
	}
	var (
		where []string
		args  []any
	)
	if f.User != "" {
		where, args = append(where, "u.name = ?"), append(args, f.User)
	}
	if f.Unassigned {
		where = append(where, "t.user_id IS NULL")
	}
	if f.Source != "" {
		where, args = append(where, "t.source = ?"), append(args, f.Source)
	}
	q := tokenSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	ts, err := st.sealedTokens(ctx, st.db, q+" ORDER BY t.serial", args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return st.unsealTokens(ts)
}

// UserTokens returns the tokens assigned to a user, sorted by serial;
// source "" means every source. An unknown user is an error wrapping
// ErrNotFound; a user without tokens is an empty list.
func (st *Store) UserTokens(ctx context.Context, user, source string) ([]Token, error) {
	ts, err := st.sealedUserTokens(ctx, user, source)
	if err != nil {
		return nil, err
	}
	return st.unsealTokens(ts)
}

// sealedUserTokens is UserTokens with the secrets still sealed.
func (st *Store) sealedUserTokens(ctx context.Context, user, source string) ([]sealedToken, error) {
	var ts []sealedToken
	err := st.read(ctx, func(tx *txn) error {
		uid, err := userID(ctx, tx, user)
		if err != nil {
			return err
		}
		q := tokenSelect + ` WHERE t.user_id = ?`
		args := []any{uid}
		if source != "" {
			q += ` AND t.source = ?`
			args = append(args, source)
		}
		ts, err = st.sealedTokens(ctx, tx, q+` ORDER BY t.serial`, args...)
		if err != nil {
			return fmt.Errorf("tokens of user %q: %w", user, err)
		}
		return nil
	})
	return ts, err
}

// AssignToken assigns a token to a user, who must exist. Assigning a token
// to the user who has it already is not an error; assigning one that
// another user has is (ErrAssigned), so that a typo cannot take a token
// from someone: unassign it first. The assignment is one conditional
// UPDATE, so two operators assigning the same token at once cannot both
// succeed.
func (st *Store) AssignToken(ctx context.Context, serial, user string) error {
	return st.write(ctx, func(tx *txn) error {
		uid, err := userID(ctx, tx, user)
		if err != nil {
			return fmt.Errorf("assign token %q: %w", serial, err)
		}
		res, err := tx.ExecContext(ctx, `
UPDATE tokens SET user_id = ?1, updated_at = ?2
WHERE serial = ?3 AND (user_id IS NULL OR user_id = ?1)`,
			uid, unixNano(now()), serial)
		if err != nil {
			return fmt.Errorf("assign token %q: %w", serial, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("assign token %q: %w", serial, err)
		} else if n == 1 {
			return nil
		}
		var holder sql.NullString
		err = tx.QueryRowContext(ctx, `
SELECT u.name FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.serial = ?`, serial).Scan(&holder)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %q: %w", serial, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("assign token %q: %w", serial, err)
		}
		return fmt.Errorf("token %q: %w (to user %q); unassign it first", serial, ErrAssigned, holder.String)
	})
}

// UnassignToken takes a token from its user; it keeps its secret and
// counters. Unassigning an unassigned token is not an error.
func (st *Store) UnassignToken(ctx context.Context, serial string) error {
	res, err := st.db.ExecContext(ctx,
		`UPDATE tokens SET user_id = NULL, updated_at = ? WHERE serial = ?`, unixNano(now()), serial)
	if err != nil {
		return fmt.Errorf("unassign token %q: %w", serial, err)
	}
	return oneRow(res, "token", serial)
}

// DeleteToken deletes a token with its secret and replay state.
func (st *Store) DeleteToken(ctx context.Context, serial string) error {
	res, err := st.db.ExecContext(ctx, `DELETE FROM tokens WHERE serial = ?`, serial)
	if err != nil {
		return fmt.Errorf("delete token %q: %w", serial, err)
	}
	return oneRow(res, "token", serial)
}

const tokenSelect = `
SELECT t.serial, t.kind, t.algorithm, t.digits, t.period, t.t0, t.counter, t.last_step, t.drift,
       t.secret, u.name, t.source, t.manufacturer, t.model
FROM tokens t LEFT JOIN users u ON u.id = t.user_id`

// sealedTokens runs query, a tokenSelect, and returns its tokens with
// their secrets still sealed.
func (st *Store) sealedTokens(ctx context.Context, q querier, query string, args ...any) ([]sealedToken, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []sealedToken
	for rows.Next() {
		var (
			t       Token
			period  int64
			counter int64
			user    sql.NullString
		)
		if err := rows.Scan(&t.Serial, &t.Kind, &t.Algorithm, &t.Digits, &period, &t.T0, &counter, &t.LastStep, &t.Drift,
			&t.Secret, &user, &t.Source, &t.Manufacturer, &t.Model); err != nil {
			return nil, fmt.Errorf("read token: %w", err)
		}
		t.Period = time.Duration(period) * time.Second
		t.Counter = uint64(counter) // CHECK (counter >= 0)
		t.User = user.String
		ts = append(ts, sealedToken{t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return ts, nil
}

// unsealToken returns t with its secret unsealed, in a new slice.
func (st *Store) unsealToken(t sealedToken) (Token, error) {
	secret, err := st.seal.Open(t.Secret, tokenAAD(t.Serial))
	if err != nil {
		return Token{}, fmt.Errorf("token %q: unseal secret: %w", t.Serial, err)
	}
	out := t.Token
	out.Secret = secret
	return out, nil
}

func (st *Store) unsealTokens(ts []sealedToken) ([]Token, error) {
	out := make([]Token, 0, len(ts))
	for _, t := range ts {
		u, err := st.unsealToken(t)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func tokenAAD(serial string) []byte { return []byte("token:" + serial) }

// check validates a token for AddToken. Messages never include the secret.
func (t *Token) check() error {
	if err := checkName("token serial", t.Serial); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("token %q: %w: %s", t.Serial, ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch t.Kind {
	case KindTOTP:
		if t.Period <= 0 || t.Period%time.Second != 0 {
			return bad("TOTP period %v: want a positive whole number of seconds", t.Period)
		}
		if t.LastStep < -1 {
			return bad("last step %d: want -1 (none) or a step", t.LastStep)
		}
	case KindHOTP:
		if t.Period != 0 {
			return bad("period %v on an HOTP token: want 0", t.Period)
		}
	default:
		return bad("kind %q: want %s or %s", t.Kind, KindTOTP, KindHOTP)
	}
	switch t.Algorithm {
	case AlgSHA1, AlgSHA256, AlgSHA512:
	default:
		return bad("algorithm %q: want %s, %s or %s", t.Algorithm, AlgSHA1, AlgSHA256, AlgSHA512)
	}
	if t.Digits < 6 || t.Digits > 10 {
		return bad("%d digits: want 6..10", t.Digits)
	}
	if t.Counter > math.MaxInt64 {
		return bad("counter above 2^63-1")
	}
	switch t.Source {
	case SourceOATH, SourceDIGIPASS:
	default:
		return bad("source %q: want %s or %s", t.Source, SourceOATH, SourceDIGIPASS)
	}
	if len(t.Secret) == 0 || len(t.Secret) > MaxSecretLen {
		return bad("secret of %d bytes: want 1..%d", len(t.Secret), MaxSecretLen)
	}
	return nil
}

const redacted = "REDACTED"

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("Token{Serial:%q Kind:%s Algorithm:%s Digits:%d Period:%v T0:%d Counter:%d LastStep:%d Drift:%d User:%q Source:%s Manufacturer:%q Model:%q Secret:%s}",
		t.Serial, t.Kind, t.Algorithm, t.Digits, t.Period, t.T0, t.Counter, t.LastStep, t.Drift,
		t.User, t.Source, t.Manufacturer, t.Model, redacted)
}

// GoString implements fmt.GoStringer.
func (t Token) GoString() string { return "store." + t.String() }

// Format implements fmt.Formatter so that no verb prints the secret.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(t.GoString()))
		return
	}
	_, _ = f.Write([]byte(t.String()))
}

// LogValue implements slog.LogValuer.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("serial", t.Serial),
		slog.String("kind", t.Kind),
		slog.String("user", t.User),
		slog.String("source", t.Source),
		slog.Uint64("counter", t.Counter),
		slog.Int64("last_step", t.LastStep),
		slog.Int64("drift", t.Drift),
		slog.String("secret", redacted),
	)
}

// MarshalJSON writes the token with its secret redacted; a Token does not
// round-trip through JSON.
func (t Token) MarshalJSON() ([]byte, error) {
	type plain Token // without methods
	return json.Marshal(struct {
		plain
		Secret string
	}{plain(t), redacted})
}
