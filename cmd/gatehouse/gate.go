package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
)

// gate is what every login passes through, whichever front door: the
// lockout, then the policy engine of the current configuration; the
// metrics see each decision. It lives as long as serve, across reloads.
type gate struct {
	current *atomic.Pointer[running]
	metrics *metrics
	lockout *lockout.Tracker
	events  *eventLog // nil: none
	log     *slog.Logger
}

// lockoutSettings is the lockout section as server/lockout wants it.
func lockoutSettings(l config.Lockout) lockout.Settings {
	return lockout.Settings{Threshold: l.Threshold, Window: l.Window, Duration: l.Duration}
}

// authenticate decides one login on service for frontDoor. A locked-out
// name is refused before any back-end is asked; a wrong secret counts
// towards the lockout, a success clears the count.
func (g *gate) authenticate(ctx context.Context, frontDoor, service string, cred authpolicy.Credential) (*authpolicy.Result, error) {
	run := g.current.Load()
	name := run.engine.UserName(service, cred.User)
	start := time.Now()
	if locked, until := g.lockout.Check(name, start); locked {
		res := lockedOut(service, name, cred.Kind, until)
		g.metrics.login(frontDoor, service, res, nil, time.Since(start))
		g.events.login(ctx, frontDoor, service, cred, res, nil, time.Since(start))
		return res, nil
	}
	res, err := run.engine.Authenticate(ctx, service, cred)
	took := time.Since(start)
	if err == nil && res != nil && !res.Accepted && (res.Challenge != nil || res.BackendChallenge != nil) {
		// The password was right and the front door will ask for the
		// code (or a back-end's upstream server asked a question): not a
		// decision yet, so no login event or metric, and nothing for the
		// lockout. The answer's round is the login.
		return res, nil
	}
	g.metrics.login(frontDoor, service, res, err, took)
	g.events.login(ctx, frontDoor, service, cred, res, err, took)
	if err != nil || res == nil {
		return res, err
	}
	switch {
	case res.Accepted:
		g.lockout.Succeeded(name)
	case wrongSecret(res):
		if locked, until := g.lockout.Failed(name, time.Now()); locked {
			s := g.lockout.Settings()
			ev := events.Event{Kind: events.KindLockout, FrontDoor: frontDoor, Service: service, User: name,
				Reason:  fmt.Sprintf("%d failed logins within %s", s.Threshold, s.Window),
				Message: "refused until " + until.UTC().Format(time.RFC3339) + " (gatehouse user unlock " + name + ")"}
			if a, err := netip.ParseAddr(cred.CallingStation); err == nil {
				ev.Client = a
			}
			if g.events != nil {
				g.events.recordAndLog(ev)
			} else {
				ev.Log(ctx, g.log)
			}
		}
	}
	return res, nil
}

// wrongSecret reports whether a refused login counts as a guess: a
// branch rejected it (a factor did not match), and it was not the VPN
// access rules refusing a user whose secrets were right.
func wrongSecret(res *authpolicy.Result) bool {
	if res.Denied {
		return false
	}
	for _, b := range res.Branches {
		if b.Outcome == authpolicy.Rejected {
			return true
		}
	}
	return false
}

// lockedOut is the Result of a login refused by the lockout: one pseudo
// branch, "lockout", says why. The client gets the ordinary refusal
// (MS-CHAP E=691, Access-Reject), whatever the secret.
func lockedOut(service, user string, kind authpolicy.CredentialKind, until time.Time) *authpolicy.Result {
	return &authpolicy.Result{Service: service, User: user, Kind: kind, Branches: []authpolicy.BranchResult{{
		Branch: "lockout", Outcome: authpolicy.Rejected,
		Reason: fmt.Sprintf("user %q is locked out until %s after too many failed logins (gatehouse user unlock %s)",
			user, until.UTC().Format(time.RFC3339), user),
	}}}
}

