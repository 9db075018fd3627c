package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Cache serves the reads of a login — a user with its groups, its sealed
// password, the tokens assigned to it — from memory, and again until the
// database changes. The built-in back-ends' plugin processes each keep
// one; the gateway and the CLI do not.
//
// A [Snapshot] (one per call of a back-end) first asks whether any
// connection, in this process or another, has committed a change since
// the cache last asked; if so the cache forgets everything. A change made
// by "gatehouse user disable" or "token assign", or a code consumed by
// another plugin process, is therefore seen by the very next login. Values
// read from the database are kept only if no change was noticed while
// they were read.
//
// The question is answered from the wal-index header in the -shm file,
// which the cache maps read-only (walIndex: a few loads of shared memory,
// no system call), or, where that cannot be done, by PRAGMA
// data_version on a connection the cache keeps for that question alone
// (a read transaction: about 9 µs and a dozen system calls).
//
// Secrets stay sealed in the cache: a password or token secret is
// unsealed for each read, as Store does, and never kept in plaintext.
// Writes (commits of one-time codes included) go to the Store, whose
// single conditional UPDATEs keep replay protection whatever a cache
// holds.
type Cache struct {
	st  *Store
	wal *walIndex // nil: ask data_version

	version struct {
		sync.Mutex
		// conn never writes: data_version counts the others' commits.
		// It also keeps the -shm file, which SQLite deletes when the
		// last connection closes, alive while wal maps it.
		conn *sql.Conn
		stmt *sql.Stmt
	}

	misses atomic.Uint64 // reads that went to the database

	mu     sync.Mutex
	gen    int64    // bumped at every change noticed: the entries' generation
	stamp  walStamp // the wal-index header last seen
	dv     int64    // the data_version last seen
	users  map[string]*cachedUser
	tokens map[string][]sealedToken // user+"\x00"+source
	serial map[string]sealedToken
}

// maxCached bounds the entries of each map; past it the map is emptied
// and fills again with the users who log in.
const maxCached = 50_000

// cachedUser is a user row with what a login needs of it; missing records
// a user the database does not have.
type cachedUser struct {
	missing bool
	user    User
	sealed  []byte // the sealed password; nil when none
}

// sealedToken is a Token whose Secret is still sealed.
type sealedToken struct{ Token }

// NewCache returns a cache of st's reads. Close it before st.
func NewCache(ctx context.Context, st *Store) (*Cache, error) {
	c := &Cache{st: st}
	c.dv = -1
	c.reset()
	if st.db.driver == Postgres {
		// No wal-index and no per-connection counter: the 'data'
		// revision, which the schema's triggers move with every change,
		// read through the pool (a connection of its own would break
		// with every restart of the server).
		if _, err := c.dataVersion(ctx); err != nil {
			return nil, err
		}
		return c, nil
	}
	conn, err := st.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: cache: %w", err)
	}
	stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("store: cache: %w", err)
	}
	c.version.conn, c.version.stmt = conn, stmt
	// The first read of the connection creates the -shm file if no other
	// connection has.
	if _, err := c.dataVersion(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if w, err := openWALIndex(st.path); err == nil {
		c.wal = w
		c.stamp, _ = w.stamp()
	}
	return c, nil
}

// Close releases the cache's connection.
func (c *Cache) Close() error {
	c.version.Lock()
	defer c.version.Unlock()
	if c.wal != nil {
		c.wal.close()
	}
	if c.version.conn == nil {
		return nil
	}
	c.version.stmt.Close()
	return c.version.conn.Close()
}

func (c *Cache) reset() {
	c.gen++
	c.users = map[string]*cachedUser{}
	c.tokens = map[string][]sealedToken{}
	c.serial = map[string]sealedToken{}
}

