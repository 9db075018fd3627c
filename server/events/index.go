package events

// How an event travels from the login path to the file, and to a
// follower:
//
//  1. Append (any goroutine): stamps the time, refuses an invalid kind,
//     and sends the event into the queue without waiting; when the queue
//     is full the event is dropped and counted (Stats.Dropped).
//  2. RoutineWrite (one goroutine per Index): takes what is queued, up to
//     maxBatch events, and inserts it in one transaction. A batch the
//     database refuses is lost, unless the database cannot be reached
//     (PostgreSQL down): then it is held and written after a pause.
//  3. After the commit, publish hands each event to the followers whose
//     filter it matches, without waiting; a follower whose buffer is full
//     is cut off (its channel closes).
//  4. Between batches, RoutineWrite prunes: at start, every pruneEvery and
//     when Prune is called. Retention first, then size, in chunks, writing
//     what was queued meanwhile between chunks.
//  5. Close: Append stops queueing, RoutineWrite writes what is queued,
//     closes the followers and exits; then the database is closed.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver; pure Go
)

// Defaults of Options.
const (
	DefaultRetention = 30 * 24 * time.Hour
	DefaultMaxBytes  = 256 << 20
	DefaultBuffer    = 4096
	// MinMaxBytes is the smallest size bound Open accepts: a few pages of
	// schema plus room for events.
	MinMaxBytes = 64 << 10
)

const (
	maxBatch      = 512             // events per insert transaction
	pruneChunk    = 5000            // rows per delete transaction
	pruneEvery    = 5 * time.Minute // how often RoutineWrite prunes
	followBuffer  = 1024            // events a follower may fall behind before it is cut off
	busyTimeout   = 5 * time.Second
	errorLogEvery = time.Minute // rate limit of write-error and drop warnings
	schemaVersion = 1
)

const (
	writeTimeout = 30 * time.Second       // bounds one batch's transaction
	minBackoff   = 500 * time.Millisecond // first pause of writes when the database cannot be reached
	maxBackoff   = 2 * time.Second        // longest pause
)

// Errors.
var (
	// ErrCorrupt: the index file is not a SQLite database or is damaged.
	// The gateway runs without an index; move the file aside and restart
	// to start a new one.
	ErrCorrupt = errors.New("event index file is damaged")
	// ErrSchemaTooNew: the index was written by a newer Gatehouse.
	ErrSchemaTooNew = errors.New("event index was written by a newer Gatehouse")
	// ErrNoIndex: the gateway runs without an index (Open failed), so
	// there is nothing to query.
	ErrNoIndex = errors.New("no event index")
	// ErrClosed: the index was closed.
	ErrClosed = errors.New("event index closed")
)

// Options configure an Index. The zero value means the defaults. They map
// onto the configuration: log.retention is Retention, log.index_max_size is
// MaxBytes.
type Options struct {
	// Retention is how long events are kept. 0 means DefaultRetention (30
	// days); a negative value keeps events until the size bound removes
	// them.
	Retention time.Duration
	// MaxBytes bounds the space the events take in the file. When it is
	// exceeded the oldest events are deleted until they take 90% of it. 0
	// means DefaultMaxBytes (256 MiB); a negative value means no bound;
	// otherwise it must be at least MinMaxBytes. The write-ahead log adds
	// up to a few MiB while the gateway runs. In PostgreSQL the size is
	// measured differently: see the package documentation, "PostgreSQL".
	MaxBytes int64
	// Buffer is how many events may wait for the writer before Append
	// drops them. 0 means DefaultBuffer.
	Buffer int
	// Log receives the index's own warnings (write errors, drops, cut-off
	// followers). nil means none.
	Log *slog.Logger
	// Now is the clock for stamping events and for retention; nil means
	// time.Now. Tests set it.
	Now func() time.Time

	// beforeBatch, when set (by tests), runs at the top of every turn of
	// RoutineWrite's loop: blocking in it stalls the writer.
	beforeBatch func()
	// gateway, when set (by tests), is the name OpenPostgres writes with
	// each event instead of the host name.
	gateway string
}

