package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"
)

// OperatorRole is what a console operator may do.
type OperatorRole string

const (
	// RoleViewer reads every page of the console and changes nothing.
	RoleViewer OperatorRole = "viewer"
	// RoleOperator reads and changes users, groups, tokens and sessions.
	RoleOperator OperatorRole = "operator"
)

// Valid reports whether r is one of the roles above.
func (r OperatorRole) Valid() bool { return r == RoleViewer || r == RoleOperator }

// ParseOperatorRole returns the role named s, or an error wrapping
// ErrInvalid that lists the roles.
func ParseOperatorRole(s string) (OperatorRole, error) {
	if r := OperatorRole(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("role %q: %w: want viewer or operator", s, ErrInvalid)
}

// Operator is an account of the web console (gatehouse admin). It holds
// no secret: only [Store.CheckOperator] reads the password hash.
type Operator struct {
	Name      string
	Role      OperatorRole
	CreatedAt time.Time
	// UpdatedAt moves when the password or the role changes; a console
	// may end the sessions signed in before it.
	UpdatedAt time.Time
}

// AddOperator creates a console account. Names follow the rules of user
// names (a separate namespace: an operator "alice" and a user "alice" are
// unrelated); the password those of user passwords. The password is kept
// only as an argon2id hash with [PasswordHashParams]: nothing ever needs
// it back, so unlike a user's it is not sealed.
func (st *Store) AddOperator(ctx context.Context, name, password string, role OperatorRole) error {
	if err := checkName("operator name", name); err != nil {
		return err
	}
	if !role.Valid() {
		return fmt.Errorf("operator %q: role %q: %w: want viewer or operator", name, role, ErrInvalid)
	}
	hash, err := operatorHash(name, password)
	if err != nil {
		return err
	}
	t := unixNano(now())
	res, err := st.db.ExecContext(ctx, `
INSERT INTO operators (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (name) DO NOTHING`, name, string(role), hash, t, t)
	if err != nil {
		return fmt.Errorf("add operator %q: %w", name, err)
	}
	if n, err := affected(res); err != nil {
		return fmt.Errorf("add operator %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("operator %q: %w", name, ErrExists)
	}
	return nil
}

// operatorHash checks and hashes an operator's password.
func operatorHash(name, password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", fmt.Errorf("operator %q: %w", name, err)
	}
	hash, err := hashPassword(password, PasswordHashParams)
	if err != nil {
		return "", fmt.Errorf("operator %q: %w", name, err)
	}
	return hash, nil
}

// Operator returns one console account.
func (st *Store) Operator(ctx context.Context, name string) (Operator, error) {
	o, err := scanOperator(st.db.QueryRowContext(ctx,
		`SELECT name, role, created_at, updated_at FROM operators WHERE name = ?`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Operator{}, fmt.Errorf("operator %q: %w", name, ErrNotFound)
	case err != nil:
		return Operator{}, fmt.Errorf("operator %q: %w", name, err)
	}
	return o, nil
}

// Operators returns every console account, sorted by name.
func (st *Store) Operators(ctx context.Context) ([]Operator, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT name, role, created_at, updated_at FROM operators ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	defer rows.Close()
	var out []Operator
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("list operators: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	return out, nil
}

// scanOperator reads the columns name, role, created_at, updated_at, then
// any more into extra.
func scanOperator(s scanner, extra ...any) (Operator, error) {
	var o Operator
	var role string
	var created, updated int64
	if err := s.Scan(append([]any{&o.Name, &role, &created, &updated}, extra...)...); err != nil {
		return Operator{}, err
	}
	o.Role = OperatorRole(role)
	o.CreatedAt, o.UpdatedAt = fromUnixNano(created), fromUnixNano(updated)
	return o, nil
}

// DeleteOperator deletes a console account.
func (st *Store) DeleteOperator(ctx context.Context, name string) error {
	res, err := st.db.ExecContext(ctx, `DELETE FROM operators WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete operator %q: %w", name, err)
	}
	return oneRow(res, "operator", name)
}

// SetOperatorPassword replaces a console account's password.
func (st *Store) SetOperatorPassword(ctx context.Context, name, password string) error {
	hash, err := operatorHash(name, password)
	if err != nil {
		return err
	}
	res, err := st.db.ExecContext(ctx, `UPDATE operators SET password_hash = ?, updated_at = ? WHERE name = ?`,
		hash, unixNano(now()), name)
	if err != nil {
		return fmt.Errorf("set password of operator %q: %w", name, err)
	}
	return oneRow(res, "operator", name)
}

// SetOperatorRole changes a console account's role.
func (st *Store) SetOperatorRole(ctx context.Context, name string, role OperatorRole) error {
	if !role.Valid() {
		return fmt.Errorf("operator %q: role %q: %w: want viewer or operator", name, role, ErrInvalid)
	}
	res, err := st.db.ExecContext(ctx, `UPDATE operators SET role = ?, updated_at = ? WHERE name = ?`,
		string(role), unixNano(now()), name)
	if err != nil {
		return fmt.Errorf("set role of operator %q: %w", name, err)
	}
	return oneRow(res, "operator", name)
}

// CheckOperator reports whether password is the password of the console
// account name, and returns the account when it is. An unknown name and a
// wrong password are both (Operator{}, false, nil), and cost the same:
// for an unknown name one argon2id computation with PasswordHashParams is
// spent on a dummy hash, so the time taken does not tell which names
// exist. The comparison of the computed and the stored hash is in
// constant time.
func (st *Store) CheckOperator(ctx context.Context, name, password string) (Operator, bool, error) {
	var hash string
	o, err := scanOperator(st.db.QueryRowContext(ctx,
		`SELECT name, role, created_at, updated_at, password_hash FROM operators WHERE name = ?`, name), &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		p := PasswordHashParams
		operatorKDF([]byte(password), make([]byte, p.SaltLen), p)
		return Operator{}, false, nil
	case err != nil:
		return Operator{}, false, fmt.Errorf("check operator %q: %w", name, err)
	}
	p, salt, want, err := decodePHC(hash)
	if err != nil {
		return Operator{}, false, fmt.Errorf("operator %q: stored password hash: %w", name, err)
	}
	got := operatorKDF([]byte(password), salt, p)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return Operator{}, false, nil
	}
	return o, true, nil
}

// operatorKDF is argon2id; a variable so that a test can see that an
// unknown name costs a computation too.
var operatorKDF = func(pw, salt []byte, p Argon2Params) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}
