package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"sync"
	"time"
)

// maxSessions bounds the console sessions kept at once; past it, signing
// in drops the one idle the longest.
const maxSessions = 1024

// secret is a random value that must not be logged: a session id or a
// CSRF token. It redacts itself in logs and in %v.
type secret string

// LogValue implements slog.LogValuer.
func (secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String implements fmt.Stringer.
func (secret) String() string { return "REDACTED" }

// newSecret returns 256 random bits, base64url without padding.
func newSecret() secret {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics if it cannot read)
	return secret(base64.RawURLEncoding.EncodeToString(b[:]))
}

// flash is a message for the next page: the outcome of a change.
type flash struct {
	Error bool
	Text  string
}

// session is one signed-in operator's console session.
type session struct {
	id       secret
	acct     Account
	csrf     secret
	created  time.Time
	lastSeen time.Time
	flash    *flash
}

// signedIn is what a handler learns of the session: a copy, safe to
// read without the store's lock.
type signedIn struct {
	id   secret
	Acct Account
	CSRF secret
}

// store keeps the console sessions in memory. A session id is only ever
// looked up as a map key: it is never compared byte by byte.
type store struct {
	idle, maxAge time.Duration

	mu sync.Mutex
	m  map[secret]*session
}

func newStore(idle, maxAge time.Duration) *store {
	return &store{idle: idle, maxAge: maxAge, m: map[secret]*session{}}
}

// create starts a session for acct at now, with a new id and CSRF token.
func (s *store) create(acct Account, now time.Time) signedIn {
	se := &session{id: newSecret(), acct: acct, csrf: newSecret(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if len(s.m) >= maxSessions {
		var oldest *session
		for _, o := range s.m {
			if oldest == nil || o.lastSeen.Before(oldest.lastSeen) {
				oldest = o
			}
		}
		delete(s.m, oldest.id)
	}
	s.m[se.id] = se
	return signedIn{id: se.id, Acct: se.acct, CSRF: se.csrf}
}

// get returns the live session with id. touch says whether the request is
// the operator's activity (it moves the idle expiry on). An expired
// session is deleted.
func (s *store) get(id secret, now time.Time, touch bool) (signedIn, bool) {
	if id == "" {
		return signedIn{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[id]
	if !ok {
		return signedIn{}, false
	}
	if s.expiredLocked(se, now) {
		delete(s.m, id)
		return signedIn{}, false
	}
	if touch {
		se.lastSeen = now
	}
	return signedIn{id: se.id, Acct: se.acct, CSRF: se.csrf}, true
}

// expiredLocked reports whether se has been idle too long or is too old.
func (s *store) expiredLocked(se *session, now time.Time) bool {
	return now.Sub(se.lastSeen) >= s.idle || now.Sub(se.created) >= s.maxAge
}

// sweepLocked deletes the expired sessions.
func (s *store) sweepLocked(now time.Time) {
	for id, se := range s.m {
		if s.expiredLocked(se, now) {
			delete(s.m, id)
		}
	}
}

// setAccount gives the session with id the account as it is now (its
// role may have changed since sign-in).
func (s *store) setAccount(id secret, acct Account) {
	s.mu.Lock()
	if se, ok := s.m[id]; ok {
		se.acct = acct
	}
	s.mu.Unlock()
}

// delete ends the session with id.
func (s *store) delete(id secret) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// setFlash keeps f for the session's next page.
func (s *store) setFlash(id secret, f flash) {
	s.mu.Lock()
	if se, ok := s.m[id]; ok {
		se.flash = &f
	}
	s.mu.Unlock()
}

// popFlash returns and forgets the session's flash.
func (s *store) popFlash(id secret) *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[id]
	if !ok {
		return nil
	}
	f := se.flash
	se.flash = nil
	return f
}

// len returns how many sessions are kept.
func (s *store) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// validCSRF reports whether got is the session's CSRF token, in constant
// time.
func (si signedIn) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(si.CSRF)) == 1
}
