package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// pool keeps up to Options.PoolSize idle connections to the directory.
// A connection is made by trying the servers in the order of the url
// option (the first one that connects, completes TLS and accepts the
// service bind wins), so a dead primary is skipped and a restarted one is
// used again by the next new connection.
//
// Two pools serve a back-end: the search pool, whose connections are bound
// as the service account and only ever search, and the bind pool, whose
// connections carry users' binds (each bind replaces the previous one, so
// they are never used for anything else).
type pool struct {
	o       *Options
	service bool // bind as the service account after connecting

	mu     sync.Mutex
	idle   []*ldap.Conn
	closed bool
}

func newPool(o *Options, service bool) *pool { return &pool{o: o, service: service} }

// close closes the idle connections; connections in use are closed when
// they come back.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// get returns an idle connection, or a new one. reused says which.
func (p *pool) get(ctx context.Context) (c *ldap.Conn, reused bool, err error) {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c = p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if !c.IsClosing() {
			return c, true, nil
		}
		c.Close()
	}
	c, err = p.dial(ctx)
	return c, false, err
}

// put returns a connection to the pool; a connection that saw an error
// other than an LDAP result is closed instead.
func (p *pool) put(c *ldap.Conn, err error) {
	if err != nil && !isResult(err) || c.IsClosing() {
		c.Close()
		return
	}
	p.mu.Lock()
	if !p.closed && len(p.idle) < p.o.PoolSize {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// dial connects to the first server that answers.
func (p *pool) dial(ctx context.Context) (*ldap.Conn, error) {
	var errs []error
	for _, u := range p.o.URLs {
		c, err := p.dialOne(ctx, u)
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("no directory server answered: %w", errors.Join(errs...))
}

func (p *pool) dialOne(ctx context.Context, u string) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: p.o.ConnectTO}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	var tc *tls.Config
	if p.o.TLS != nil {
		tc = p.o.TLS.Clone()
		if tc.ServerName == "" {
			if pu, err := url.Parse(u); err == nil {
				tc.ServerName = pu.Hostname()
			}
		}
		opts = append(opts, ldap.DialWithTLSConfig(tc))
	}
	c, err := ldap.DialURL(u, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	c.SetTimeout(opTimeout(ctx, p.o.OpTimeout))
	if p.o.StartTLS && strings.HasPrefix(u, "ldap:") {
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	if p.service && p.o.BindDN != "" {
		if err := c.Bind(p.o.BindDN, p.o.BindPassword.Reveal()); err != nil {
			c.Close()
			return nil, fmt.Errorf("bind as the service account %s: %w", p.o.BindDN, err)
		}
	}
	return c, nil
}

// do runs fn on a connection of the pool, under the operation timeout and
// ctx (a cancelled context closes the connection, which ends fn). A
// network error on a reused connection (the server restarted, an idle
// connection was cut) is retried once on a new connection.
func (p *pool) do(ctx context.Context, fn func(*ldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		c.SetTimeout(opTimeout(ctx, p.o.OpTimeout))
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = fn(c)
		if !stop() {
			// The context ended during fn and closed the connection.
			if err == nil {
				err = ctx.Err()
			} else {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
		}
		p.put(c, err)
		if err != nil && reused && attempt == 0 && !isResult(err) && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// isResult reports whether err is an answer of the server (an LDAP result
// code), as opposed to a failure to talk to it.
func isResult(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork
}

func opTimeout(ctx context.Context, d time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			return max(left, time.Millisecond)
		}
	}
	return d
}
