package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The admin API asks every request but /healthz for a bearer token: the
// content of admin.token_file, 32 random bytes in hex, created with mode
// 0600 on the first start (serve) and printed nowhere. The CLI commands
// that ask the running gateway read the same file. A request over the
// optional Unix socket (admin.socket) needs no token: the socket's file
// mode decides who may connect.

// loadOrCreateToken returns the token in path, creating the file first
// when it does not exist. A file that group or others may read is
// refused.
func loadOrCreateToken(path string) (string, error) {
	tok, err := readToken(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist): // created meanwhile by another start
	case err != nil:
		return "", fmt.Errorf("admin token: %w", err)
	default:
		_, werr := fmt.Fprintln(f, hex.EncodeToString(b))
		if err := errors.Join(werr, f.Close()); err != nil {
			return "", fmt.Errorf("admin token %s: %w", path, err)
		}
	}
	return readToken(path)
}

// readToken reads the token in path.
func readToken(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("admin token %s has mode %04o: others may read it; run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 32 {
		return "", fmt.Errorf("admin token %s is %d characters; it needs at least 32 (delete it to have a new one made)", path, len(tok))
	}
	return tok, nil
}

// requireToken lets through requests that carry token as a bearer token,
// and those public says need none; it answers the others 401, and logs
// them (at most a few a second).
func requireToken(token string, public func(*http.Request) bool, next http.Handler, log *slog.Logger) http.Handler {
	want := sha256.Sum256([]byte(token))
	var lim struct {
		sync.Mutex
		window time.Time
		n      int
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public(r) {
			next.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if ok && subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		lim.Lock()
		now := time.Now()
		if now.Sub(lim.window) >= time.Second {
			lim.window, lim.n = now, 0
		}
		lim.n++
		logIt := lim.n <= 5
		lim.Unlock()
		if logIt {
			log.Warn("admin request refused: no valid token", slog.String("remote", r.RemoteAddr),
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Bool("had_token", ok))
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		writeError(w, http.StatusUnauthorized, "the admin API needs the token in admin.token_file (Authorization: Bearer TOKEN); gatehouse commands read it from the configuration, or from --token-file")
	})
}
