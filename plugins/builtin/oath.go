package builtin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// OATH is the back-end for one-time-code tokens of one source: soft tokens
// enrolled with "gatehouse token enroll" (source oath) or hardware tokens
// imported from PSKC (source digipass).
type OATH struct {
	source string
	h      storeHandle
	now    func() time.Time

	mu      sync.Mutex
	window  otp.Window
	lengths []int
}

var (
	_ sdk.FragmentSource    = (*OATH)(nil)
	_ sdk.PlaintextVerifier = (*OATH)(nil)
	_ sdk.Committer         = (*OATH)(nil)
	_ sdk.Configurer        = (*OATH)(nil)
)

// NewOATH returns the back-end for tokens of source (store.SourceOATH or
// store.SourceDIGIPASS).
func NewOATH(source string) *OATH {
	o := &OATH{source: source, now: time.Now, window: otp.DefaultWindow, lengths: []int{6}}
	if source == store.SourceDIGIPASS {
		o.lengths = []int{6, 8}
	}
	return o
}

// Describe implements sdk.Backend.
func (o *OATH) Describe(context.Context) (sdk.Description, error) {
	o.mu.Lock()
	lengths := slices.Clone(o.lengths)
	o.mu.Unlock()
	return sdk.Description{
		Name: o.source, Version: Version,
		Capabilities:    []sdk.Capability{sdk.CapFragments, sdk.CapVerifyPlaintext},
		FragmentLengths: lengths,
		OneTime:         true,
		ConfigKeys: append(slices.Clone(storeKeys),
			sdk.ConfigKey{Name: "digits", Description: "code lengths users type, comma-separated (6 for oath; 6,8 for digipass)"},
			sdk.ConfigKey{Name: "skew", Description: "TOTP steps accepted either side of now (default 1)"},
			sdk.ConfigKey{Name: "look_ahead", Description: "HOTP counters accepted ahead of the expected one (default 20)"},
		),
	}, nil
}

// Configure implements sdk.Configurer.
func (o *OATH) Configure(ctx context.Context, opts map[string]string) error {
	w := otp.DefaultWindow
	var errs []error
	atoi := func(key string, dst *int) {
		if v, ok := opts[key]; ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a number", key, v))
				return
			}
			*dst = n
		}
	}
	atoi("skew", &w.Skew)
	atoi("look_ahead", &w.LookAhead)
	if err := w.Validate(); err != nil {
		errs = append(errs, err)
	}
	var lengths []int
	if v := opts["digits"]; v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 6 || n > 8 {
				errs = append(errs, fmt.Errorf("digits: %q is not a code length from 6 to 8", f))
				continue
			}
			lengths = append(lengths, n)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := o.h.configure(ctx, opts); err != nil {
		return err
	}
	o.mu.Lock()
	o.window = w
	if len(lengths) > 0 {
		o.lengths = lengths
	}
	o.mu.Unlock()
	return nil
}

func params(t store.Token) (otp.Params, error) {
	kind, err := otp.ParseKind(t.Kind)
	if err != nil {
		return otp.Params{}, err
	}
	alg, err := otp.ParseAlgorithm(t.Algorithm)
	if err != nil {
		return otp.Params{}, err
	}
	return otp.Params{Kind: kind, Algorithm: alg, Digits: t.Digits, Period: t.Period, T0: t.T0}, nil
}

func state(t store.Token) otp.State {
	return otp.State{Counter: t.Counter, LastStep: t.LastStep, Drift: t.Drift}
}

// candidate is one code valid now, with the token it belongs to.
type candidate struct {
	serial string
	otp.Candidate
}

// token is what Commit needs back: "serial:counter:offset".
func (c candidate) token() string {
	return c.serial + ":" + strconv.FormatUint(c.Counter, 10) + ":" + strconv.Itoa(c.Offset)
}