// Stats counts what happened to appended events since Open.
type Stats struct {
	// Appended were queued for the writer.
	Appended uint64
	// Dropped were not queued: the queue was full (the writer fell
	// behind) or the index was closing. They are in the log, not in the
	// index.
	Dropped uint64
	// Invalid had no valid Kind and were not queued.
	Invalid uint64
	// Written were committed to the file.
	Written uint64
	// Lost were queued but could not be written (a disk or database
	// error); the index's Log says why.
	Lost uint64
	// Pruned were deleted by retention or the size bound.
	Pruned uint64
	// FollowersCut counts followers closed because they fell more than
	// followBuffer events behind.
	FollowersCut uint64
	// Bytes is the space the events took at the last prune.
	Bytes int64
	// Queued is how many events wait for the writer now: in the queue,
	// and held for a retry while the database cannot be reached.
	Queued int
}

// Index is the append-only, searchable store of events, in its own
// SQLite file (Open) or in a PostgreSQL database that gateways share
// (OpenPostgres). Its methods are safe for concurrent use. A nil *Index is an
// index that is not there: Append discards, Query returns ErrNoIndex,
// Follow returns a closed channel, Close returns nil; so a gateway whose
// index failed to open keeps running without one.
type Index struct {
	db    *sql.DB
	be    backend // what differs between SQLite and PostgreSQL
	path  string
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	queue chan Event
	reqs  chan request

	// closing guards the queue against sends after Close.
	closing struct {
		sync.RWMutex
		closed bool
	}
	done   chan struct{}      // closed by Close: RoutineWrite finishes
	exited chan struct{}      // closed by RoutineWrite when it returns
	cancel context.CancelFunc // ends the followers' queries at Close
	ctx    context.Context
	wg     sync.WaitGroup // RoutineWrite and the followers

	followers struct {
		sync.Mutex
		m      map[*follower]struct{}
		lastID int64 // the id of the last event committed
		closed bool
	}

	stats struct {
		appended, dropped, invalid, written, lost, pruned, cut atomic.Uint64
		bytes                                                  atomic.Int64
		held                                                   atomic.Int64
	}

	// Used by RoutineWrite only.
	lastErrWarn  time.Time
	lastDropWarn time.Time
	warnDropped  uint64
	failing      bool          // the last write failed
	retryAt      time.Time     // the database is down: no write before then (real time)
	backoff      time.Duration // the last wait before retryAt
	held         []Event       // events of batches the unreachable database refused, for a retry
}

type request struct {
	prune bool
	done  chan error
}

// Open opens, creating if needed, the event index at path (mode 0600),
// and starts its writer. It prunes at once, in the writer, so a file left
// by an older configuration shrinks to the new bounds.
//
// A file that is not a SQLite database or is damaged gives an error that
// wraps ErrCorrupt. The caller logs the error and runs without an index:
// a nil *Index is safe to use.
func Open(path string, opts Options) (*Index, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", path, err)
	}
	f, err := os.OpenFile(abs, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", abs, err)
	}
	f.Close()
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("events: open %s: %w", abs, err)
	}
	db.SetMaxOpenConns(4)
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("events: open %s: %w", abs, classify(err))
	}
	return start(context.Background(), db, sqliteBackend{}, abs, abs, opts)
}

