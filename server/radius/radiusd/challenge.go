package radiusd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// Defaults of ChallengeConfig.
const (
	DefaultChallengeMessage  = "Enter your one-time code"
	DefaultChallengeTimeout  = 2 * time.Minute
	DefaultMaxChallenges     = 10000
	DefaultMaxUserChallenges = 3
	// MaxUpstreamRounds bounds the Access-Challenges of a back-end (an
	// upstream RADIUS server) passed on for one login: past it, the
	// back-end's next challenge is a refusal.
	MaxUpstreamRounds = 3
	// StateLen is the length of the State attribute of an
	// Access-Challenge, in bytes, all from crypto/rand.
	StateLen = 16
)

// ChallengeConfig configures the second prompt (see the package
// documentation, "Access-Challenge").
type ChallengeConfig struct {
	// Enabled reports, when a PAP request carries no State of a pending
	// challenge, whether the login may be answered with an
	// Access-Challenge (services.<name>.challenge of the front door's
	// service; asked per request, so a reload applies at once). nil:
	// never.
	Enabled func() bool
	// Message is the Reply-Message of the Access-Challenge, the prompt
	// the NAS shows [DefaultChallengeMessage].
	Message string
	// Timeout is how long a challenge waits for its answer
	// [DefaultChallengeTimeout].
	Timeout time.Duration
	// MaxPending bounds the challenges waiting for an answer; past it a
	// new one is refused, the login rejected [DefaultMaxChallenges].
	MaxPending int
	// MaxPendingPerUser bounds those of one User-Name; past it the user's
	// oldest is dropped for the new one [DefaultMaxUserChallenges].
	MaxPendingPerUser int
}

// nasBinding is what identifies the NAS a challenge was sent to: the
// client's source address (not its port, which a NAS may change between
// requests), NAS-Identifier and NAS-IP-Address as the request carried them
// (empty and invalid when it did not).
type nasBinding struct {
	addr       netip.Addr
	identifier string
	ip         netip.Addr
}

func bindingOf(req *lr.Packet, from netip.AddrPort) nasBinding {
	b := nasBinding{addr: from.Addr()}
	b.identifier = string(rfc2865.NASIdentifier_Get(req))
	if a := req.Get(rfc2865.NASIPAddress_Type); len(a) == 4 {
		b.ip = netip.AddrFrom4([4]byte(a))
	}
	return b
}

// heldSecret is the password of a challenge's first round, kept in memory
// for the challenge's lifetime only. It prints, logs and marshals as
// REDACTED, and wipe overwrites it.
type heldSecret struct{ b []byte }

const redacted = "REDACTED"

