// Package radload is a small RADIUS load generator: closed-loop workers,
// each with its own UDP socket, send Access-Requests built fresh for every
// send (new Identifier, Request Authenticator, User-Password and
// Message-Authenticator, so that no server may answer from a duplicate
// cache) and wait for the answer. It reports requests per second and
// latency percentiles. Gatehouse's side-by-side benchmark sends the same
// requests, the same way, to Gatehouse's front door and to FreeRADIUS.
package radload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
)

// Login is one user's request template.
type Login struct {
	User string
	// Password for PAP; MSCHAPv2 (when set) is sent instead.
	Password string
	// MSCHAPv2 holds MS-CHAP-Challenge (16 octets) and MS-CHAP2-Response
	// (50 octets), fixed per user: only the RADIUS envelope changes.
	MSCHAPv2 *[2][]byte
}

// Config is one run.
type Config struct {
	Addr     string
	Secret   []byte
	Logins   []Login
	Requests int // total
	Parallel int
	Timeout  time.Duration // per request [2s]
	// Source, when valid, is the address the workers send from (a second
	// NAS on 127.0.0.2, say).
	Source netip.Addr
}

// Result of a run.
type Result struct {
	Requests, Accepts, Rejects, Lost int
	Elapsed                          time.Duration
	P50, P99                         time.Duration
}

// RPS is answered requests per second.
func (r Result) RPS() float64 { return float64(r.Accepts+r.Rejects) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %.2fs: %.0f req/s, p50 %v, p99 %v (accept %d, reject %d, lost %d)",
		r.Requests, r.Elapsed.Seconds(), r.RPS(), r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Accepts, r.Rejects, r.Lost)
}

// Request builds one wire request for l.
func Request(l Login, secret []byte) ([]byte, error) {
	p := &lr.Packet{}
	if err := rfc2865.UserName_SetString(p, l.User); err != nil {
		return nil, err
	}
	req := &radclient.Request{Code: lr.CodeAccessRequest}
	if l.MSCHAPv2 != nil {
		p.Add(rfc2865.VendorSpecific_Type, rfc2548.VSA(rfc2548.TypeCHAPChallenge, l.MSCHAPv2[0]))
		p.Add(rfc2865.VendorSpecific_Type, rfc2548.VSA(rfc2548.TypeCHAP2Response, l.MSCHAPv2[1]))
	} else {
		req.UserPassword = []byte(l.Password)
	}
	req.Attributes = p.Attributes
	b, _, err := radclient.Encode(req, secret)
	return b, err
}

// Run sends cfg.Requests requests with cfg.Parallel workers.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if len(cfg.Logins) == 0 {
		return Result{}, errors.New("no logins")
	}
	var next atomic.Int64
	var mu sync.Mutex
	var res Result
	var lat []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Parallel)
	start := time.Now()
	for range cfg.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{}
			if cfg.Source.IsValid() {
				d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.Source, 0))
			}
			conn, err := d.Dial("udp", cfg.Addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			buf := make([]byte, lr.MaxPacketLength)
			var mine []time.Duration
			var acc, rej, lost int
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= cfg.Requests {
					break
				}
				req, err := Request(cfg.Logins[i%len(cfg.Logins)], cfg.Secret)
				if err != nil {
					errs <- err
					return
				}
				t0 := time.Now()
				_, _ = conn.Write(req)
				_ = conn.SetReadDeadline(t0.Add(cfg.Timeout))
				for {
					n, err := conn.Read(buf)
					if err != nil {
						lost++
						break
					}
					if n < 20 || buf[1] != req[1] || !lr.IsAuthenticResponse(buf[:n], req, cfg.Secret) {
						continue // a late answer to an earlier request
					}
					mine = append(mine, time.Since(t0))
					if lr.Code(buf[0]) == lr.CodeAccessAccept {
						acc++
					} else {
						rej++
					}
					break
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Accepts += acc
			res.Rejects += rej
			res.Lost += lost
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.Requests = res.Accepts + res.Rejects + res.Lost
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50 = lat[len(lat)/2]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res, nil
}
