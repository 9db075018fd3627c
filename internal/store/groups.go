package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Group is a named set of users. Which groups grant VPN access, and which
// firewall policy a group gets, is configuration, not store state.
type Group struct {
	Name    string
	Members []string // sorted user names; empty for an empty group
}

// AddGroup creates an empty group. Group names follow the rules of user
// names.
func (st *Store) AddGroup(ctx context.Context, name string) error {
	if err := checkName("group name", name); err != nil {
		return err
	}
	res, err := st.db.ExecContext(ctx,
		`INSERT INTO groups (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, unixNano(now()))
	if err != nil {
		return fmt.Errorf("add group %q: %w", name, err)
	}
	if n, err := affected(res); err != nil {
		return fmt.Errorf("add group %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("group %q: %w", name, ErrExists)
	}
	return nil
}

// DeleteGroup deletes a group, with its memberships if it has members.
func (st *Store) DeleteGroup(ctx context.Context, name string) error {
	return st.write(ctx, func(tx *txn) error {
		id, err := groupID(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
UPDATE users SET updated_at = ? WHERE id IN (SELECT user_id FROM group_members WHERE group_id = ?)`,
			unixNano(now()), id); err != nil {
			return fmt.Errorf("delete group %q: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete group %q: %w", name, err)
		}
		return nil
	})
}

// Group returns one group with its members.
func (st *Store) Group(ctx context.Context, name string) (Group, error) {
	g := Group{Name: name}
	err := st.read(ctx, func(tx *txn) error {
		id, err := groupID(ctx, tx, name)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id
WHERE m.group_id = ? ORDER BY u.name`, id)
		if err != nil {
			return fmt.Errorf("group %q: %w", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				return fmt.Errorf("group %q: %w", name, err)
			}
			g.Members = append(g.Members, u)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("group %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

// Groups returns every group with its members, sorted by name.
func (st *Store) Groups(ctx context.Context) ([]Group, error) {
	var groups []Group
	err := st.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `
SELECT g.name, u.name
FROM groups g
LEFT JOIN group_members m ON m.group_id = g.id
LEFT JOIN users u ON u.id = m.user_id
ORDER BY g.name, u.name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				group  string
				member sql.NullString
			)
			if err := rows.Scan(&group, &member); err != nil {
				return err
			}
			if len(groups) == 0 || groups[len(groups)-1].Name != group {
				groups = append(groups, Group{Name: group})
			}
			if member.Valid {
				g := &groups[len(groups)-1]
				g.Members = append(g.Members, member.String)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return groups, nil
}

// AddMember puts a user in a group. Both must exist; if the user is
// already a member the error wraps ErrExists.
func (st *Store) AddMember(ctx context.Context, group, user string) error {
	return st.write(ctx, func(tx *txn) error {
		gid, err := groupID(ctx, tx, group)
		if err != nil {
			return err
		}
		uid, err := userID(ctx, tx, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, gid, uid)
		if err != nil {
			return fmt.Errorf("add user %q to group %q: %w", user, group, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("add user %q to group %q: %w", user, group, err)
		} else if n == 0 {
			return fmt.Errorf("user %q in group %q: %w", user, group, ErrExists)
		}
		return touchUser(ctx, tx, uid)
	})
}

// RemoveMember takes a user out of a group. If the user is not a member
// the error wraps ErrNotFound.
func (st *Store) RemoveMember(ctx context.Context, group, user string) error {
	return st.write(ctx, func(tx *txn) error {
		gid, err := groupID(ctx, tx, group)
		if err != nil {
			return err
		}
		uid, err := userID(ctx, tx, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, gid, uid)
		if err != nil {
			return fmt.Errorf("remove user %q from group %q: %w", user, group, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("remove user %q from group %q: %w", user, group, err)
		} else if n == 0 {
			return fmt.Errorf("user %q in group %q: %w", user, group, ErrNotFound)
		}
		return touchUser(ctx, tx, uid)
	})
}

// UserGroups returns the sorted names of a user's groups.
func (st *Store) UserGroups(ctx context.Context, user string) ([]string, error) {
	var groups []string
	err := st.read(ctx, func(tx *txn) error {
		uid, err := userID(ctx, tx, user)
		if err != nil {
			return err
		}
		groups, err = groupsOf(ctx, tx, uid)
		if err != nil {
			return fmt.Errorf("groups of user %q: %w", user, err)
		}
		return nil
	})
	return groups, err
}

// touchUser records that a user's group memberships changed.
func touchUser(ctx context.Context, tx *txn, uid int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET updated_at = ? WHERE id = ?`, unixNano(now()), uid); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
