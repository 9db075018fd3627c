package authpolicy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults for the deadlines of a service.
const (
	DefaultLoginTimeout   = 10 * time.Second
	DefaultBackendTimeout = 3 * time.Second
)

// MaxCombinations bounds the candidate secrets one MS-CHAPv2 branch may try
// (the product of its factors' fragment counts).
const MaxCombinations = 4096

// Service is one named policy with its deadlines.
type Service struct {
	Name   string
	Policy string
	// LoginTimeout bounds a whole login; BackendTimeout each back-end call.
	// Zero means the default.
	LoginTimeout   time.Duration
	BackendTimeout time.Duration
	// StripDomain removes a "DOMAIN\" prefix and an "@realm" suffix from
	// the user name before any back-end sees it (see [StripDomain]).
	StripDomain bool
}

// StripDomain returns the user part of a Windows "DOMAIN\user" or a
// "user@realm" name; other names are returned as they are. An empty user
// part leaves the name as it was.
func StripDomain(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 && i < len(name)-1 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '@'); i > 0 {
		name = name[:i]
	}
	return name
}

// UserName is the name the service's back-ends see for a name a client
// sent: with StripDomain, the user part.
func (e *Engine) UserName(service, name string) string {
	if s, ok := e.services[service]; ok && s.StripDomain {
		return StripDomain(name)
	}
	return name
}

type service struct {
	Service
	policy *Policy
}

// Engine evaluates logins against compiled policies. It is safe for
// concurrent use; it holds no per-login state.
type Engine struct {
	backends map[string]Backend
	services map[string]*service
	log      *slog.Logger
}

// NewEngine compiles every service's policy against the back-ends'
// capabilities. It does not run the static check (see Policy.Check): a
// branch that cannot work for a credential kind is skipped at login time.
func NewEngine(backends map[string]Backend, services []Service, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	infos := make(map[string]Info, len(backends))
	for name, b := range backends {
		infos[name] = b.Info()
	}
	e := &Engine{backends: backends, services: make(map[string]*service, len(services)), log: log}
	var errs []error
	for _, s := range services {
		if s.LoginTimeout <= 0 {
			s.LoginTimeout = DefaultLoginTimeout
		}
		if s.BackendTimeout <= 0 {
			s.BackendTimeout = DefaultBackendTimeout
		}
		p, err := Compile(s.Name, s.Policy, infos)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", s.Name, err))
			continue
		}
		e.services[s.Name] = &service{Service: s, policy: p}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// Policy returns the compiled policy of a service.
func (e *Engine) Policy(service string) (*Policy, bool) {
	s, ok := e.services[service]
	if !ok {
		return nil, false
	}
	return s.policy, true
}

// Option changes one Authenticate call.
type Option func(*options)

type options struct{ dryRun bool }

// DryRun evaluates without committing: no one-time code is consumed and no
// counter advances. For "gatehouse policy eval".
func DryRun() Option { return func(o *options) { o.dryRun = true } }

// ErrUnknownService is returned for a service that is not configured.
var ErrUnknownService = errors.New("unknown service")

// Authenticate decides one login. The error is non-nil only when the request
// itself cannot be evaluated (unknown service, malformed credential); every
// back-end failure is recorded in the Result, which then rejects.
func (e *Engine) Authenticate(ctx context.Context, serviceName string, cred Credential, opts ...Option) (*Result, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s, ok := e.services[serviceName]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownService, serviceName)
	}
	switch cred.Kind {
	case MSCHAPv2:
		if cred.MSCHAPv2 == nil {
			return nil, errors.New("MS-CHAPv2 credential without a response")
		}
	case MSCHAPv1:
		if cred.MSCHAPv1 == nil {
			return nil, errors.New("MS-CHAPv1 credential without a response")
		}
	case CHAPMD5:
		if cred.CHAPMD5 == nil {
			return nil, errors.New("CHAP-MD5 credential without a response")
		}
	case Plaintext:
	default:
		return nil, fmt.Errorf("unsupported credential kind %v", cred.Kind)
	}
	if s.StripDomain {
		// Only the name the back-ends see: an MS-CHAPv2 response keeps
		// the name the client hashed (RFC 2759 section 8.2 strips the
		// domain itself).
		cred.User = StripDomain(cred.User)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(WithCallingStation(ctx, cred.CallingStation), s.LoginTimeout)
	defer cancel()

	res := &Result{Service: s.Name, User: cred.User, Kind: cred.Kind, DryRun: o.dryRun,
		Branches: make([]BranchResult, len(s.policy.Branches))}
	for i, b := range s.policy.Branches {
		res.Branches[i].Branch = b.String()
	}
	resume := resumeOf(ctx)
	if resume != nil && cred.Kind != Plaintext {
		return nil, fmt.Errorf("the answer to a back-end's challenge must be plaintext, not %v", cred.Kind)
	}
	offer := cred.Kind == Plaintext && challengeAllowed(ctx)
	for i, b := range s.policy.Branches {
		br := &res.Branches[i]
		if ok, why := s.policy.Workable(b, cred.Kind); !ok {
			br.Outcome, br.Reason = Skipped, why
			continue
		}
		if resume != nil && b.String() != resume.Branch {
			br.Outcome, br.Reason = Skipped, fmt.Sprintf("the login answers a challenge of branch %q", resume.Branch)
			continue
		}
		if ctx.Err() != nil {
			br.Outcome, br.Reason = Failed, fmt.Sprintf("login deadline of %s passed before this branch was tried", s.LoginTimeout)
			continue
		}
		t0 := time.Now()
		ev := &evaluation{engine: e, svc: s, branch: b, cred: cred, dryRun: o.dryRun,
			offerBackendChallenge: offer, resume: resume}
		br.Outcome, br.Reason = ev.run(ctx)
		br.Duration = time.Since(t0)
		if br.Outcome == Rejected && res.MSCHAPError == 0 {
			res.MSCHAPError = ev.mschapError
		}
		res.Denied = res.Denied || ev.denied
		if br.Outcome == Accepted {
			res.Accepted = true
			res.Branch = br.Branch
			res.AuthenticatorResponse = ev.authResp
			res.Keys = ev.keys
			res.Identity = ev.identity
			res.VerdictAttributes = ev.granted
			break
		}
		if br.Outcome == Challenged {
			// The back-end asked; the user's answer decides this branch,
			// so no later branch is tried.
			res.BackendChallenge = ev.challenged
			break
		}
	}
	if !res.Accepted && res.BackendChallenge == nil && resume == nil && cred.Kind == Plaintext && challengeAllowed(ctx) {
		e.challenge(ctx, s, cred, res)
	}
	res.Duration = time.Since(start)
	e.log.LogAttrs(ctx, slog.LevelDebug, "policy decision", slog.Any("result", res))
	return res, nil
}