// candidates lists the codes valid now for every token of the user; none
// when the user is disabled in the local store (tokens are assigned to
// local users, and a disabled user's token must not open any branch).
//
// With used it also lists the window's codes that were used already
// (otp.Used), so that a replay can be told from a wrong code.
func (o *OATH) candidates(ctx context.Context, user string, used bool) (live []candidate, spent []otp.Candidate, err error) {
	_, cache, err := o.h.get()
	if err != nil {
		return nil, nil, err
	}
	st, err := cache.Snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	u, err := st.User(ctx, user)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	tokens, err := st.UserTokens(ctx, user, o.source)
	if err != nil {
		return nil, nil, err
	}
	o.mu.Lock()
	w := o.window
	o.mu.Unlock()
	now := o.now()
	for _, t := range tokens {
		p, err := params(t)
		if err != nil {
			return nil, nil, fmt.Errorf("token %s: %w", t.Serial, err)
		}
		for _, c := range otp.Candidates(t.Secret, p, state(t), w, now) {
			live = append(live, candidate{serial: t.Serial, Candidate: c})
		}
		if used {
			spent = append(spent, otp.Used(t.Secret, p, state(t), w, now)...)
		}
		clear(t.Secret)
	}
	return live, spent, nil
}

// ReplayReason begins the refusal of a one-time code that was used
// before (in a verdict, or in Commit's error when another login used it
// first); the gateway counts them (gatehouse_otp_replays_total).
const ReplayReason = "code already used"

// Fragments implements sdk.FragmentSource: every code valid now.
func (o *OATH) Fragments(ctx context.Context, user string) (_ []sdk.Fragment, err error) {
	defer storeErr(&err)
	cands, _, err := o.candidates(ctx, user, false)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.Fragment, len(cands))
	for i, c := range cands {
		out[i] = sdk.Fragment{Secret: c.Code, Token: c.token()}
	}
	return out, nil
}

// VerifyPlaintext implements sdk.PlaintextVerifier. It consumes nothing.
func (o *OATH) VerifyPlaintext(ctx context.Context, user, code string) (_ sdk.Verdict, err error) {
	defer storeErr(&err)
	cands, spent, err := o.candidates(ctx, user, true)
	if err != nil {
		return sdk.Verdict{}, err
	}
	if len(cands) == 0 && len(spent) == 0 {
		return sdk.Verdict{Reason: "no usable " + o.source + " token (no token assigned, or the user is disabled or unknown)"}, nil
	}
	plain := make([]otp.Candidate, len(cands))
	for i, c := range cands {
		plain[i] = c.Candidate
	}
	m, ok := otp.Match(plain, code)
	if !ok {
		if _, replay := otp.Match(spent, code); replay {
			return sdk.Verdict{Reason: ReplayReason + " (a replay)"}, nil
		}
		return sdk.Verdict{Reason: "wrong code"}, nil
	}
	for _, c := range cands {
		if c.Candidate == m {
			return sdk.Verdict{OK: true, Token: c.token()}, nil
		}
	}
	return sdk.Verdict{Reason: "wrong or used code"}, nil
}

// Commit implements sdk.Committer: the code is used up, atomically in the
// store; a code another login used first is an error.
func (o *OATH) Commit(ctx context.Context, user, tok string) (err error) {
	defer storeErr(&err)
	parts := strings.Split(tok, ":")
	if len(parts) != 3 {
		return fmt.Errorf("malformed commit token")
	}
	counter, err1 := strconv.ParseUint(parts[1], 10, 64)
	offset, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("malformed commit token")
	}
	st, cache, err := o.h.get()
	if err != nil {
		return err
	}
	t, err := cache.Token(ctx, parts[0])
	if err != nil {
		return err
	}
	clear(t.Secret)
	if t.User != user {
		return fmt.Errorf("token %s is not assigned to this user", t.Serial)
	}
	p, err := params(t)
	if err != nil {
		return err
	}
	next := otp.Accept(p, state(t), otp.Candidate{Counter: counter, Offset: offset})
	if p.Kind == otp.HOTP {
		err = st.CommitHOTP(ctx, t.Serial, counter)
	} else {
		err = st.CommitTOTP(ctx, t.Serial, next.LastStep, next.Drift)
	}
	if errors.Is(err, store.ErrReplayed) {
		return fmt.Errorf("token %s: %s by another login", t.Serial, ReplayReason)
	}
	return err
}