func (c *Cache) dataVersion(ctx context.Context) (int64, error) {
	if c.version.conn == nil {
		var v int64
		if err := c.st.db.QueryRowContext(ctx, `SELECT value FROM revisions WHERE name = 'data'`).Scan(&v); err != nil {
			return 0, fmt.Errorf("store: data version: %w", err)
		}
		return v, nil
	}
	c.version.Lock()
	defer c.version.Unlock()
	var v int64
	// Without ctx's deadline: the pragma reads a counter and takes no
	// lock, and a deadline would cost a watcher goroutine per query.
	if err := c.version.stmt.QueryRowContext(context.WithoutCancel(ctx)).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: data_version: %w", err)
	}
	return v, nil
}

// Snapshot asks the database whether it changed, forgets everything if it
// did, and returns a view for the reads of one call.
func (c *Cache) Snapshot(ctx context.Context) (Snapshot, error) {
	if c.wal != nil {
		stamp, ok := c.wal.stamp()
		c.mu.Lock()
		if !ok || stamp != c.stamp {
			// Changed, or being changed as we look: forget.
			c.stamp = stamp
			c.reset()
		}
		gen := c.gen
		c.mu.Unlock()
		return Snapshot{c: c, gen: gen}, nil
	}
	v, err := c.dataVersion(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	c.mu.Lock()
	if v != c.dv {
		c.dv = v
		c.reset()
	}
	gen := c.gen
	c.mu.Unlock()
	return Snapshot{c: c, gen: gen}, nil
}

// Snapshot is a Cache as of one check for changes: the reads of one call
// of a back-end, which need not check again.
type Snapshot struct {
	c   *Cache
	gen int64
}

// keep stores what fill read for a snapshot of generation gen, unless a
// change was noticed meanwhile.
func (c *Cache) keep(gen int64, fill func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		fill()
	}
}

// user returns the cached row of name, reading it on a miss.
func (s Snapshot) user(ctx context.Context, name string) (*cachedUser, error) {
	c := s.c
	c.mu.Lock()
	u := c.users[name]
	c.mu.Unlock()
	if u != nil {
		return u, nil
	}
	c.misses.Add(1)
	u, err := c.st.loginUser(ctx, name)
	if err != nil {
		return nil, err
	}
	c.keep(s.gen, func() {
		if len(c.users) >= maxCached {
			c.users = map[string]*cachedUser{}
		}
		c.users[name] = u
	})
	return u, nil
}

// User is [Store.User], from the cache.
func (s Snapshot) User(ctx context.Context, name string) (User, error) {
	u, err := s.user(ctx, name)
	if err != nil {
		return User{}, err
	}
	if u.missing {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	out := u.user
	out.Groups = slices.Clone(u.user.Groups)
	return out, nil
}

// Password is [Store.Password], from the cache: the sealed copy is
// unsealed for each call.
func (s Snapshot) Password(ctx context.Context, name string) (string, error) {
	u, err := s.user(ctx, name)
	switch {
	case err != nil:
		return "", err
	case u.missing:
		return "", fmt.Errorf("user %q: %w", name, ErrNotFound)
	case u.sealed == nil:
		return "", fmt.Errorf("user %q: %w", name, ErrNoPassword)
	}
	pt, err := s.c.st.seal.Open(u.sealed, passwordAAD(name))
	if err != nil {
		return "", fmt.Errorf("user %q: unseal password: %w", name, err)
	}
	return string(pt), nil
}

// CheckPassword is [Store.CheckPassword], from the cache when the sealed
// copy opens; otherwise the Store decides with the argon2id hash.
func (s Snapshot) CheckPassword(ctx context.Context, name, password string) (bool, error) {
	u, err := s.user(ctx, name)
	if err != nil {
		return false, err
	}
	if !u.missing && u.sealed != nil {
		if pt, err := s.c.st.seal.Open(u.sealed, passwordAAD(name)); err == nil {
			want, got := sha256.Sum256(pt), sha256.Sum256([]byte(password))
			clear(pt)
			return subtle.ConstantTimeCompare(want[:], got[:]) == 1, nil
		}
	}
	return s.c.st.CheckPassword(ctx, name, password)
}

// UserTokens is [Store.UserTokens], from the cache; each secret is
// unsealed for the call.
func (s Snapshot) UserTokens(ctx context.Context, user, source string) ([]Token, error) {
	c := s.c
	key := user + "\x00" + source
	c.mu.Lock()
	ts, ok := c.tokens[key]
	c.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		var err error
		if ts, err = c.st.sealedUserTokens(ctx, user, source); err != nil {
			return nil, err
		}
		c.keep(s.gen, func() {
			if len(c.tokens) >= maxCached {
				c.tokens = map[string][]sealedToken{}
			}
			c.tokens[key] = ts
		})
	}
	return c.st.unsealTokens(ts)
}