// rechecker re-checks the running PPTP sessions against the current
// configuration and directory (gateway.Reauthorize with the engine's
// Recheck). One goroutine runs the checks; triggers arriving while one
// runs are merged into the next.
type rechecker struct {
	current *atomic.Pointer[running]
	pptp    *pptpFront
	log     *slog.Logger
	trigger chan string
	revoked atomic.Uint64
}

func newRechecker(current *atomic.Pointer[running], pptp *pptpFront, log *slog.Logger) *rechecker {
	return &rechecker{current: current, pptp: pptp, log: log, trigger: make(chan string, 1)}
}

// request asks for a check; why says what changed ("reload", "store",
// "interval"). It never blocks.
func (r *rechecker) request(why string) {
	if r == nil {
		return
	}
	select {
	case r.trigger <- why:
	default: // one is pending: it will see this change too
	}
}

// run serves the requests until ctx ends, and checks every
// pptp.recheck_interval of the current configuration.
func (r *rechecker) run(ctx context.Context) {
	for {
		interval := r.current.Load().cfg.PPTP.RecheckInterval
		var tick <-chan time.Time
		var t *time.Timer
		if interval > 0 {
			t = time.NewTimer(interval)
			tick = t.C
		}
		var why string
		select {
		case <-ctx.Done():
		case why = <-r.trigger:
		case <-tick:
			why = "interval"
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		r.check(ctx, why)
	}
}

// check asks about every session once.
func (r *rechecker) check(ctx context.Context, why string) {
	run := r.current.Load()
	auth := authorize(r.current)
	service := run.cfg.PPTP.Service
	start := time.Now()
	rep := r.pptp.gw.Reauthorize(func(res *authpolicy.Result) (gateway.Authorization, error) {
		now := *res
		now.Service = service // the front door's service now, which a reload may have changed
		rc, err := run.engine.Recheck(ctx, &now)
		if err != nil {
			return gateway.Authorization{}, err
		}
		if !rc.Allowed {
			return gateway.Authorization{Reason: rc.Reason}, nil
		}
		now.Identity = rc.Identity
		return auth(&now), nil
	})
	r.revoked.Add(uint64(rep.Revoked))
	level := slog.LevelDebug
	if rep.Revoked > 0 || rep.Updated > 0 || rep.Errors > 0 {
		level = slog.LevelInfo
	}
	r.log.LogAttrs(ctx, level, "sessions re-checked", slog.String("trigger", why),
		slog.Int("checked", rep.Checked), slog.Int("revoked", rep.Revoked), slog.Int("firewall_changed", rep.Updated),
		slog.Int("undecided", rep.Errors), slog.Duration("took", time.Since(start)))
}

// watchStore polls the store's revisions every second: an identity change
// (a user disabled, deleted, given other VPN access or groups, by the CLI
// in another process) re-checks the sessions; an operator's unlock
// reloads the lockouts.
func watchStore(ctx context.Context, st *store.Store, rc *rechecker, lo *lockout.Tracker, ev *eventLog, log *slog.Logger) {
	last, err := st.Revisions(ctx)
	if err != nil {
		log.Warn("cannot read the store's revisions; CLI changes apply to running sessions only on reload", slog.Any("err", err))
	}
	tick := time.NewTicker(storePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now, err := st.Revisions(ctx)
		if err != nil {
			continue
		}
		if now.Identity != last.Identity {
			rc.request("store")
		}
		if now.Lockouts != last.Lockouts {
			t := time.Now()
			before := lo.Locked(t)
			if err := lo.Load(ctx); err != nil {
				log.Warn("cannot reload the lockouts", slog.Any("err", err))
				continue
			}
			log.Info("lockouts reloaded: an operator unlocked a user, or another gateway sharing the store locked one")
			still := map[string]bool{}
			for _, l := range lo.Locked(t) {
				still[l.Name] = true
			}
			for _, l := range before {
				if !still[l.Name] {
					ev.recordAndLog(events.Event{Kind: events.KindUnlock, User: l.Name, Message: "gatehouse user unlock"})
				}
			}
		}
		last = now
	}
}

// storePoll is how often watchStore looks.
const storePoll = time.Second
