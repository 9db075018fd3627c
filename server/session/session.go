package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
)

// Authenticator is what the session needs from the policy engine. The
// gateway adapts authpolicy.Engine to it by fixing the service name.
type Authenticator interface {
	Authenticate(ctx context.Context, cred authpolicy.Credential) (*authpolicy.Result, error)
}

// Denied is the error an Authenticator returns for a login the policy
// engine accepted but the gateway refuses (no VPN access): the client gets a
// CHAP Failure with Code, and Reason goes to the session's log.
type Denied struct {
	Code   chap.ErrorCode
	Reason string
}

func (d *Denied) Error() string { return d.Reason }

// Link sends GRE payloads (PPP frames) to the peer. frame is only valid
// during the call; SendPPP must not retain it.
type Link interface {
	SendPPP(frame []byte) error
}

// Defaults of Config.
const (
	DefaultAuthTimeout        = 15 * time.Second
	DefaultNegotiationTimeout = 30 * time.Second
	DefaultFailureDelay       = time.Second
	DefaultQueueLen           = 64
	// MaxFrame is the largest PPP frame the session takes or builds.
	MaxFrame = 2048
)

// Config is one session's configuration.
type Config struct {
	LCP  lcp.Policy
	IPCP ipcp.Policy
	CCP  ccp.Policy
	Auth Authenticator
	// ServerName is the Name of our CHAP Challenge.
	ServerName string
	// AuthTimeout bounds one Authenticate call; NegotiationTimeout the
	// time from Start to the data phase.
	AuthTimeout, NegotiationTimeout time.Duration
	// FailureDelay is how long LCP stays up after a CHAP Failure, so the
	// client can read it before the Terminate-Request.
	FailureDelay time.Duration
	// EchoInterval, when set, sends an LCP Echo-Request that often;
	// after EchoFailures (default 3) go unanswered the session ends.
	EchoInterval time.Duration
	EchoFailures int
	// RestartInterval, when set, replaces the automata's Restart timer
	// (RFC 1661 section 4.6, 3 s by default); CHAP Challenges are resent
	// at the same interval.
	RestartInterval time.Duration
	// QueueLen bounds the control frames waiting for the session
	// goroutine; more are dropped and counted.
	QueueLen int
	Log      *slog.Logger
	// Established, when set, is called once, on the session goroutine,
	// when the session reaches the data phase; Ended, when set, once, on
	// the session goroutine, after Done is closed. They let a caller
	// follow a session without a goroutine of its own per session; they
	// must not block (the session's PPP waits for them).
	Established, Ended func()
}

// Info is a snapshot of the session for logs and status.
type Info struct {
	User                  string
	Address               netip.Addr
	Branch                string
	MPPEBits              int
	Stateless             bool
	Established           bool
	BytesIn, BytesOut     uint64
	PacketsIn, PacketsOut uint64
	// Drops by reason.
	DroppedQueueFull, DroppedNotReady, DroppedPlainIP, DroppedDecrypt, DroppedProtocol uint64
}

// MPPEMode is "stateless" or "stateful" for an encrypted session, "" for
// one without MPPE.
func (in Info) MPPEMode() string {
	switch {
	case in.MPPEBits == 0:
		return ""
	case in.Stateless:
		return "stateless"
	}
	return "stateful"
}

// frameBuf is one control frame waiting for the session goroutine.
type frameBuf struct {
	b [MaxFrame]byte
	n int
}

var framePool = sync.Pool{New: func() any { return new(frameBuf) }}

// txBuf is the buffer SendIP builds one outgoing data frame in, taken from
// txPool for the packet and given back after it: a session holds no
// buffer of its own while it idles (docs/performance.md: memory per idle
// session), and a busy one reuses the pool's without allocating.
type txBuf [MaxFrame + 8]byte

var txPool = sync.Pool{New: func() any { return new(txBuf) }}

// authOutcome carries Authenticate's answer back to the session goroutine.
type authOutcome struct {
	id   uint8
	user string // as the client sent it
	res  *authpolicy.Result
	err  error
}

// Session is one PPTP call's PPP session. Its control state belongs to
// RoutineSession; the data path (ReceivePPP of data frames, SendIP) runs
// on the caller's goroutine under data's mutex.
type Session struct {
	cfg     Config
	link    Link
	deliver func(ipPacket []byte)
	log     *slog.Logger

	control   chan *frameBuf
	closeReq  chan string
	authDone  chan authOutcome
	resetReq  chan struct{}
	done      chan struct{}
	startOnce sync.Once

	// Owned by RoutineSession.
	lcpNeg  *lcp.Negotiator
	ipcpNeg *ipcp.Negotiator
	ccpNeg  *ccp.Negotiator
	lcpA    *ppp.Automaton
	ipcpA   *ppp.Automaton
	ccpA    *ppp.Automaton
	timers  [4]*time.Timer
	// ctrlTx starts empty and grows to the largest control frame sent (a
	// few hundred octets, not MaxFrame, for every idle session). ctrlPkt
	// stays nil: a control packet appended to it gets a small slice of
	// its own, as control packets are few.
	ctrlTx   []byte
	ctrlPkt  []byte
	acfc     bool
	pfc      bool
	chapID   uint8
	chapVal  [chap.ChallengeLen]byte
	chapSt   chapState
	chapSent int    // Challenges sent for the current identifier
	success  []byte // last Success (or PAP Ack) packet, resent for a retransmitted Response
	// auth is the method LCP agreed on. Under PAP, chapSt, chapID and
	// success track the PAP exchange (chapChallenged: waiting for an
	// Authenticate-Request).
	auth     lcp.AuthMethod
	keys     *authpolicy.MPPEKeys
	ending   string // cause chosen before LCP finished (auth failure)
	finished bool
	rejectID uint8
	cancel   context.CancelFunc

	info struct {
		sync.Mutex
		user, branch, cause string
		addr                netip.Addr
		bits                int
		stateless           bool
		established         bool
	}

	data struct {
		sync.Mutex
		open      bool // IPCP up and, when required, MPPE up
		required  bool
		enc       *mppe.Encrypter
		dec       *mppe.Decrypter
		acfc      bool
		pfc       bool
		stateless bool
	}

	stats struct {
		bytesIn, bytesOut, packetsIn, packetsOut                        atomic.Uint64
		dropQueue, dropNotReady, dropPlainIP, dropDecrypt, dropProtocol atomic.Uint64
	}
}

