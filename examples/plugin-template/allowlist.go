package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// version is reported in the description; operators quote it in bug
// reports. Bump it with every release.
const version = "1.0.0"

// allowList is the back-end: the users of one users file, which it reads
// again whenever the file changes. It checks whole passwords
// (verify-plaintext) and reports groups (identity).
type allowList struct {
	log *slog.Logger
	// slots bounds the Argon2 computations in flight: each one takes the
	// hash's memory (19 MiB by default) for its duration.
	slots chan struct{}
	// decoy is verified for unknown users, so that a wrong name costs the
	// same time as a wrong password.
	decoy argon2idHash

	file struct {
		sync.Mutex
		path  string      // users_file; empty until Configure
		info  fs.FileInfo // the file as last read, nil if it could not be
		users map[string]*user
		err   error // why the file as last read is unusable
	}
}

func newAllowList(log *slog.Logger) *allowList {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	decoy, err := newArgon2id(rand.Text(), defaultParams, rand.Reader)
	if err != nil {
		panic(err) // defaultParams are valid and crypto/rand does not fail
	}
	return &allowList{
		log:   log,
		slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		decoy: decoy,
	}
}

func (a *allowList) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:         "allowlist",
		Version:      version,
		Capabilities: []sdk.Capability{sdk.CapVerifyPlaintext, sdk.CapIdentity},
		ConfigKeys: []sdk.ConfigKey{{
			Name:        "users_file",
			Required:    true,
			Description: "absolute path of the users file, one name:$argon2id$...[:group,group] a line",
		}},
	}, nil
}

// Configure reads the users file once, so that a malformed one stops the
// plugin at the gateway's start with every bad line named.
func (a *allowList) Configure(_ context.Context, options map[string]string) error {
	path := options["users_file"]
	if !filepath.IsAbs(path) {
		return fmt.Errorf("users_file %q is not an absolute path (the plugin does not run in the gateway's configuration directory)", path)
	}
	users, info, err := readUsers(path)
	if err != nil {
		return err
	}
	a.file.Lock()
	defer a.file.Unlock()
	a.file.path, a.file.info, a.file.users, a.file.err = path, info, users, nil
	a.log.Info("users file loaded", slog.String("path", path), slog.Int("users", len(users)))
	return nil
}

// readUsers reads and parses the users file at path, and says which
// version of the file it read.
func readUsers(path string) (map[string]*user, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("users_file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("users_file: %w", err)
	}
	users, err := parseUsers(path, f)
	if err != nil {
		return nil, nil, err
	}
	return users, info, nil
}

// users returns the users of the file as it is now, reading it again when
// its modification time, size or inode changed since the last read. An
// error means the file is gone or malformed: every call then fails closed
// until it is fixed, rather than serving a list the operator has replaced.
func (a *allowList) users() (map[string]*user, error) {
	a.file.Lock()
	defer a.file.Unlock()
	if a.file.path == "" {
		return nil, errors.New("not configured: the gateway has not sent users_file")
	}
	a.refreshLocked()
	return a.file.users, a.file.err
}

func (a *allowList) refreshLocked() {
	info, err := os.Stat(a.file.path)
	if err != nil {
		if a.file.info != nil || a.file.err == nil { // log the change, not every call
			a.log.Error("users file unusable", slog.String("path", a.file.path), slog.Any("error", err))
		}
		a.file.info, a.file.users, a.file.err = nil, nil, fmt.Errorf("users_file: %w", err)
		return
	}
	if a.file.info != nil && sameVersion(a.file.info, info) {
		return // unchanged: keep the last outcome, good or bad
	}
	users, readInfo, err := readUsers(a.file.path)
	if err != nil {
		// Remember which version was bad, so it is not parsed again on
		// every call; any change to the file retries.
		a.file.info, a.file.users, a.file.err = info, nil, err
		a.log.Error("users file rejected; every login fails until it is fixed", slog.String("path", a.file.path), slog.Any("error", err))
		return
	}
	a.file.info, a.file.users, a.file.err = readInfo, users, nil
	a.log.Info("users file reloaded", slog.String("path", a.file.path), slog.Int("users", len(users)))
}

// sameVersion reports whether two stats of a path show the same file with
// the same contents, as far as a stat can tell: the same inode (an editor
// or "mv" that replaces the file changes it), modification time and size.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// VerifyPlaintext checks a whole password. A wrong password or an unknown
// user is a verdict; an error means the users file is unusable or the
// deadline passed while waiting to hash.
func (a *allowList) VerifyPlaintext(ctx context.Context, name, secret string) (sdk.Verdict, error) {
	users, err := a.users()
	if err != nil {
		return sdk.Verdict{}, err
	}
	u, known := users[name]
	h := a.decoy
	if known {
		h = u.hash
	}
	ok, err := a.verify(ctx, h, secret)
	switch {
	case err != nil:
		return sdk.Verdict{}, err
	case !known:
		return sdk.Verdict{Reason: "unknown user"}, nil
	case !ok:
		return sdk.Verdict{Reason: "wrong password"}, nil
	}
	return sdk.Verdict{OK: true}, nil
}

// verify runs one Argon2 computation when a slot is free.
func (a *allowList) verify(ctx context.Context, h argon2idHash, secret string) (bool, error) {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("waiting to hash: %w", ctx.Err())
	}
	defer func() { <-a.slots }()
	return h.verify(secret), nil
}

// Lookup reports whether the file lists name, and its groups.
func (a *allowList) Lookup(_ context.Context, name string) (sdk.Identity, error) {
	users, err := a.users()
	if err != nil {
		return sdk.Identity{}, err
	}
	u, ok := users[name]
	if !ok {
		return sdk.Identity{}, nil
	}
	return sdk.Identity{Found: true, Groups: slices.Clone(u.groups)}, nil
}

// Health reports a users file that is gone or malformed. The gateway logs
// it; the plugin keeps running and picks up the fixed file.
func (a *allowList) Health(context.Context) error {
	_, err := a.users()
	return err
}