func (*heldSecret) String() string               { return redacted }
func (*heldSecret) GoString() string             { return redacted }
func (*heldSecret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (*heldSecret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (*heldSecret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (*heldSecret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (h *heldSecret) wipe() {
	if h != nil {
		clear(h.b)
		h.b = nil
	}
}
func newHeldSecret(b []byte) *heldSecret { return &heldSecret{b: slices.Clone(b)} }

// pending is a challenge waiting for its answer.
type pending struct {
	state string
	user  string
	nas   nasBinding
	first *heldSecret
	// challenge is the engine's: the branch and where the code goes.
	challenge *authpolicy.Challenge
	// upstream, instead of first and challenge, is a back-end's challenge
	// (an upstream RADIUS server's Access-Challenge): the back-end, its
	// branch and its continuation (the upstream State, never sent to the
	// NAS); round counts the challenges of the login passed on so far.
	upstream *authpolicy.BackendChallenge
	round    int
	expires  time.Time
	timer    *time.Timer
}

// complete is the secret of the second round: the held password with code
// inserted where the policy writes the code (a new slice, for the caller
// to clear).
func (p *pending) complete(code []byte) []byte {
	return p.challenge.Complete(p.first.b, code)
}

// stateRef names a challenge in the log: the first 4 bytes of its State, in
// hex. The whole State is never logged.
func stateRef(state string) string {
	if len(state) > 4 {
		state = state[:4]
	}
	return hex.EncodeToString([]byte(state))
}

// stateCheck is the verdict on the State of a request.
type stateCheck uint8

const (
	stateOK stateCheck = iota
	stateUnknown
	stateUsed
	stateExpired
	stateReplaced
	stateOtherUser
	stateOtherNAS
)

// reason is what the log says about a refused State.
func (c stateCheck) reason() string {
	switch c {
	case stateUnknown:
		return "unknown State: not issued by this gateway, or so long ago that it is forgotten"
	case stateUsed:
		return "State already used: a replayed answer to an Access-Challenge"
	case stateExpired:
		return "State expired: the answer came after radius_server.challenge_timeout"
	case stateReplaced:
		return "State replaced: a newer challenge of the same user (radius_server.max_challenges_per_user) took its place"
	case stateOtherUser:
		return "State issued to another user"
	case stateOtherNAS:
		return "State issued to another NAS (source address, NAS-Identifier or NAS-IP-Address differ)"
	}
	return "ok"
}

// spent remembers a challenge that can no longer be answered, for a
// clear reason when its State comes back; it holds no secret.
type spent struct {
	why   stateCheck
	until time.Time
}

var errFull = errors.New("too many pending challenges (radius_server.max_challenges)")

// challenges is the table of pending challenges, by State.
type challenges struct {
	now                  func() time.Time
	ttl, rememberFor     time.Duration
	maxTotal, maxPerUser int

	mu     sync.Mutex
	live   map[string]*pending
	byUser map[string][]*pending // oldest first
	// gone remembers, for rememberFor, the States answered, expired or
	// replaced; goneOrder is their order of arrival.
	gone      map[string]spent
	goneOrder []string

	// Counters, under mu.
	expired, replaced uint64
}

func newChallenges(cfg ChallengeConfig) *challenges {
	return &challenges{now: time.Now, ttl: cfg.Timeout, rememberFor: max(2*cfg.Timeout, time.Minute), maxTotal: cfg.MaxPending, maxPerUser: cfg.MaxPendingPerUser,
		live: map[string]*pending{}, byUser: map[string][]*pending{}, gone: map[string]spent{}}
}

// add stores a challenge for user at nas holding first (copied) and
// returns its State. It drops the user's oldest challenge past
// maxPerUser (replaced names it) and refuses a new one (errFull) past
// maxTotal.
func (t *challenges) add(user string, nas nasBinding, first []byte, ch *authpolicy.Challenge) (state []byte, replaced string, err error) {
	return t.insert(&pending{user: user, nas: nas, first: newHeldSecret(first), challenge: ch})
}

// addUpstream stores a back-end's challenge for user at nas, its round-th
// of the login, as add does; the table holds up (its continuation is wiped
// with the entry) and no secret.
func (t *challenges) addUpstream(user string, nas nasBinding, up *authpolicy.BackendChallenge, round int) (state []byte, replaced string, err error) {
	return t.insert(&pending{user: user, nas: nas, upstream: up, round: round})
}

func (t *challenges) insert(p *pending) (state []byte, replaced string, err error) {
	user := p.user
	state = make([]byte, StateLen)
	if _, err := rand.Read(state); err != nil {
		p.first.wipe()
		p.upstream.Wipe()
		return nil, "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	if mine := t.byUser[user]; len(mine) >= t.maxPerUser {
		old := mine[0]
		t.retire(old, stateReplaced, now)
		t.replaced++
		replaced = stateRef(old.state)
	}
	if len(t.live) >= t.maxTotal {
		p.first.wipe()
		p.upstream.Wipe()
		return nil, replaced, errFull
	}
	p.state, p.expires = string(state), now.Add(t.ttl)
	p.timer = time.AfterFunc(t.ttl, func() { t.expire(p.state) })
	t.live[p.state] = p
	t.byUser[user] = append(t.byUser[user], p)
	return state, replaced, nil
}

// take checks the State of an answer from user at nas. A match is
// removed (single use) and returned; its secret is the caller's to wipe.
// A challenge of another user or NAS stays for its own answer.
func (t *challenges) take(state []byte, user string, nas nasBinding) (*pending, stateCheck) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	p, ok := t.live[string(state)]
	if !ok {
		if g, ok := t.gone[string(state)]; ok {
			return nil, g.why
		}
		return nil, stateUnknown
	}
	switch {
	case !now.Before(p.expires):
		t.retire(p, stateExpired, now)
		t.expired++
		return nil, stateExpired
	case p.user != user:
		return nil, stateOtherUser
	case p.nas != nas:
		return nil, stateOtherNAS
	}
	t.unlink(p)
	t.bury(p.state, stateUsed, now)
	return p, stateOK
}

// expire is the timer of a challenge: unanswered, its secret is wiped.
func (t *challenges) expire(state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.live[state]; ok {
		t.retire(p, stateExpired, t.now())
		t.expired++
	}
}

// retire removes a live challenge, wipes its secret and remembers why.
func (t *challenges) retire(p *pending, why stateCheck, now time.Time) {
	t.unlink(p)
	p.first.wipe()
	p.upstream.Wipe()
	t.bury(p.state, why, now)
}

func (t *challenges) unlink(p *pending) {
	p.timer.Stop()
	delete(t.live, p.state)
	mine := slices.DeleteFunc(t.byUser[p.user], func(q *pending) bool { return q == p })
	if len(mine) == 0 {
		delete(t.byUser, p.user)
	} else {
		t.byUser[p.user] = mine
	}
}

// bury remembers a State for twice the lifetime of a challenge (at least
// a minute), at most maxTotal of them: long enough that a late or
// replayed answer is told apart from a State never issued.
func (t *challenges) bury(state string, why stateCheck, now time.Time) {
	if _, ok := t.gone[state]; !ok {
		t.goneOrder = append(t.goneOrder, state)
	}
	t.gone[state] = spent{why: why, until: now.Add(t.rememberFor)}
	for len(t.gone) > t.maxTotal {
		t.forgetOldest()
	}
}

// sweep forgets remembered States whose time is up, oldest first.
func (t *challenges) sweep(now time.Time) {
	for len(t.goneOrder) > 0 && !now.Before(t.gone[t.goneOrder[0]].until) {
		t.forgetOldest()
	}
}

func (t *challenges) forgetOldest() {
	delete(t.gone, t.goneOrder[0])
	t.goneOrder[0] = ""
	t.goneOrder = t.goneOrder[1:]
}

// close wipes every pending secret; the table stays usable.
func (t *challenges) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.live {
		t.retire(p, stateExpired, t.now())
	}
}

// counts are the table's counters and the challenges pending now.
func (t *challenges) counts() (pending int, expired, replaced uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.live), t.expired, t.replaced
}
