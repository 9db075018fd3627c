// Package events is the gateway's one model of what happened, for its
// operators: every login, session, operator action, plugin life event and
// configuration change is an [Event], written both to the log (through
// log/slog) and to a local searchable [Index], so that "why was bob
// refused?" has an answer without grep.
//
// # The model
//
// An Event has a Time (UTC) and a [Kind]; the other fields are set when
// the kind has them, and are left out of JSON and log lines when zero.
// Nothing secret is ever put in one. The kinds, when each is written and
// what it carries beyond Time and Kind:
//
//	login           every authentication decision, at both front doors.
//	                Result (accepted/refused), FrontDoor, Service, User,
//	                Method, Client, NAS (RADIUS), SessionID, Branch (the
//	                deciding branch), Branches (what each tried branch did
//	                and why), Reason (refused: in words), Duration (of the
//	                decision).
//	session_up      a session reached the network phase (PPTP: IPCP up;
//	                RADIUS: Accounting-Start). SessionID, User, Service,
//	                FrontDoor, Client, Address, Encryption.
//	session_down    a session ended. The session_up fields, plus Reason
//	                (the cause: client hung up, idle timeout, killed by an
//	                operator, no GRE from the client...), Duration (how long
//	                it lasted) and the traffic counters.
//	kill            an operator ended a session. SessionID, User, Message
//	                (who and how). A session_down with the cause follows.
//	revoke          an operator took access away: a user's VPN access turned
//	                off, a token unassigned. User, Message.
//	lockout         a user was locked out after failed logins. User, Reason.
//	unlock          a locked-out user was let in again. User, Message.
//	plugin_start    a back-end plugin process started. Backend, Message
//	                (version, pid).
//	plugin_exit     a plugin process exited or crashed. Backend, Reason.
//	plugin_restart  the host started a plugin again after an exit. Backend,
//	                Message (attempt, back-off).
//	reload          a new configuration was applied. Message.
//	config_error    a new configuration was refused; the old one still runs.
//	                Reason.
//	gateway_start   the gateway started. Message (version).
//	gateway_stop    the gateway stopped. Reason.
//	admin           an operator changed something (a user, group, token,
//	                session) through the console. Operator, User (whom it
//	                concerns, when a user), Message (what changed).
//	sign_in         a console sign-in. Result, Operator, Client, Reason
//	                (when refused).
//
// Kind names are stable: they are stored, written in JSON and typed by
// operators. New kinds go at the end and a name never changes.
//
// [Event.Log] writes an event with a constant message per kind ("login
// refused", "session down"), at a level per kind ([Event.Level]), and the
// fields as attributes with the JSON names (SessionID is "session", the key
// the gateway's other lines use). [Recorder] does both writes in one call.
//
// # The index
//
// [Open] opens the index in its own SQLite file (log.index, default
// state_dir/events.db, mode 0600), separate from the store so that a busy
// or damaged index can never get in the way of a login. The schema copies
// the columns filters use (time, kind, result, front door, service, user,
// client, session) out of each event, with indexes on time, user, session
// and client; the event itself is stored whole as JSON, so adding a field
// needs no migration.
//
// [Index.Append] never waits: it puts the event on a queue (Options.Buffer,
// 4096 by default) and returns. One writer goroutine takes what is queued
// and inserts it in one transaction per batch (up to 512 events). When the
// writer falls behind — a slow disk, a long prune — and the queue is full,
// Append drops the event and counts it ([Stats].Dropped); the writer logs
// a warning at most once a minute. A dropped event is still in the log: the
// index is a convenience for searching, the log is the record. A batch
// that cannot be written (disk full, I/O error) is counted as Lost and
// logged the same way; the writer carries on with the next.
//
// The writer's cost is what the index costs: 13–14 µs of CPU per event in
// this pure-Go SQLite (the row, its JSON body and four indexes; multi-row
// INSERTs of up to 64 events save a little), about a third of a busy
// two-core gateway's peak login rate (docs/performance.md's RADIUS benchmark, index
// on and off). Building an event on the login path costs next to nothing.
//
// [Index.Query] returns the newest Filter.Limit matching events (1000 by
// default), oldest first, so that a table reads top to bottom and ends
// with the latest. [Index.Follow] streams matching events as they are
// committed, after the stored ones when Filter.Since is set; a follower
// that falls more than a thousand events behind is cut off (its channel
// closes) rather than slowing the writer. [ParseFilter] and
// [Filter.Values] are the one definition of the filter parameters for the
// CLI and the HTTP endpoint; [WriteTable] is the CLI's table.
//
// # Retention and size
//
// Events older than Options.Retention (30 days by default; log.retention)
// are deleted, and when the events take more than Options.MaxBytes (256
// MiB by default; log.index_max_size) the oldest are deleted until they
// take 90% of it. The writer prunes when the index opens (so a smaller
// bound applies at once), every five minutes, and when asked
// ([Index.Prune]), in chunks of 5000 rows between which it keeps writing
// new events. Pruning runs in the writer goroutine rather than in one of
// its own: SQLite lets one connection write at a time, so a second
// goroutine would only wait for the lock the first holds, and the chunks
// keep each pause short. The file is in auto_vacuum=INCREMENTAL mode so pruned pages
// are given back to the file system; the write-ahead log adds up to a few
// MiB while the gateway runs and goes away when it closes the index.
//
// # Crashes and damaged files
//
// The file is in WAL mode with synchronous=NORMAL: a crash of the gateway
// loses at most the batch being written, a power cut at most the last
// commits; the log has them either way. When the file cannot be opened —
// it is not a SQLite database or is damaged ([ErrCorrupt]), it was written
// by a newer Gatehouse ([ErrSchemaTooNew]), the directory is not writable
// — Open returns an error and the gateway logs it and runs without an
// index: a nil *Index accepts and discards events, and Query answers
// [ErrNoIndex], which the CLI reports as "this gateway keeps no event
// index; see its log". The remedy for a damaged file is to move it aside
// and restart; a new, empty index is created. Open never deletes or
// rewrites a file it cannot read.
//
// Another process (the CLI while the gateway is stopped) may open the same
// file; SQLite's locks keep it consistent. Follow sees only the events
// appended through the same *Index.
//
// # PostgreSQL
//
// With store.driver postgres the gateway opens the index with
// [OpenPostgres] in the store's database instead of a file (log.index is
// then unused; "" still turns the index off). The Index is the same, and
// so are Append, Query, Follow, Prune, Stats and Close; only a few
// statements differ. Every gateway sharing the database writes to the
// same table, so Query (gatehouse logs, the console's Logs page) on any
// of them answers for all of them. The index has a connection pool of its
// own, beside the store's: up to 6 connections per gateway, to count in
// the server's max_connections.
//
// The tables are the index's own, beside the store's: events, with the
// SQLite schema's columns and indexes (time as BIGINT Unix nanoseconds,
// client as BYTEA, body the event's JSON as TEXT) and a gateway column,
// the host name of the gateway that wrote the row, for an operator's SQL
// (the Event model has no field for it, so Query does not return it); and
// event_schema, the schema version. OpenPostgres creates or upgrades them
// in one transaction under an advisory lock of its own (not the store's),
// so that gateways starting together migrate once; a database whose index
// schema is newer than the program knows is refused with
// [ErrSchemaTooNew], naming both versions, and left as it is. Strings
// PostgreSQL's TEXT refuses (NUL, invalid UTF-8, which a RADIUS
// User-Name may hold) are stored in the columns, and matched in filters,
// with U+FFFD in their place; the body keeps the event as json.Marshal
// wrote it.
//
// Follow sees only the events appended through the same Index: the new
// events of the other gateways are in Query, not in this gateway's
// stream. With Filter.Since, the stored part of the stream has every
// gateway's events, then the new ones are this gateway's alone. (Two
// gateways with the same host name count as one for that stored part:
// the other's events committed after the Follow began are left out of
// it.)
//
// Every gateway prunes, on its own schedule, and that is safe: a prune
// first takes an advisory lock with pg_try_advisory_xact_lock, and a
// gateway that finds another one pruning skips its turn (its
// Stats.Bytes stays as it was); the deletes pick their rows once, FOR
// UPDATE SKIP LOCKED, so that even two deletes at once take each row
// once and never wait for each other. Retention works as with SQLite.
// Size is pg_total_relation_size('events'): the table, its TOAST and its
// indexes as the server's disk holds them. PostgreSQL does not give the
// space of deleted rows back to the file system; it keeps it for new
// rows. So once that size is over MaxBytes, what is compared with the
// bound is the part of it that live rows fill: the total times the sum
// of the rows' sizes (pg_column_size, one sequential scan, run only then)
// over pg_table_size; Stats.Bytes is that figure. The oldest events are
// deleted until it is 90% of MaxBytes, and a VACUUM (SKIP_LOCKED, never
// waited for) lets new rows reuse the space. So the bound keeps the
// files from growing, but they do not shrink to it: VACUUM gives back
// only empty pages at their end, and an operator who wants the rest back
// runs VACUUM FULL events (which locks the table while it runs). In the
// tests, 5000 events of 1 KiB with a bound of 1 MiB took 6.9 MB; the
// first prune left 751 of them in files of that size, and four rounds of
// appending and pruning later the files had come down to 2.5 MB, as new
// rows filled the space at the start and the emptied end was given back.
//
// When the database is down, Append still never waits: events queue as
// always. When a write fails with an error that says the server cannot
// be reached (a refused or broken connection, a timeout), the batch is
// not thrown away: the writer holds it, pauses writes with a back-off
// (half a second, doubling to two seconds, between tries: it neither
// waits on a dead server for every batch nor spins), holds the batches
// that come during the pause behind it, and logs the error (once a minute
// at most, like any write error). Held events count in Stats.Queued. When
// a try succeeds the held events are written, oldest first, before the
// new ones, and followers receive them; the recovery is logged ("writing
// events again"); no restart is needed. What cannot be held — past
// Options.Buffer held events, or still held when the Index closes (Close
// tries once more, and then gives up at once) — is counted Lost and
// logged, and so is a batch refused for any other reason, as with SQLite.
// A write is bounded by a timeout (30 s), connecting by the DSN's
// connect_timeout (5 s when it sets none). Query, and the stored part of
// Follow, fail while the database is down; Prune fails and runs again
// five minutes later. OpenPostgres itself fails when the server cannot
// be reached; the gateway then runs without an index, as it does when a
// file cannot be opened.
package events
