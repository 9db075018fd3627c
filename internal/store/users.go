package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// VPNAccess is a user's own VPN access setting. The configuration grants
// or refuses access by group; a user either follows the groups or
// overrides them.
type VPNAccess string

const (
	// VPNUseGroup: the user's groups decide (the default).
	VPNUseGroup VPNAccess = "use_group"
	// VPNOn: the user may connect whatever the groups say.
	VPNOn VPNAccess = "on"
	// VPNOff: the user may not connect whatever the groups say.
	VPNOff VPNAccess = "off"
)

func (a VPNAccess) valid() bool {
	return a == VPNUseGroup || a == VPNOn || a == VPNOff
}

// User is a local user. It holds no secret: HasPassword says whether a
// password is set, and only [Store.CheckPassword] and [Store.Password]
// touch it.
type User struct {
	Name        string
	Disabled    bool
	VPNAccess   VPNAccess
	Groups      []string // sorted; empty when the user is in no group
	HasPassword bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AddUser creates an enabled user with VPN access use_group, no password
// and no groups.
func (st *Store) AddUser(ctx context.Context, name string) error {
	if err := checkName("user name", name); err != nil {
		return err
	}
	t := unixNano(now())
	res, err := st.db.ExecContext(ctx,
		`INSERT INTO users (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, t, t)
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	if n, err := affected(res); err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrExists)
	}
	return nil
}

// DeleteUser deletes a user with its password and group memberships. Tokens
// assigned to the user become unassigned; they keep their secret and
// counters and can be assigned to someone else.
func (st *Store) DeleteUser(ctx context.Context, name string) error {
	res, err := st.db.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete user %q: %w", name, err)
	}
	return oneRow(res, "user", name)
}

// User returns one user.
func (st *Store) User(ctx context.Context, name string) (User, error) {
	var u User
	err := st.read(ctx, func(tx *txn) error {
		row := tx.QueryRowContext(ctx, `
SELECT id, name, disabled, vpn_access, password_hash IS NOT NULL, created_at, updated_at
FROM users WHERE name = ?`, name)
		var id int64
		if err := scanUser(row, &id, &u); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("user %q: %w", name, ErrNotFound)
			}
			return fmt.Errorf("user %q: %w", name, err)
		}
		var err error
		u.Groups, err = groupsOf(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		return nil
	})
	return u, err
}

// Users returns every user, sorted by name.
func (st *Store) Users(ctx context.Context) ([]User, error) {
	var users []User
	err := st.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `
SELECT id, name, disabled, vpn_access, password_hash IS NOT NULL, created_at, updated_at
FROM users ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		index := map[int64]int{}
		for rows.Next() {
			var (
				id int64
				u  User
			)
			if err := scanUser(rows, &id, &u); err != nil {
				return err
			}
			index[id] = len(users)
			users = append(users, u)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()

		rows, err = tx.QueryContext(ctx, `
SELECT m.user_id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id
ORDER BY m.user_id, g.name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id    int64
				group string
			)
			if err := rows.Scan(&id, &group); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				users[i].Groups = append(users[i].Groups, group)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SetDisabled disables or enables a user. The store only records the
// flag; refusing a disabled user's login is the identity back-end's job.
func (st *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	res, err := st.db.ExecContext(ctx,
		`UPDATE users SET disabled = ?, updated_at = ? WHERE name = ?`, disabled, unixNano(now()), name)
	if err != nil {
		return fmt.Errorf("set user %q disabled: %w", name, err)
	}
	return oneRow(res, "user", name)
}

// SetVPNAccess sets a user's own VPN access: use_group, on or off.
func (st *Store) SetVPNAccess(ctx context.Context, name string, mode VPNAccess) error {
	if !mode.valid() {
		return fmt.Errorf("user %q: VPN access %q: %w: want use_group, on or off", name, mode, ErrInvalid)
	}
	res, err := st.db.ExecContext(ctx,
		`UPDATE users SET vpn_access = ?, updated_at = ? WHERE name = ?`, string(mode), unixNano(now()), name)
	if err != nil {
		return fmt.Errorf("set user %q VPN access: %w", name, err)
	}
	return oneRow(res, "user", name)
}

type scanner interface{ Scan(dest ...any) error }

// scanUser reads the columns id, name, disabled, vpn_access,
// password_hash IS NOT NULL, created_at, updated_at, then any more into
// extra.
func scanUser(s scanner, id *int64, u *User, extra ...any) error {
	var access string
	var created, updated int64
	if err := s.Scan(append([]any{id, &u.Name, &u.Disabled, &access, &u.HasPassword, &created, &updated}, extra...)...); err != nil {
		return err
	}
	u.VPNAccess = VPNAccess(access)
	u.CreatedAt = fromUnixNano(created)
	u.UpdatedAt = fromUnixNano(updated)
	return nil
}

// groupsOf returns the sorted names of a user's groups.
func groupsOf(ctx context.Context, q querier, userID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `
SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
WHERE m.user_id = ? ORDER BY g.name`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// oneRow turns an UPDATE or DELETE that matched nothing into
// `<what> "<name>": not found`.
func oneRow(res sql.Result, what, name string) error {
	n, err := affected(res)
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, name, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", what, name, ErrNotFound)
	}
	return nil
}
