package store

import (
	"context"
	"fmt"
)

// A migration moves the schema from version-1 to version. Migrations are
// append-only: a released migration is never edited, a change is a new
// one. Versions are 1, 2, 3, ... with no gaps.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema's history. doc.go describes the tables.
var migrations = []migration{
	{1, "initial schema", `
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

CREATE TABLE users (
	id              INTEGER PRIMARY KEY,
	name            TEXT    NOT NULL UNIQUE,
	disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	vpn_access      TEXT    NOT NULL DEFAULT 'use_group' CHECK (vpn_access IN ('use_group', 'on', 'off')),
	password_hash   TEXT,
	password_sealed BLOB,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	CHECK ((password_hash IS NULL) = (password_sealed IS NULL))
) STRICT;

CREATE TABLE groups (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE group_members (
	group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE tokens (
	serial       TEXT    PRIMARY KEY,
	kind         TEXT    NOT NULL CHECK (kind IN ('totp', 'hotp')),
	algorithm    TEXT    NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
	digits       INTEGER NOT NULL CHECK (digits BETWEEN 6 AND 10),
	period       INTEGER NOT NULL CHECK (period >= 0),
	t0           INTEGER NOT NULL DEFAULT 0,
	counter      INTEGER NOT NULL DEFAULT 0 CHECK (counter >= 0),
	last_step    INTEGER NOT NULL DEFAULT -1 CHECK (last_step >= -1),
	drift        INTEGER NOT NULL DEFAULT 0,
	secret       BLOB    NOT NULL,
	user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
	source       TEXT    NOT NULL CHECK (source IN ('oath', 'digipass')),
	manufacturer TEXT    NOT NULL DEFAULT '',
	model        TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_user ON tokens (user_id, source);
`},
	{2, "revisions and lockouts", `
CREATE TABLE revisions (
	name  TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;

INSERT INTO revisions (name, value) VALUES ('identity', 0), ('lockouts', 0);

CREATE TRIGGER users_access_changed AFTER UPDATE OF disabled, vpn_access ON users
BEGIN
	UPDATE revisions SET value = value + 1 WHERE name = 'identity';
END;

CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN
	UPDATE revisions SET value = value + 1 WHERE name = 'identity';
END;

CREATE TRIGGER group_members_added AFTER INSERT ON group_members
BEGIN
	UPDATE revisions SET value = value + 1 WHERE name = 'identity';
END;

CREATE TRIGGER group_members_removed AFTER DELETE ON group_members
BEGIN
	UPDATE revisions SET value = value + 1 WHERE name = 'identity';
END;

CREATE TABLE lockouts (
	name          TEXT    PRIMARY KEY,
	failures      INTEGER NOT NULL CHECK (failures >= 0),
	window_start  INTEGER NOT NULL,
	locked_until  INTEGER NOT NULL DEFAULT 0,
	updated_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`},
	// IF NOT EXISTS: no earlier version had the table, so it changes
	// nothing for a database migrated in order; it lets a version-1
	// database made by dropping version 2's objects from a newer copy (as
	// the restore tests do) migrate all the same.
	{3, "console operators", `
CREATE TABLE IF NOT EXISTS operators (
	name          TEXT    PRIMARY KEY,
	role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator')),
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`},
}

// SchemaVersion is the schema version this program writes.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate brings the database to SchemaVersion. When it is current, which
// is every open but the first after an upgrade, it only reads. Otherwise it
// applies every pending migration in one IMMEDIATE transaction, so two
// processes starting together migrate once and a failed upgrade leaves the
// old schema intact.
func (st *Store) migrate(ctx context.Context) error {
	cur, err := schemaVersionOf(ctx, st.db)
	if err != nil {
		return err
	}
	if err := checkNotNewer(cur); err != nil {
		return err
	}
	if cur == SchemaVersion() {
		return nil
	}

	tx, err := st.db.BeginTx(ctx, nil) // IMMEDIATE: see dsn
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := applyPending(ctx, tx, migrations, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// applyPending creates schema_migrations (with create) if needed, reads
// the version again inside tx, which holds the write lock (SQLite) or
// the advisory lock (PostgreSQL), so a process that migrated meanwhile
// is seen, and applies the migrations of list above it.
func applyPending(ctx context.Context, tx *txn, list []migration, create string) error {
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := checkNotNewer(cur); err != nil {
		return err
	}
	for _, m := range list {
		if m.version <= cur {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, unixNano(now())); err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func checkNotNewer(v int) error {
	if v > SchemaVersion() {
		return fmt.Errorf("%w: the database is at schema version %d, this program knows versions up to %d; "+
			"run the newer gatehouse that migrated it, or restore a backup taken before the upgrade",
			ErrSchemaTooNew, v, SchemaVersion())
	}
	return nil
}