// withDefaults fills in the zero fields of o and checks the size bound.
func (o Options) withDefaults() (Options, error) {
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxBytes > 0 && o.MaxBytes < MinMaxBytes {
		return o, fmt.Errorf("size bound %d bytes is below the minimum of %d", o.MaxBytes, MinMaxBytes)
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// start is the end of Open and OpenPostgres: db holds a current schema.
// It reads the last id and starts the writer; on an error it closes db.
// path is what Path returns, where names the index in errors and in the
// index's log lines.
func start(ctx context.Context, db *sql.DB, be backend, path, where string, opts Options) (*Index, error) {
	var lastID int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&lastID); err != nil {
		db.Close()
		return nil, fmt.Errorf("events: open %s: %w", where, be.classify(err))
	}
	ictx, cancel := context.WithCancel(context.Background())
	ix := &Index{
		db: db, be: be, path: path, opts: opts, log: opts.Log.With(slog.String("index", where)), now: opts.Now,
		queue: make(chan Event, opts.Buffer), reqs: make(chan request),
		done: make(chan struct{}), exited: make(chan struct{}),
		ctx: ictx, cancel: cancel,
	}
	ix.followers.m = make(map[*follower]struct{})
	ix.followers.lastID = lastID
	ix.wg.Add(1)
	go ix.RoutineWrite()
	return ix, nil
}

// dsn is the modernc.org/sqlite data source name. Every connection runs:
//
//   - busy_timeout, so a second process (the CLI) waits for a lock;
//   - auto_vacuum=INCREMENTAL (takes effect on a new file only), so pages
//     freed by pruning can be given back to the file system;
//   - journal_mode=WAL: queries never wait for the writer, and a crash
//     loses at most the transaction being written;
//   - synchronous=NORMAL: in WAL mode a commit survives a crash of the
//     process; a power cut may lose the last commits, which is acceptable
//     for an index of what the log also holds;
//   - journal_size_limit: the WAL file is cut back to 4 MiB after a
//     checkpoint.
//
// _txlock=immediate: the writer's transactions take the write lock at
// BEGIN.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "journal_size_limit(4194304)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// The schema. Columns that filters use are copied out of the event; body
// is the whole event as JSON, so adding a field to Event needs no
// migration. time is Unix nanoseconds, UTC. client is 16 bytes (IPv4 as
// IPv4-mapped), so a prefix is a BETWEEN. AUTOINCREMENT keeps ids
// increasing even when pruning empties the table: followers rely on it.
var schema = []string{
	`CREATE TABLE events (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		time       INTEGER NOT NULL,
		kind       TEXT NOT NULL,
		result     TEXT NOT NULL,
		front_door TEXT NOT NULL,
		service    TEXT NOT NULL,
		user       TEXT NOT NULL,
		client     BLOB,
		session_id TEXT NOT NULL,
		body       TEXT NOT NULL
	)`,
	`CREATE INDEX events_time ON events (time)`,
	`CREATE INDEX events_user ON events (user, time)`,
	`CREATE INDEX events_session ON events (session_id, time)`,
	`CREATE INDEX events_client ON events (client, time)`,
	fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion),
}

func migrate(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("%w (schema %d, this program knows %d)", ErrSchemaTooNew, v, schemaVersion)
	}
	for _, s := range schema {
		if _, err := tx.Exec(s); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// classify wraps SQLite's "not a database" and "corrupt" errors in
// ErrCorrupt.
func classify(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case 11, 26: // SQLITE_CORRUPT, SQLITE_NOTADB
			return fmt.Errorf("%w: %w; move the file aside and restart to begin a new index", ErrCorrupt, err)
		}
	}
	return err
}

// Path is the absolute path of the index file; "" for an index in
// PostgreSQL.
func (ix *Index) Path() string {
	if ix == nil {
		return ""
	}
	return ix.path
}

// Append queues e for the writer and returns at once: it never waits for
// the disk, so it is safe on the login path. An event with a zero Time is
// stamped with the current time; every time is stored in UTC. When the
// queue is full the event is dropped and counted in Stats.Dropped. The
// index keeps e's Branches slice; do not change it afterwards.
func (ix *Index) Append(e Event) {
	if ix == nil {
		return
	}
	if !e.Kind.Valid() {
		ix.stats.invalid.Add(1)
		return
	}
	if e.Time.IsZero() {
		e.Time = ix.now()
	}
	e.Time = e.Time.UTC()
	ix.closing.RLock()
	defer ix.closing.RUnlock()
	if ix.closing.closed {
		ix.stats.dropped.Add(1)
		return
	}
	select {
	case ix.queue <- e:
		ix.stats.appended.Add(1)
	default:
		ix.stats.dropped.Add(1)
	}
}