// Token is [Store.Token], from the cache.
func (s Snapshot) Token(ctx context.Context, serial string) (Token, error) {
	c := s.c
	c.mu.Lock()
	t, ok := c.serial[serial]
	c.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		ts, err := c.st.sealedTokens(ctx, c.st.db, tokenSelect+` WHERE t.serial = ?`, serial)
		if err != nil {
			return Token{}, fmt.Errorf("token %q: %w", serial, err)
		}
		if len(ts) == 0 {
			return Token{}, fmt.Errorf("token %q: %w", serial, ErrNotFound)
		}
		t = ts[0]
		c.keep(s.gen, func() {
			if len(c.serial) >= maxCached {
				c.serial = map[string]sealedToken{}
			}
			c.serial[serial] = t
		})
	}
	return c.st.unsealToken(t)
}

// User, Password, CheckPassword, UserTokens and Token take a Snapshot and
// read from it.

// User is Snapshot.User after its own check.
func (c *Cache) User(ctx context.Context, name string) (User, error) {
	s, err := c.Snapshot(ctx)
	if err != nil {
		return User{}, err
	}
	return s.User(ctx, name)
}

// Password is Snapshot.Password after its own check.
func (c *Cache) Password(ctx context.Context, name string) (string, error) {
	s, err := c.Snapshot(ctx)
	if err != nil {
		return "", err
	}
	return s.Password(ctx, name)
}

// CheckPassword is Snapshot.CheckPassword after its own check.
func (c *Cache) CheckPassword(ctx context.Context, name, password string) (bool, error) {
	s, err := c.Snapshot(ctx)
	if err != nil {
		return false, err
	}
	return s.CheckPassword(ctx, name, password)
}

// UserTokens is Snapshot.UserTokens after its own check.
func (c *Cache) UserTokens(ctx context.Context, user, source string) ([]Token, error) {
	s, err := c.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return s.UserTokens(ctx, user, source)
}

// Token is Snapshot.Token after its own check.
func (c *Cache) Token(ctx context.Context, serial string) (Token, error) {
	s, err := c.Snapshot(ctx)
	if err != nil {
		return Token{}, err
	}
	return s.Token(ctx, serial)
}

// Misses counts the reads that went to the database.
func (c *Cache) Misses() uint64 { return c.misses.Load() }

// loginUser reads a user, its groups and its sealed password in one
// snapshot; a user the database does not have is missing, not an error.
func (st *Store) loginUser(ctx context.Context, name string) (*cachedUser, error) {
	u := &cachedUser{}
	err := st.read(ctx, func(tx *txn) error {
		row := tx.QueryRowContext(ctx, `
SELECT id, name, disabled, vpn_access, password_hash IS NOT NULL, created_at, updated_at, password_sealed
FROM users WHERE name = ?`, name)
		var id int64
		if err := scanUser(row, &id, &u.user, &u.sealed); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				u.missing = true
				return nil
			}
			return fmt.Errorf("user %q: %w", name, err)
		}
		var err error
		if u.user.Groups, err = groupsOf(ctx, tx, id); err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
