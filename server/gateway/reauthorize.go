package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/firewall"
)

// CauseRevoked begins the cause of a session that Reauthorize ended
// ("revoked: account \"bob\" is disabled"); accounting reports it as
// Admin-Reset.
const CauseRevoked = "revoked"

// ReauthorizeReport counts what one Reauthorize did.
type ReauthorizeReport struct {
	Checked int // sessions past authentication that were asked about
	Revoked int // ended: refused now
	Updated int // kept, with another firewall policy
	Errors  int // kept: the function could not decide
}

// reauthorizeWorkers bounds the functions running at once: each may ask a
// directory.
const reauthorizeWorkers = 8

// Reauthorize asks fn about every session whose login was accepted, with
// that login's Result (keys removed), and applies the answers (fn returns
// what Config.Authorize would for a login now): a session
// refused now ends the way Kill ends one (LCP Terminate-Request,
// Call-Disconnect-Notify, accounting Stop) with the cause
// "revoked: <reason>"; an allowed one gets the answer's firewall policy at
// once (the next packet it sends is filtered by it). A session fn cannot
// decide (an error: its directory is down) keeps running as it was; the
// caller asks again later. Reauthorize returns when every answer is
// applied.
//
// A login being decided while Reauthorize runs is not asked about; it was
// authorized with the configuration and directory of its own moment.
func (g *Gateway) Reauthorize(fn func(res *authpolicy.Result) (Authorization, error)) ReauthorizeReport {
	g.calls.RLock()
	cs := make([]*call, 0, len(g.calls.byID))
	for _, c := range g.calls.byID {
		if c.login.Load() != nil {
			cs = append(cs, c)
		}
	}
	g.calls.RUnlock()

	var (
		mu  sync.Mutex
		rep = ReauthorizeReport{Checked: len(cs)}
		wg  sync.WaitGroup
	)
	work := make(chan *call)
	for range min(reauthorizeWorkers, len(cs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				revoked, updated, err := c.reauthorize(fn)
				mu.Lock()
				switch {
				case err != nil:
					rep.Errors++
				case revoked:
					rep.Revoked++
				case updated:
					rep.Updated++
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range cs {
		work <- c
	}
	close(work)
	wg.Wait()
	return rep
}

// reauthorize applies fn's verdict to c.
func (c *call) reauthorize(fn func(res *authpolicy.Result) (Authorization, error)) (revoked, updated bool, err error) {
	res := c.login.Load()
	a, err := fn(res)
	if err != nil {
		c.log.Warn("cannot re-check the session; it keeps its access until the next check",
			slog.String("user", res.User), slog.Any("err", err))
		return false, false, err
	}
	if !a.Allowed {
		c.killed.Store(true)
		c.log.Info("pptp session revoked", slog.String("user", res.User), slog.String("reason", a.Reason))
		c.s.Close(CauseRevoked + ": " + a.Reason)
		return true, false, nil
	}
	old := c.filter.Swap(a.Filter)
	c.auth.Lock()
	changed := c.auth.filterSource != a.FilterSource || !reflect.DeepEqual(old, a.Filter)
	c.auth.filterSource = a.FilterSource
	c.auth.Unlock()
	if changed {
		c.log.Info("firewall policy changed", slog.String("user", res.User), slog.String("firewall", a.FilterSource))
	}
	return false, changed, nil
}

// Change is what a RADIUS CoA-Request (RFC 5176) asks of a running
// session; a zero field leaves that part as it is.
type Change struct {
	// Filter, when FilterSource is set, is the session's new firewall
	// policy (nil allows everything).
	Filter       *firewall.Policy
	FilterSource string
	// SessionTimeout ends the session that long from now, replacing any
	// timeout it had; IdleTimeout replaces its idle timeout.
	SessionTimeout, IdleTimeout time.Duration
}

// Change applies ch to session id at once.
func (g *Gateway) Change(id string, ch Change) error {
	c := g.lookupSession(id)
	if c == nil {
		return fmt.Errorf("session %q: %w", id, ErrNoSession)
	}
	attrs := []slog.Attr{slog.String("user", c.s.Info().User)}
	if ch.FilterSource != "" {
		c.filter.Store(ch.Filter)
		c.auth.Lock()
		c.auth.filterSource = ch.FilterSource
		c.auth.Unlock()
		attrs = append(attrs, slog.String("firewall", ch.FilterSource))
	}
	if ch.SessionTimeout > 0 {
		c.setSessionTimeout(ch.SessionTimeout)
		attrs = append(attrs, slog.Duration("session_timeout", ch.SessionTimeout))
	}
	if ch.IdleTimeout > 0 {
		c.auth.Lock()
		c.auth.idle = ch.IdleTimeout
		c.auth.Unlock()
		attrs = append(attrs, slog.Duration("idle_timeout", ch.IdleTimeout))
	}
	c.log.LogAttrs(context.Background(), slog.LevelInfo, "session changed", attrs...)
	return nil
}