// chapState is the authenticator side of MS-CHAPv2:
//
//	idle ─LCP up─► challenged ─Response─► authenticating ─┬─► succeeded
//	                   │ ▲ resend at RestartInterval        └─► failed
//	                   └─┘ (up to MaxConfigure, then LCP closes)
type chapState uint8

const (
	chapIdle chapState = iota
	chapChallenged
	chapAuthenticating
	chapSucceeded
	chapFailed
)

func (c chapState) String() string {
	switch c {
	case chapIdle:
		return "idle"
	case chapChallenged:
		return "challenged"
	case chapAuthenticating:
		return "authenticating"
	case chapSucceeded:
		return "succeeded"
	case chapFailed:
		return "failed"
	}
	return fmt.Sprintf("chapState(%d)", uint8(c))
}

const (
	lcpTimer = iota
	ipcpTimer
	ccpTimer
	chapTimer
)

// New returns a session that has not started; link and deliver are used
// from the session goroutine and the caller of ReceivePPP.
func New(cfg Config, link Link, deliver func(ipPacket []byte)) *Session {
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	if cfg.NegotiationTimeout <= 0 {
		cfg.NegotiationTimeout = DefaultNegotiationTimeout
	}
	if cfg.FailureDelay <= 0 {
		cfg.FailureDelay = DefaultFailureDelay
	}
	if cfg.EchoFailures <= 0 {
		cfg.EchoFailures = 3
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "gatehouse"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Session{
		cfg:      cfg,
		link:     link,
		deliver:  deliver,
		log:      cfg.Log,
		control:  make(chan *frameBuf, cfg.QueueLen),
		closeReq: make(chan string, 1),
		authDone: make(chan authOutcome, 1),
		resetReq: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.data.required = cfg.CCP.Required
	return s
}

// Start starts RoutineSession, which brings LCP up and runs the session
// until it ends (Done).
func (s *Session) Start() {
	s.startOnce.Do(func() { go s.RoutineSession() })
}

// Done is closed when the session has ended; Cause then says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Cause is why the session ended, or "" while it runs.
func (s *Session) Cause() string {
	s.info.Lock()
	defer s.info.Unlock()
	return s.info.cause
}

// Close asks the session to end: LCP sends a Terminate-Request and the
// session ends when it is answered or times out. It does not block.
func (s *Session) Close(cause string) {
	select {
	case s.closeReq <- cause:
	default:
	}
}

// Info returns a snapshot of the session.
func (s *Session) Info() Info {
	s.info.Lock()
	i := Info{
		User: s.info.user, Address: s.info.addr, Branch: s.info.branch,
		MPPEBits: s.info.bits, Stateless: s.info.stateless, Established: s.info.established,
	}
	s.info.Unlock()
	i.BytesIn, i.BytesOut = s.stats.bytesIn.Load(), s.stats.bytesOut.Load()
	i.PacketsIn, i.PacketsOut = s.stats.packetsIn.Load(), s.stats.packetsOut.Load()
	i.DroppedQueueFull = s.stats.dropQueue.Load()
	i.DroppedNotReady = s.stats.dropNotReady.Load()
	i.DroppedPlainIP = s.stats.dropPlainIP.Load()
	i.DroppedDecrypt = s.stats.dropDecrypt.Load()
	i.DroppedProtocol = s.stats.dropProtocol.Load()
	return i
}

// errorCode picks the MS-CHAPv2 Failure code for a refused login.
func errorCode(res *authpolicy.Result) chap.ErrorCode {
	if res != nil && res.MSCHAPError != 0 {
		// A back-end that learnt the code (a RADIUS server's MS-CHAP-Error).
		return chap.ErrorCode(res.MSCHAPError)
	}
	if res != nil && strings.Contains(strings.ToLower(res.Reason()), "disabled") {
		return chap.AccountDisabled
	}
	return chap.AuthenticationFailure
}

var errNegotiationTimeout = errors.New("negotiation did not reach the data phase in time")

func newChallenge() [chap.ChallengeLen]byte {
	c, err := chap.NewChallenge(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("session: crypto/rand failed: %v", err))
	}
	return c
}