// Stats returns the counters.
func (ix *Index) Stats() Stats {
	if ix == nil {
		return Stats{}
	}
	return Stats{
		Appended:     ix.stats.appended.Load(),
		Dropped:      ix.stats.dropped.Load(),
		Invalid:      ix.stats.invalid.Load(),
		Written:      ix.stats.written.Load(),
		Lost:         ix.stats.lost.Load(),
		Pruned:       ix.stats.pruned.Load(),
		FollowersCut: ix.stats.cut.Load(),
		Bytes:        ix.stats.bytes.Load(),
		Queued:       len(ix.queue) + int(ix.stats.held.Load()),
	}
}

// Flush waits until every event appended before the call is written,
// counted as lost, or held for a retry while the database cannot be
// reached (PostgreSQL).
func (ix *Index) Flush(ctx context.Context) error {
	return ix.ask(ctx, false)
}

// Prune writes what is queued, then deletes the events older than the
// retention and, when the events take more than MaxBytes, the oldest ones;
// RoutineWrite does the same every few minutes on its own.
func (ix *Index) Prune(ctx context.Context) error {
	return ix.ask(ctx, true)
}

func (ix *Index) ask(ctx context.Context, prune bool) error {
	if ix == nil {
		return ErrNoIndex
	}
	r := request{prune: prune, done: make(chan error, 1)}
	select {
	case ix.reqs <- r:
	case <-ix.exited:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, writes those queued, ends every Follow
// channel and closes the file. Events a follower had not yet received
// when Close began may not reach it.
func (ix *Index) Close() error {
	if ix == nil {
		return nil
	}
	ix.closing.Lock()
	if ix.closing.closed {
		ix.closing.Unlock()
		return nil
	}
	ix.closing.closed = true
	ix.closing.Unlock()
	close(ix.done)
	<-ix.exited
	ix.cancel()
	ix.wg.Wait()
	return ix.db.Close()
}

// RoutineWrite is the index's one writer: it inserts queued events in
// batches, publishes them to followers and prunes. See the numbered
// pipeline at the top of this file.
func (ix *Index) RoutineWrite() {
	defer ix.wg.Done()
	defer close(ix.exited)
	ix.log.Debug("event index writer started")
	defer ix.log.Debug("event index writer stopped")

	if err := ix.prune(); err != nil {
		ix.log.Warn("event index: pruning failed", slog.Any("error", err))
	}
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	batch := make([]Event, 0, maxBatch)
	for {
		if ix.opts.beforeBatch != nil {
			ix.opts.beforeBatch()
		}
		select {
		case e := <-ix.queue:
			batch = append(batch[:0], e)
			for len(batch) < maxBatch && len(ix.queue) > 0 {
				batch = append(batch, <-ix.queue)
			}
			ix.write(batch)
		case r := <-ix.reqs:
			ix.writeQueued(batch)
			var err error
			if r.prune {
				err = ix.prune()
			}
			r.done <- err
		case <-tick.C:
			if err := ix.prune(); err != nil {
				ix.log.Warn("event index: pruning failed", slog.Any("error", err))
			}
		case <-ix.retryTimer():
			ix.retryHeld(false)
		case <-ix.done:
			// Append queues nothing more: write the rest (held events
			// get one more try), then let the followers go.
			ix.writeQueued(batch)
			ix.retryHeld(true)
			ix.closeFollowers()
			return
		}
		ix.warn()
	}
}

// writeQueued writes the events queued now, in batches. Events queued
// while it runs wait for the next turn, so a busy login path cannot keep
// it here.
func (ix *Index) writeQueued(batch []Event) {
	for n := len(ix.queue); n > 0; {
		batch = batch[:0]
		for len(batch) < maxBatch && n > 0 {
			batch = append(batch, <-ix.queue)
			n--
		}
		ix.write(batch)
	}
}

const insertEvent = `INSERT INTO events (time, kind, result, front_door, service, user, client, session_id, body)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertColumns is how many values each event gives the INSERT.
const insertColumns = 9

// write inserts batch in one transaction and publishes it. On an error
// the batch is counted as lost, except when the error says the database
// cannot be reached (PostgreSQL down): then writes pause with a back-off
// (minBackoff doubling up to maxBackoff), and the batch is held with
// those that come during the pause, up to Options.Buffer events (what
// does not fit is lost), to be written when a try succeeds. So the
// writer neither waits on a dead server for each batch nor spins, and a
// short outage costs the index nothing.
func (ix *Index) write(batch []Event) {
	if len(batch) == 0 {
		return
	}
	if len(ix.held) > 0 || ix.paused() {
		ix.hold(batch)
		ix.retryHeld(false)
		return
	}
	if err := ix.commit(batch); err != nil {
		if ix.be.unavailable(err) {
			ix.hold(batch)
		} else {
			ix.stats.lost.Add(uint64(len(batch)))
		}
	}
}

// commit inserts evs and publishes them. On an error it logs it, and
// pauses writes when the database cannot be reached; the caller counts or
// holds evs.
func (ix *Index) commit(evs []Event) error {
	ids, err := ix.insert(evs)
	if err != nil {
		ix.failing = true
		if ix.be.unavailable(err) {
			ix.backoff = min(max(2*ix.backoff, minBackoff), maxBackoff)
			ix.retryAt = time.Now().Add(ix.backoff)
		}
		ix.warnErr(err)
		return err
	}
	if ix.failing {
		ix.failing, ix.retryAt, ix.backoff = false, time.Time{}, 0
		ix.log.Info("event index: writing events again", slog.Uint64("lost_total", ix.stats.lost.Load()))
	}
	ix.stats.written.Add(uint64(len(evs)))
	ix.publish(evs, ids)
	return nil
}

// paused reports whether writes wait for the database to come back.
func (ix *Index) paused() bool {
	return !ix.retryAt.IsZero() && time.Now().Before(ix.retryAt)
}

// hold keeps a copy of batch for retryHeld, as much as fits in
// Options.Buffer events; the rest is lost.
func (ix *Index) hold(batch []Event) {
	n := min(len(batch), max(ix.opts.Buffer-len(ix.held), 0))
	ix.held = append(ix.held, batch[:n]...)
	ix.stats.held.Store(int64(len(ix.held)))
	if n < len(batch) {
		ix.stats.lost.Add(uint64(len(batch) - n))
		ix.warnErr(fmt.Errorf("the database is unreachable and %d events wait for it already", len(ix.held)))
	}
}

// retryHeld writes the held events, oldest first, unless writes are
// paused. final (at Close) tries once even in a pause, and counts as lost
// what it cannot write.
func (ix *Index) retryHeld(final bool) {
	for len(ix.held) > 0 {
		if ix.paused() && !final {
			return
		}
		n := min(len(ix.held), maxBatch)
		err := ix.commit(ix.held[:n])
		switch {
		case err != nil && final && ix.be.unavailable(err):
			n = len(ix.held) // no more tries
			fallthrough
		case err != nil && (final || !ix.be.unavailable(err)):
			ix.stats.lost.Add(uint64(n))
		case err != nil:
			return // still held; commit set the pause
		}
		rest := copy(ix.held, ix.held[n:])
		clear(ix.held[rest:])
		ix.held = ix.held[:rest]
		ix.stats.held.Store(int64(len(ix.held)))
	}
	ix.held = nil
}

// retryTimer fires when held events may be tried again; nil (never)
// when none are held.
func (ix *Index) retryTimer() <-chan time.Time {
	if len(ix.held) == 0 {
		return nil
	}
	return time.After(max(time.Until(ix.retryAt), 0))
}

func (ix *Index) insert(batch []Event) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// Many rows per statement: in this pure-Go SQLite each Exec costs
	// more than the rows it writes, and each is a round trip to
	// PostgreSQL, so a statement carries up to rowsPerInsert events.
	ids := make([]int64, 0, len(batch))
	args := make([]any, 0, insertColumns*rowsPerInsert+1)
	text := ix.be.text
	for start := 0; start < len(batch); start += rowsPerInsert {
		rows := batch[start:min(start+rowsPerInsert, len(batch))]
		args = args[:0]
		for i := range rows {
			e := &rows[i]
			body, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			args = append(args, unixNano(e.Time), e.Kind.String(), text(string(e.Result)), text(e.FrontDoor), text(e.Service),
				text(e.User), clientKey(e.Client), text(e.SessionID), string(body))
		}
		if ids, err = ix.be.insert(ctx, tx, len(rows), args, ids); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, ix.be.classify(err)
	}
	return ids, nil
}

// rowsPerInsert is how many events one INSERT statement carries (9 values
// each, well under SQLite's limit of 32766 variables and PostgreSQL's of
// 65535 parameters).
const rowsPerInsert = 64

// insertStatements holds the INSERT of n rows, for n up to rowsPerInsert.
var insertStatements = func() []string {
	out := make([]string, rowsPerInsert+1)
	for n := 1; n <= rowsPerInsert; n++ {
		out[n] = insertEvent + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?)", n-1)
	}
	return out
}()

func insertStatement(n int) string { return insertStatements[n] }

// warnErr logs a write error, at most once per errorLogEvery.
func (ix *Index) warnErr(err error) {
	if t := ix.now(); t.Sub(ix.lastErrWarn) >= errorLogEvery || ix.lastErrWarn.IsZero() {
		ix.lastErrWarn = t
		ix.log.Warn("event index: cannot write events; they are in the log but not in the index",
			slog.Any("error", err), slog.Uint64("lost_total", ix.stats.lost.Load()), slog.Int("held", len(ix.held)))
	}
}

// warn logs, at most once per errorLogEvery, that events were dropped
// because the writer fell behind.
func (ix *Index) warn() {
	d := ix.stats.dropped.Load()
	if d == ix.warnDropped {
		return
	}
	if t := ix.now(); t.Sub(ix.lastDropWarn) >= errorLogEvery || ix.lastDropWarn.IsZero() {
		ix.lastDropWarn = t
		ix.log.Warn("event index: the writer fell behind; events were dropped from the index (they are in the log)",
			slog.Uint64("dropped", d-ix.warnDropped), slog.Uint64("dropped_total", d))
		ix.warnDropped = d
	}
}

// prune enforces retention, then the size bound, in chunks; between
// chunks it writes what was queued meanwhile. On PostgreSQL one gateway
// prunes at a time: one that finds another pruning skips its turn.
func (ix *Index) prune() error {
	ctx := context.Background()
	unlock, ok, err := ix.be.lockPrune(ctx, ix.db)
	if err != nil {
		return ix.be.classify(err)
	}
	if !ok {
		return nil
	}
	defer unlock()
	var deleted int64
	if ix.opts.Retention > 0 {
		cut := unixNano(ix.now().Add(-ix.opts.Retention))
		for {
			res, err := ix.db.ExecContext(ctx, ix.be.deleteBefore(), cut, pruneChunk)
			if err != nil {
				return fmt.Errorf("retention: %w", ix.be.classify(err))
			}
			n, _ := res.RowsAffected()
			deleted += n
			ix.stats.pruned.Add(uint64(n))
			ix.writeQueued(nil)
			if n < pruneChunk {
				break
			}
		}
	}
	used, rows, err := ix.be.usedBytes(ctx, ix.db, ix.opts.MaxBytes)
	if err != nil {
		return fmt.Errorf("size: %w", ix.be.classify(err))
	}
	if ix.opts.MaxBytes > 0 && used > ix.opts.MaxBytes {
		target := ix.opts.MaxBytes / 10 * 9
		for range 1000 {
			if rows <= 0 || used <= target {
				break
			}
			per := max(used/rows, 1)
			n := min(max((used-target)/per+1, 1), pruneChunk)
			res, err := ix.db.ExecContext(ctx, ix.be.deleteOldest(), n)
			if err != nil {
				return fmt.Errorf("size: %w", ix.be.classify(err))
			}
			d, _ := res.RowsAffected()
			deleted += d
			ix.stats.pruned.Add(uint64(d))
			if err := ix.be.reclaim(ctx, ix.db, d, false); err != nil {
				return fmt.Errorf("size: %w", ix.be.classify(err))
			}
			ix.writeQueued(nil)
			if used, rows, err = ix.be.usedBytes(ctx, ix.db, ix.opts.MaxBytes); err != nil {
				return fmt.Errorf("size: %w", ix.be.classify(err))
			}
		}
	}
	if err := ix.be.reclaim(ctx, ix.db, deleted, true); err != nil {
		return ix.be.classify(err)
	}
	ix.stats.bytes.Store(used)
	return nil
}

// backend is what differs between the SQLite file and a PostgreSQL
// database: a few statements and how space is measured and given back.
// The rest (the queue, the writer and its batches, the followers, the
// prune loop, Query's filter) is the same code for both.
type backend interface {
	// insert runs the INSERT of n events whose values are args
	// (insertColumns each, in insertEvent's order) in tx, and appends
	// their ids, ascending, to ids.
	insert(ctx context.Context, tx *sql.Tx, n int, args []any, ids []int64) ([]int64, error)
	// deleteBefore deletes up to $2 of the oldest events whose time is
	// before $1; deleteOldest the $1 events of the lowest ids.
	deleteBefore() string
	deleteOldest() string
	// bind rewrites a statement written with ? placeholders.
	bind(q string) string
	// text is what a string value becomes in a column (and in a filter).
	text(s string) string
	// usedBytes is the space the events take, and about how many there
	// are; bound is Options.MaxBytes, under which the count may be left
	// out.
	usedBytes(ctx context.Context, db *sql.DB, bound int64) (used, rows int64, err error)
	// lockPrune keeps other gateways from pruning until unlock; ok is
	// false when another one prunes now.
	lockPrune(ctx context.Context, db *sql.DB) (unlock func(), ok bool, err error)
	// reclaim gives back the space of deleted events: after each chunk of
	// the size bound, and once more (final) at the end of a prune.
	reclaim(ctx context.Context, db *sql.DB, deleted int64, final bool) error
	// upTo is the condition (with ? placeholders) of the stored events a
	// follower's backlog holds, the follower having been added when
	// maxID was the id of the last event this Index published: with no
	// event that it will also receive live.
	upTo(maxID int64) (string, []any)
	// classify wraps errors that mean a damaged file in ErrCorrupt.
	classify(err error) error
	// unavailable reports whether err means the database cannot be
	// reached (writes pause with a back-off).
	unavailable(err error) bool
}

// sqliteBackend is the index in its own SQLite file.
type sqliteBackend struct{}

func (sqliteBackend) insert(ctx context.Context, tx *sql.Tx, n int, args []any, ids []int64) ([]int64, error) {
	res, err := tx.ExecContext(ctx, insertStatement(n), args...)
	if err != nil {
		return nil, err
	}
	// The ids of one statement's rows are consecutive (one writer, in one
	// transaction), ending at last_insert_rowid.
	last, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	for i := range n {
		ids = append(ids, last-int64(n-1-i))
	}
	return ids, nil
}

func (sqliteBackend) deleteBefore() string {
	return `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? ORDER BY time LIMIT ?)`
}

func (sqliteBackend) deleteOldest() string {
	return `DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)`
}

func (sqliteBackend) upTo(maxID int64) (string, []any) { return "id <= ?", []any{maxID} }

func (sqliteBackend) bind(q string) string     { return q }
func (sqliteBackend) text(s string) string     { return s }
func (sqliteBackend) classify(err error) error { return classify(err) }
func (sqliteBackend) unavailable(error) bool   { return false }

func (sqliteBackend) lockPrune(context.Context, *sql.DB) (func(), bool, error) {
	// The writer is the file's only writer: nothing to lock.
	return func() {}, true, nil
}

// usedBytes is the space the database's pages in use take: the file's
// size, once freed pages are given back. The span of the ids stands for
// the count.
func (sqliteBackend) usedBytes(ctx context.Context, db *sql.DB, _ int64) (used, rows int64, err error) {
	var pages, free, size int64
	for _, p := range []struct {
		q string
		v *int64
	}{{`PRAGMA page_count`, &pages}, {`PRAGMA freelist_count`, &free}, {`PRAGMA page_size`, &size}} {
		if err := db.QueryRowContext(ctx, p.q).Scan(p.v); err != nil {
			return 0, 0, err
		}
	}
	var lo, hi sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT min(id), max(id) FROM events`).Scan(&lo, &hi); err != nil {
		return 0, 0, err
	}
	if lo.Valid {
		rows = hi.Int64 - lo.Int64 + 1
	}
	return (pages - free) * size, rows, nil
}

