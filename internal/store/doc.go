// Package store is Gatehouse's embedded local store: users, groups, local
// passwords, OTP tokens and their replay state, in one SQLite file (the
// pure-Go modernc.org/sqlite, no cgo), so that a fresh machine needs
// nothing else.
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
// database's passwords and token secrets are lost; back the key up, and keep
// the backup apart from the database backups.
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
// Several gateways behind one address will share state through PostgreSQL
// instead: the same API, a second driver (store.driver: postgres in the
// configuration). It is not built yet. The queries here are written to
// carry over: the replay commits and token assignment are single
// conditional UPDATEs, atomic under PostgreSQL's row locks too; the other
// transactions only look up ids before one write, and foreign keys catch a
// row deleted in between. Only the migration transaction relies on
// SQLite's single writer; PostgreSQL will need an advisory lock there.
package store
