// Package store is Gatehouse's local store: users, groups, local
// passwords, OTP tokens and their replay state, in one SQLite file (the
// pure-Go modernc.org/sqlite, no cgo), so that a fresh machine needs
// nothing else, or in a PostgreSQL database that several gateways share
// (see PostgreSQL below).
//
// # Who opens it
//
// Several processes open the same file at once: the gateway, the plugin
// processes of the built-in back-ends (Password, OATH, DIGIPASS) and the
// operator's CLI. [Open] therefore sets, on every connection:
//
//   - journal_mode=WAL, so readers never wait for the writer;
//   - busy_timeout ([BusyTimeout], 5 s), so a writer waits for another
//     process's write lock instead of failing with SQLITE_BUSY;
//   - synchronous=FULL, so that a committed HOTP counter or TOTP step
//     survives a power cut (with NORMAL the last commits could roll back and
//     a used code be accepted again), at the cost of an fsync per commit;
//   - foreign_keys=ON, so memberships and token assignments follow
//     deletions;
//   - BEGIN IMMEDIATE for transactions that write, so two read-then-write
//     transactions cannot deadlock; reads use deferred read-only
//     transactions and take no write lock.
//
// The file is created with mode 0600; SQLite gives its -wal and -shm files
// the same mode. Every process that opens it (plugins included) must run as
// the owning account.
//
// # Schema
//
// Migrations are numbered from 1 and listed in migrate.go; a released one is
// never edited. [Open] applies the pending ones in a single IMMEDIATE
// transaction (so two processes starting together migrate once, and a
// failed upgrade leaves the old schema intact) and refuses, with
// [ErrSchemaTooNew], a database a newer Gatehouse has migrated. The tables:
//
//	schema_migrations  version, name, applied_at: one row per applied migration.
//	meta               key, value: the key check (below).
//	users              name (unique), disabled, vpn_access (use_group|on|off),
//	                   password_hash (argon2id, PHC string), password_sealed
//	                   (sealed, additional data "password:"+name), created_at,
//	                   updated_at. Both password columns are NULL or neither.
//	groups             name (unique), created_at.
//	group_members      (group_id, user_id); deleting either side deletes the row.
//	tokens             serial (primary key), kind (totp|hotp), algorithm
//	                   (SHA1|SHA256|SHA512), digits (6..10), period (seconds),
//	                   t0, counter (next HOTP counter), last_step (last TOTP
//	                   step accepted, -1 none), drift (TOTP steps), secret
//	                   (sealed, additional data "token:"+serial), user_id (NULL
//	                   when unassigned; deleting the user unassigns), source
//	                   (oath|digipass), manufacturer, model, created_at,
//	                   updated_at.
//	revisions          name (identity|lockouts), value: counters that
//	                   triggers bump when a user's disabled flag or VPN
//	                   access changes, a user is deleted, or a group
//	                   membership changes (identity), and that
//	                   [Store.Unlock] bumps (lockouts). The gateway polls
//	                   them ([Store.Revisions]) to re-check running
//	                   sessions and reload its lockouts without a reload.
//	lockouts           name (primary key; any user name tried, known or
//	                   not), failures, window_start, locked_until,
//	                   updated_at: the failed-login counts of the lockout
//	                   policy, so a restart does not forgive them.
//	operators          name (primary key), role (viewer|operator),
//	                   password_hash (argon2id, PHC string), created_at,
//	                   updated_at: the web console's accounts (version 3).
//
// Timestamps are INTEGER Unix nanoseconds, UTC. The event index is a
// separate file (server/events).
//
// Names of users and groups, and token serials, are 1 to 64 characters of
// valid UTF-8, without control characters or white space at either end, and
// are compared exactly: "Alice" and "alice" are two users.
//
// # Secrets at rest
//
// A local password is kept twice: sealed (AES-256-GCM, package [seal]) so
// that [Store.Password] can give it back, and as an argon2id hash (RFC
// 9106). The sealed copy exists because of
// MS-CHAPv2: the server never sees the password, only a response computed
// over the NT hash (MD4 of the UTF-16LE password) of the whole secret the
// user typed. To check a response the server needs that hash, and the NT
// hash is itself password-equivalent: whoever holds it can log in, hash or
// no hash. So a store that supports MS-CHAPv2 at all holds
// password-equivalent material, and holding the password sealed costs
// nothing in safety. It is also the only way to combine factors: when the
// policy says "Password and OATH", the user types password and code as one
// secret, the NT hash is of the concatenation, and only the password itself
// can be concatenated with each candidate code. Plaintext logins (RADIUS
// PAP) compare with the sealed copy too: the hash would add no safety
// while the copy exists, and at 64 MiB and tens of milliseconds a check it
// would let a stream of PAP requests exhaust the gateway. The argon2id hash,
// which cannot be reversed, decides plaintext logins when the sealed copy
// does not open, and costs an attacker who steals only the database and not
// the key real work.
//
// Token secrets (the HMAC keys of OATH tokens and DIGIPASS) are sealed the
// same way. Plaintext exists only in memory: [Token.Secret] and the result
// of [Store.Password]. [Token] redacts its secret in every fmt verb, in slog
// and in JSON; no error message built here contains a password, a secret or
// a hash, and the package logs nothing.
//
// The additional data binds each sealed value to its row, so a value copied
// from one user's or token's row into another's fails to open
// ([seal.ErrAuthFailed]) instead of letting one user log in with another's
// secret.
//
// # The key
//
// The sealing key is 32 random bytes in its own file: store.key_file in
// the configuration, by default secret.key under state_dir, next to the
// database. [seal.LoadOrCreateKey] creates it with mode 0600 on first use and
// refuses one that group or others can access, saying which chmod to run.
// Open seals a known value under the key into meta on first use and checks
// it on every later open, so a replaced or lost key file is reported at once
// as [ErrWrongKey], not as a failed login later. Without its key file a
// database's passwords and token secrets are lost. A backup made by
// [Store.Backup] holds both (see below) and is as secret as the key; a copy
// of the database alone, such as a file-system backup, must be kept apart
// from any copy of the key.
//
// # Passwords
//
// [Store.SetPassword] hashes with [PasswordHashParams], by default t=1,
// m=64 MiB, p=2 (RFC 9106's second recommended option, with the parallelism
// of a two-core gateway; 40 to 100 ms per check there). The parameters are
// recorded in each hash, $argon2id$v=19$m=65536,t=1,p=2$salt$hash, so
// raising them later leaves existing passwords valid. [Store.CheckPassword]
// unseals the copy and compares SHA-256 digests in constant time (neither
// content nor length leaks); without a copy that opens it compares argon2id
// outputs, spending one computation whether the user exists, has no
// password or has a wrong one. A wrong password is (false, nil), not an
// error.
//
// # Console operators
//
// The web console's accounts (gatehouse admin add) are a namespace of
// their own: an operator is not a user, signs in to the console only,
// and never logs in to the VPN. Each has a role, viewer (reads) or
// operator (reads and changes), and a password kept only as an argon2id
// hash with [PasswordHashParams]. Unlike a user's password it is not
// sealed, since nothing needs it back, so [Rekey] has nothing of it to
// reseal and a database stolen without its key still makes an attacker
// pay argon2id per guess. [Store.CheckOperator] computes one argon2id
// hash per check, also for a name that does not exist (over a dummy
// hash), and compares in constant time, so neither the answer nor the
// time it takes tells which names exist. At 64 MiB a computation, callers
// must bound how many run at once.
//
// # Replay protection
//
// [Store.CommitHOTP] and [Store.CommitTOTP] are each a single UPDATE whose
// WHERE clause holds the replay condition (counter <= used, last_step <
// step), checked by the rows it changed. SQLite runs the statement under the
// database's write lock, so of any number of processes committing the same
// code at once exactly one succeeds and the others get [ErrReplayed]; no lock
// is held across a round trip and no transaction is needed. A TOTP code at a
// step earlier than one already accepted is refused as well (RFC 6238,
// section 5.2). [Store.ResyncHOTP] only moves the counter forward, since
// moving it back would make used codes valid again.
//
// # The plugins' cache
//
// The built-in back-ends' plugin processes read through a [Cache]: what a
// login reads (the user with its groups, the sealed password, the tokens
// assigned, secrets still sealed) is kept in the process and served again
// until the database changes. Each call of a back-end takes a [Snapshot],
// which first asks whether any connection, in this process or any other
// (the CLI, another plugin, another gateway's plugin on the same file),
// has committed since the cache last asked, and forgets everything if so;
// a change is therefore seen by the very next login. The question is
// answered from the WAL-index header in the -shm file, which SQLite
// documents (https://www.sqlite.org/walformat.html, section 2.2.1) and
// every connection maps: its change counter, frame count and salts move
// with every commit. The cache maps the first page read-only and compares
// (19 ns, no system call); where it cannot, or the header's version is not
// the documented one, it asks PRAGMA data_version on a connection it keeps
// for that alone (10 µs). Plaintext secrets are never cached, and writes,
// the replay-proof commits included, go to the database as before.
//
// # Backup, restore and key rotation
//
// [Store.Backup] (gatehouse store backup) writes one file holding the
// database and the key, so that a restore can never pair a database with
// the wrong key. The database is copied online with VACUUM INTO, which
// reads it in one read transaction: the copy holds every transaction
// committed before the backup started and none after, while the gateway
// goes on reading and committing (WAL readers do not block the writer).
// Before anything is written, the key is checked to open every sealed
// value of the copy. The file is a POSIX tar, format version 1, with
// exactly these members in this order, each of mode 0600:
//
//	MANIFEST.json  {"format": "gatehouse-store-backup", "version": 1,
//	               "created", "schema_version", "users", "passwords",
//	               "tokens", "members": [{"name", "size", "sha256"}] for
//	               gatehouse.db and secret.key}
//	gatehouse.db   the VACUUM INTO copy (rollback journal mode)
//	secret.key     the 32-byte key
//	SHA256SUMS     sha256sum lines for the three members above
//
// so an operator can also check and unpack it by hand (tar -x, then
// sha256sum -c SHA256SUMS). It is neither compressed nor encrypted; the
// CLI writes it with mode 0600 through a temporary file renamed into
// place ([Store.BackupToFile]), refuses to replace a file without --force,
// and with --out - writes to standard output (refused when that is a
// terminal) so that it can be piped into gpg or age without a plaintext
// copy on disk. A crash while writing can leave a .NAME.tmp-* file next to
// the output; it holds the key too.
//
// [Restore] reads the whole file before changing anything and refuses,
// with [ErrBadBackup], any layout, size or checksum mismatch (tar also
// checksums its headers, so a changed byte anywhere but in a member's
// padding is caught); it refuses a copy that fails SQLite's integrity or
// foreign-key check, one whose schema is newer than this program
// ([ErrSchemaTooNew], naming both versions; an older one is restored and
// migrated by the next Open), one whose key does not open the key check
// ([ErrWrongKey]) or any sealed value (naming the row), an existing
// database or key file unless forced ([ErrExists]), and a store that
// anything has open ([ErrInUse]). [VerifyBackup] runs the same checks
// without a store (restore --dry-run).
//
// A running gateway is detected by the database's locks: Restore and
// [Rekey] open it with locking_mode=EXCLUSIVE, which in WAL mode takes the
// file's EXCLUSIVE lock (https://sqlite.org/wal.html, "Use of WAL
// Without Shared-Memory"). Every open WAL connection, in this process or
// another (the gateway's, its plugins', a CLI command's), holds a SHARED
// lock for as long as it is open, so the lock is granted only to a store
// nobody has open; after [DefaultLockWait] the error is ErrInUse, saying
// to stop the gateway.
// The CLI also refuses when the gateway's admin socket answers. Neither
// can stop a gateway started during the operation; stop it first.
//
// [Rekey] (gatehouse store rekey) generates a new key and reseals every
// sealed value: users.password_sealed, tokens.secret and the key check in
// meta (the list is sealedColumns in rekey.go; a test fails if a BLOB
// column is added without it). No schema change is needed to record which
// key the database is under: the key check, resealed in the same
// transaction, says so, and proves it, since only that key opens it. Both
// key changes, Rekey and Restore, go through the same steps, holding the
// database's exclusive lock, each durable (fsync of file and directory)
// before the next:
//
//  1. write the new key to key_file+".new" (mode 0600);
//  2. Rekey: reseal every value in one transaction and commit. Restore:
//     copy the checked backup's pages over the database with SQLite's
//     backup API, one transaction through the locked connection, so SQLite
//     itself replays or discards the old WAL (no stale -wal can be applied
//     to the new content) and openers waiting on the lock find the new
//     content in the same file. Where there was no database, Restore first
//     creates an empty one, after removing stray -wal, -shm and -journal
//     files (SQLite would replay them into it), and removes it again if it
//     fails before the commit; an empty database left by a crash there
//     does not count as a store;
//  3. rename key_file+".new" over key_file.
//
// A crash before the commit leaves the old database with the old key file,
// after it the new database with the new key in key_file+".new". [RecoverKey],
// which the CLI and the gateway run before loading the key (one stat when
// there is nothing to do), takes the lock and opens the key check with the
// ".new" key: if it opens, the commit happened and the file is renamed into
// place (roll forward); if the old key opens it instead, the file is
// deleted (roll back); if neither does, nothing is touched and the error
// says so. So after a crash at any point the store opens with the key file
// on disk, with every secret (the tests kill a process at each step).
//
// Rekey deletes the old key (the rename replaces it) rather than keeping a
// secret.key.old: a kept copy would defeat a rotation after a leak. The
// cost is that a copy of the database alone taken before the rotation can
// no longer be read; backups made by Store.Backup carry their own key and
// still restore, bringing that key back. A rotation does not undo a leak:
// whoever had the old key and a copy of the database has the secrets as
// they were, so change those passwords and re-enrol those tokens too.
// Rekey refuses a store that is open, because a running gateway and its
// plugins hold the old key in memory: they would fail to unseal every
// secret afterwards (MS-CHAPv2 and token logins would fail; PAP would fall
// back on the argon2id hash). Stop the gateway, rekey, start it.
//
// # What the store does not decide
//
// It records Disabled and VPNAccess; refusing a disabled user, and resolving
// use_group against the groups' grants in the configuration, is the job of
// the identity back-end and the access check. It does not choose which
// codes are valid now; the OATH and DIGIPASS back-ends compute codes and
// tell the store which counter or step to consume.
//
// # PostgreSQL
//
// Several gateways behind one address share one PostgreSQL database
// ([OpenPostgres]; store.driver: postgres, store.dsn_file, store.max_conns
// in the configuration), so that a code used at one is spent at all, and
// a user disabled at one is refused at all. The driver is
// github.com/jackc/pgx/v5 behind database/sql, and the Store is the same
// type with the same methods and the same guarantees; these are the
// differences:
//
//   - Statements. They are written once, with SQLite's ? and ?N
//     placeholders, and rewritten to $N for PostgreSQL (dialect.go). Both
//     databases run the rest alike: ON CONFLICT, RETURNING-free
//     conditional UPDATEs, sub-selects, LEFT JOINs.
//   - Schema. The same versions, tables, columns and constraints, written
//     in PostgreSQL's dialect (migrate_postgres.go: BIGINT identity keys,
//     BYTEA, BOOLEAN, trigger functions); a test compares the two. Names
//     use the "C" collation, so they compare exactly and sort by byte, as
//     on SQLite, whatever the database's locale. Migrations run in one
//     transaction that first takes a transaction-scoped advisory lock
//     (pg_advisory_xact_lock), so gateways starting together queue and
//     the later ones find the schema current; PostgreSQL's DDL is
//     transactional, so a failed upgrade leaves the old schema. A database
//     a newer Gatehouse migrated is refused ([ErrSchemaTooNew], naming
//     both versions).
//   - Transactions. Writing transactions run at READ COMMITTED, reading
//     ones at REPEATABLE READ (one snapshot, as SQLite's read transactions
//     have). That is enough because no transaction decides a write on a
//     value it read earlier except through the row's own lock: the
//     replay-proof commits and token assignment are single conditional
//     UPDATEs, atomic under the row lock, so of two gateways committing
//     the same code exactly one changes the row; the others look up ids
//     before one write, and foreign keys catch a row deleted in between;
//     [Store.RecordFailure] locks the row (an UPDATE) before it reads it.
//   - The plugins' cache asks the revision 'data', which row triggers on
//     users, groups, memberships and tokens move, instead of the
//     wal-index: one round trip per back-end call (about 0.15 ms on
//     loopback), read through the pool so that a restart of the server
//     breaks nothing. Every trigger function moves 'data' before any other
//     revision, so transactions lock the revision rows in one order.
//   - Lockouts. On SQLite each gateway counts failed logins alone; on
//     PostgreSQL the gateways count together: [Store.RecordFailure] adds
//     one failure to the name's row and returns the sum, and a lock it
//     decides moves Revisions.Lockouts so the other gateways load it.
//   - Outages. [OpenPostgres] fails when the server cannot be reached, so
//     a gateway never starts without its store. Once open, every method
//     fails while the server is down ([IsUnavailable] tells the caller
//     why), and nothing is served from memory: the cache's question fails
//     first. A login therefore fails closed, and no one-time code is
//     accepted without the UPDATE that spends it having committed. The
//     pool drops broken connections and opens new ones, so the first call
//     after the server returns succeeds, with no restart.
//   - Connection string and pool. The DSN is a libpq key=value string or
//     a postgres:// URL; sslmode=verify-full with sslrootcert is honoured.
//     It is read from a file group and others cannot read
//     ([ReadDSNFile]); no error message quotes it. Each process (the
//     gateway, each built-in plugin process, each CLI command) has its own
//     pool of at most PostgresOptions.MaxConns connections.
//   - Backup, restore and rekey are SQLite's (they copy and lock the
//     file). On PostgreSQL, back the database up with pg_dump and keep the
//     key file with the dump: without the key its sealed values are lost.
//     A key rotation would need every gateway stopped and the new key
//     copied to each; it is not built.
//
// [Copy] ("gatehouse store migrate") copies a SQLite store into an empty
// PostgreSQL one, sealed values still sealed under the same key, so a
// single gateway can grow into several.
package store