// reclaim gives freed pages back to the file system (auto_vacuum is
// INCREMENTAL), and at the end lets a checkpoint shrink the WAL.
func (sqliteBackend) reclaim(ctx context.Context, db *sql.DB, _ int64, final bool) error {
	if _, err := db.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return err
	}
	if final {
		if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			return err
		}
	}
	return nil
}

// Query returns the newest f.Limit events that match f, oldest first.
func (ix *Index) Query(ctx context.Context, f Filter) ([]Event, error) {
	if ix == nil {
		return nil, ErrNoIndex
	}
	return ix.query(ctx, f, -1)
}

// query is Query for the events a follower's backlog may hold, those up
// to maxID (backend.upTo); for any event when maxID is negative.
func (ix *Index) query(ctx context.Context, f Filter, maxID int64) ([]Event, error) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq(`"user"`, ix.be.text(f.User))
	eq("session_id", ix.be.text(f.SessionID))
	eq("result", ix.be.text(string(f.Result)))
	eq("service", ix.be.text(f.Service))
	eq("front_door", ix.be.text(f.FrontDoor))
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(", ?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, k.String())
		}
	}
	if f.Client.IsValid() {
		lo, hi := clientRange(f.Client)
		where = append(where, "client BETWEEN ? AND ?")
		args = append(args, lo[:], hi[:])
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, unixNano(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, unixNano(f.Until))
	}
	if maxID >= 0 {
		w, a := ix.be.upTo(maxID)
		where = append(where, w)
		args = append(args, a...)
	}
	q := "SELECT body FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT ?"
	args = append(args, f.limit())

	rows, err := ix.db.QueryContext(ctx, ix.be.bind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("events: query: %w", ix.be.classify(err))
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("events: query: %w", ix.be.classify(err))
		}
		var e Event
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, fmt.Errorf("events: query: event body: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: query: %w", ix.be.classify(err))
	}
	slices.Reverse(out)
	return out, nil
}

// Stored times are Unix nanoseconds; times outside what that can hold
// (before 1678, after 2262) are clamped.
var (
	minNano = time.Unix(0, math.MinInt64).UTC()
	maxNano = time.Unix(0, math.MaxInt64).UTC()
)

func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}
