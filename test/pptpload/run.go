package pptpload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Credential is one user's name and password; sessions cycle through
// them.
type Credential struct{ User, Password string }

// Config is one run of the load generator.
type Config struct {
	// Mode is "pptp" (default) or "tun-echo" (no server: the plain TUN
	// limit, see TUNEcho).
	Mode string
	// Server is the PPTP server's address and control port.
	Server netip.AddrPort
	// Sources are the local addresses the control connections and GRE
	// sockets bind to, in turn.
	Sources []netip.Addr
	// Sessions to set up, Rate set-ups a second (0: as fast as
	// Concurrency allows), at most Concurrency in progress at once,
	// CallsPerConn calls on each control connection.
	Sessions, CallsPerConn, Concurrency int
	Rate                                float64
	Users                               []Credential
	Stateful                            bool
	// SetupTimeout bounds one session's set-up (default 30s).
	SetupTimeout time.Duration

	// Traffic is "udp", "icmp" or "" (none); Direction "up", "down" or
	// "both" (udp only: icmp is always both); Size the IPv4 packet size;
	// PPS the packets a second of each direction, all sessions together
	// (0: as fast as the sender goes); Duration how long.
	Traffic, Direction string
	Size               int
	PPS                float64
	Duration           time.Duration
	// Target is the Sink's address for udp and the Echo Requests'
	// destination for icmp; default: the server's IPCP address. Port is
	// the Sink's UDP port (default 5001).
	Target netip.Addr
	Port   uint16
	// TUNName is the tun-echo mode's device (default ghecho0).
	TUNName string

	// Hold keeps the sessions up, idle, answering LCP echoes, this long
	// after the traffic.
	Hold time.Duration

	// Storm, above 0, makes the run a set-up storm (see StormReport):
	// once the Sessions are up and carry udp traffic (PPS each way, all
	// together; Duration is not used), Storm set-ups are fired at once
	// from StormSources (default Sources), StormCallsPerConn calls on
	// each control connection (default 10); the traffic's loss is
	// measured for StormWindow (default 5s) before the storm, during it
	// and for StormWindow after it.
	Storm             int
	StormSources      []netip.Addr
	StormCallsPerConn int
	StormWindow       time.Duration

	// ServerPID and MetricsURL, when given, let the report show the
	// server's memory, threads and goroutines.
	ServerPID  int
	MetricsURL string

	// Progress, when not nil, gets a status line every second.
	Progress io.Writer
	Logger   *slog.Logger
}

func (c *Config) defaults() {
	if c.Mode == "" {
		c.Mode = "pptp"
	}
	if c.CallsPerConn < 1 {
		c.CallsPerConn = 1
	}
	if c.Concurrency < 1 {
		c.Concurrency = 256
	}
	if c.SetupTimeout == 0 {
		c.SetupTimeout = 30 * time.Second
	}
	if c.Size == 0 {
		c.Size = 1400
	}
	if c.Port == 0 {
		c.Port = 5001
	}
	if c.Direction == "" {
		c.Direction = "both"
	}
	if c.TUNName == "" {
		c.TUNName = "ghecho0"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Storm > 0 {
		if len(c.StormSources) == 0 {
			c.StormSources = c.Sources
		}
		if c.StormCallsPerConn < 1 {
			c.StormCallsPerConn = 10
		}
		if c.StormWindow == 0 {
			c.StormWindow = 5 * time.Second
		}
		if c.Traffic == "" {
			c.Traffic = "udp"
		}
	}
}

// Validate says what is wrong with c.
func (c *Config) Validate() error {
	c.defaults()
	var errs []error
	switch c.Mode {
	case "pptp":
		if !c.Server.Addr().Is4() {
			errs = append(errs, errors.New("-server: an IPv4 address is required"))
		}
		if len(c.Sources) == 0 {
			errs = append(errs, errors.New("-sources: at least one local address"))
		}
		if c.Sessions < 1 {
			errs = append(errs, errors.New("-sessions: at least 1"))
		}
		if len(c.Users) == 0 {
			errs = append(errs, errors.New("-user and -password, or -users: who logs in"))
		}
	case "tun-echo":
		if c.Traffic != "udp" {
			errs = append(errs, errors.New("-mode tun-echo: -traffic udp only"))
		}
		if c.Duration <= 0 {
			errs = append(errs, errors.New("-mode tun-echo: -duration is required"))
		}
	default:
		errs = append(errs, fmt.Errorf("-mode %q: pptp or tun-echo", c.Mode))
	}
	switch c.Traffic {
	case "", "udp", "icmp":
	default:
		errs = append(errs, fmt.Errorf("-traffic %q: udp, icmp or none", c.Traffic))
	}
	switch c.Direction {
	case "up", "down", "both":
	default:
		errs = append(errs, fmt.Errorf("-direction %q: up, down or both", c.Direction))
	}
	if c.Size < ipv4HeaderLen+udpHeaderLen || c.Size > 1500 {
		errs = append(errs, fmt.Errorf("-size %d: from %d to 1500", c.Size, ipv4HeaderLen+udpHeaderLen))
	}
	if c.Storm > 0 {
		switch {
		case c.Mode != "pptp":
			errs = append(errs, errors.New("-storm: -mode pptp only"))
		case c.Traffic != "udp":
			errs = append(errs, errors.New("-storm: -traffic udp only (the windows are marked in the datagrams)"))
		case c.Duration > 0:
			errs = append(errs, errors.New("-storm: -duration is not used; -storm-window sets the windows before and after the storm"))
		case c.Size <= ipv4HeaderLen+udpHeaderLen:
			errs = append(errs, fmt.Errorf("-storm: -size above %d (the payload carries the window)", ipv4HeaderLen+udpHeaderLen))
		case c.StormWindow < 0:
			errs = append(errs, errors.New("-storm-window: not negative"))
		}
	}
	return errors.Join(errs...)
}

// run is the state of one Run.
type run struct {
	cfg      Config
	ctx      context.Context
	socks    map[netip.Addr]*GRESocket
	conns    []*lazyControl
	mu       sync.Mutex
	sessions []*Session // established, in set-up order
	lat      []time.Duration
	fails    map[string]int
	started  atomic.Int64
	ended    atomic.Int64
	upSent   atomic.Uint64
	downSent atomic.Uint64
	upRecv   func() uint64
	downRecv func() uint64
}

type lazyControl struct {
	once sync.Once
	c    *Control
	err  error
}

// Run runs the load generator as cfg says and reports what it measured.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, ctx: ctx, socks: map[netip.Addr]*GRESocket{}, fails: map[string]int{}}
	if cfg.Mode == "tun-echo" {
		return r.tunEcho()
	}
	return r.pptp()
}

func (r *run) pptp() (*Report, error) {
	cfg := &r.cfg
	rep := &Report{Mode: "pptp", Server: cfg.Server.String(), Sources: len(cfg.Sources), Sessions: cfg.Sessions}
	for _, a := range cfg.Sources {
		g, err := OpenGRE(a, cfg.Server.Addr())
		if err != nil {
			r.closeAll()
			return nil, err
		}
		r.socks[a] = g
	}
	defer r.closeAll()
	r.conns = make([]*lazyControl, (cfg.Sessions+cfg.CallsPerConn-1)/cfg.CallsPerConn)
	for i := range r.conns {
		r.conns[i] = &lazyControl{}
	}
	if cfg.ServerPID > 0 || cfg.MetricsURL != "" {
		rep.ServerBefore, _ = ReadServerStats(r.ctx, cfg.ServerPID, cfg.MetricsURL)
	}
	stopProgress := r.progress("setup")
	t0 := time.Now()
	r.setupAll()
	rep.SetupSeconds = time.Since(t0).Seconds()
	stopProgress()

	rep.Established = len(r.sessions)
	rep.Failures = r.fails
	if rep.SetupSeconds > 0 {
		rep.SetupsPerSecond = float64(rep.Established) / rep.SetupSeconds
	}
	rep.SetupLatency = PercentilesOf(r.lat)
	if len(r.sessions) > 0 {
		rep.MPPESend, rep.MPPERecv = r.sessions[0].MPPEModes()
	}
	if rep.ServerBefore != nil {
		time.Sleep(500 * time.Millisecond) // let the last set-ups settle
		rep.ServerIdle, _ = ReadServerStats(r.ctx, cfg.ServerPID, cfg.MetricsURL)
		if rep.ServerIdle != nil && rep.Established > 0 {
			n := float64(rep.Established)
			rep.PerSession = &ServerStats{RSSBytes: (rep.ServerIdle.RSSBytes - rep.ServerBefore.RSSBytes) / n,
				Threads: (rep.ServerIdle.Threads - rep.ServerBefore.Threads) / n, Goroutines: (rep.ServerIdle.Goroutines - rep.ServerBefore.Goroutines) / n}
		}
	}
	if cfg.Storm > 0 && len(r.sessions) > 0 {
		st, err := r.storm()
		if err != nil {
			return rep, err
		}
		rep.Storm = st
	}
	if cfg.Traffic != "" && cfg.Duration > 0 && len(r.sessions) > 0 {
		t, err := r.pptpTraffic()
		if err != nil {
			return rep, err
		}
		rep.Traffic = t
	}
	if cfg.Hold > 0 && len(r.sessions) > 0 {
		rep.Hold = r.hold()
	}
	return rep, nil
}

// setupAll sets up cfg.Sessions sessions at cfg.Rate, at most
// cfg.Concurrency at a time.
func (r *run) setupAll() {
	cfg := &r.cfg
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	p := NewPacer(cfg.Rate, time.Now(), 1)
	for i := 0; i < cfg.Sessions; {
		if r.ctx.Err() != nil {
			break
		}
		if d := p.Wait(time.Now()); d > 0 {
			time.Sleep(d)
			continue
		}
		if p.Due(time.Now()) == 0 {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, begun time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := r.setup(i)
			r.mu.Lock()
			defer r.mu.Unlock()
			r.ended.Add(1)
			if err != nil {
				reason := "error"
				var se *SetupError
				if errors.As(err, &se) {
					reason = se.Reason
				}
				r.fails[reason]++
				r.cfg.Logger.Debug("session set-up failed", "session", i, "err", err)
				return
			}
			r.lat = append(r.lat, time.Since(begun))
			r.sessions = append(r.sessions, s)
		}(i, time.Now())
		r.started.Add(1)
		i++
	}
	wg.Wait()
}

// setup sets up session i: its control connection (the first call of
// each dials it), its call, and its PPP, up to the data phase.
func (r *run) setup(i int) (*Session, error) {
	cfg := &r.cfg
	ci := i / cfg.CallsPerConn
	src := cfg.Sources[ci%len(cfg.Sources)]
	lc := r.conns[ci]
	lc.once.Do(func() { lc.c, lc.err = DialControl(r.ctx, src, cfg.Server, cfg.SetupTimeout) })
	if lc.err != nil {
		return nil, lc.err
	}
	u := cfg.Users[i%len(cfg.Users)]
	s, err := r.socks[src].register(SessionOptions{User: u.User, Password: u.Password, Stateful: cfg.Stateful})
	if err != nil {
		return nil, &SetupError{Reason: ReasonNoCallID, Err: err}
	}
	if err := lc.c.Call(r.ctx, s, cfg.SetupTimeout); err != nil {
		s.Stop()
		return nil, err
	}
	t := time.NewTimer(cfg.SetupTimeout)
	defer t.Stop()
	select {
	case <-s.Ready():
		return s, nil
	case <-s.Done():
		s.Stop()
		return nil, &SetupError{Reason: s.Reason(), Err: errors.New("session ended before the data phase")}
	case <-t.C:
		s.Stop()
		return nil, &SetupError{Reason: ReasonTimeout, Err: fmt.Errorf("no data phase within %v", cfg.SetupTimeout)}
	case <-r.ctx.Done():
		s.Stop()
		return nil, &SetupError{Reason: ReasonTimeout, Err: r.ctx.Err()}
	}
}

// pptpTraffic runs the data phase over the established sessions.
func (r *run) pptpTraffic() (*TrafficReport, error) {
	cfg := &r.cfg
	_, peer := r.sessions[0].Addresses()
	target := cfg.Target
	if !target.IsValid() {
		target = peer
	}
	size := cfg.Size
	tr := &TrafficReport{Kind: cfg.Traffic, Direction: cfg.Direction, Size: size}
	var senders []func(n int) int
	switch cfg.Traffic {
	case "icmp":
		tr.Direction = "both"
		var seq atomic.Uint32
		next := 0
		senders = append(senders, func(n int) int {
			sent := 0
			for range n {
				s := r.sessions[next%len(r.sessions)]
				next++
				q := uint16(seq.Add(1))
				if s.SendIP(size, func(ip []byte, local, _ netip.Addr, _ uint16) { PutEchoRequest(ip, local, target, s.CallID, q) }) {
					sent++
				}
			}
			r.upSent.Add(uint64(sent))
			return sent
		})
		r.upRecv = func() uint64 { return r.sum(func(s *Session) uint64 { return s.RxEchoReplies.Load() }) }
	case "udp":
		sink, err := ListenSink(netip.AddrPortFrom(target, cfg.Port))
		if err != nil {
			return nil, err
		}
		defer sink.Close()
		if cfg.Direction != "down" {
			next := 0
			senders = append(senders, func(n int) int {
				sent := 0
				for range n {
					s := r.sessions[next%len(r.sessions)]
					next++
					if s.SendIP(size, func(ip []byte, local, _ netip.Addr, id uint16) { PutUDP(ip, local, target, cfg.Port, id) }) {
						sent++
					}
				}
				r.upSent.Add(uint64(sent))
				return sent
			})
			r.upRecv = sink.Received.Load
		}
		if cfg.Direction != "up" {
			send, _ := r.downSender(sink, size)
			senders = append(senders, func(n int) int {
				sent := send(n)
				r.downSent.Add(uint64(sent))
				return sent
			})
			r.downRecv = func() uint64 { return r.sum(func(s *Session) uint64 { return s.RxUDP.Load() }) }
		}
	}
	var cpu0 float64
	if cfg.ServerPID > 0 {
		cpu0, _ = ServerCPU(cfg.ServerPID)
	}
	tr.Seconds = r.drive(senders)
	var cpu1 float64
	if cfg.ServerPID > 0 {
		cpu1, _ = ServerCPU(cfg.ServerPID)
	}
	if r.upRecv != nil {
		tr.Up = NewFlow(r.upSent.Load(), r.upRecv(), size, tr.Seconds)
	}
	if r.downRecv != nil {
		tr.Down = NewFlow(r.downSent.Load(), r.downRecv(), size, tr.Seconds)
	}
	if cfg.Traffic == "icmp" {
		tr.Up = nil
		tr.Echo = NewFlow(r.upSent.Load(), r.upRecv(), size, tr.Seconds)
	}
	if cfg.ServerPID > 0 && cpu1 > cpu0 {
		tr.setServerCPU(cpu1 - cpu0)
	}
	return tr, nil
}

// downSender returns the sender of the down direction: n UDP datagrams
// of an IPv4 size of size from the sink, one to each session's address
// in turn. Its payload is returned too, for a caller that marks it.
func (r *run) downSender(sink *Sink, size int) (send func(n int) int, payload []byte) {
	to := make([]netip.AddrPort, len(r.sessions))
	for i, s := range r.sessions {
		a, _ := s.Addresses()
		to[i] = netip.AddrPortFrom(a, r.cfg.Port)
	}
	payload = make([]byte, size-ipv4HeaderLen-udpHeaderLen)
	next := 0
	return func(n int) int {
		sent := 0
		for range n {
			if sink.Send(payload, to[next%len(to)]) {
				sent++
			}
			next++
		}
		return sent
	}, payload
}

// drive runs each sender in its own goroutine for cfg.Duration, paced at
// cfg.PPS, then waits a moment for the packets in flight; it returns the
// seconds of sending.
func (r *run) drive(senders []func(n int) int) float64 {
	cfg := &r.cfg
	stopProgress := r.progress("traffic")
	defer stopProgress()
	start := time.Now()
	end := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for _, send := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewPacer(cfg.PPS, start, 64)
			for now := time.Now(); now.Before(end) && r.ctx.Err() == nil; now = time.Now() {
				if n := p.Due(now); n > 0 {
					send(n)
					continue
				}
				time.Sleep(min(p.Wait(now), time.Millisecond))
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	r.drain()
	return secs
}

// drain waits for the packets in flight: until the received counts
// stand still for half a second, at most 5 s. A busy server may hold a
// backlog in its socket buffers that it has not lost.
func (r *run) drain() {
	received := func() uint64 {
		var n uint64
		for _, f := range []func() uint64{r.upRecv, r.downRecv} {
			if f != nil {
				n += f()
			}
		}
		return n
	}
	last, still := received(), 0
	for deadline := time.Now().Add(5 * time.Second); still < 2 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		if n := received(); n != last {
			last, still = n, 0
		} else {
			still++
		}
	}
}

func (r *run) sum(f func(*Session) uint64) uint64 {
	var n uint64
	for _, s := range r.sessions {
		n += f(s)
	}
	return n
}

// hold keeps the sessions idle for cfg.Hold and counts those still up.
func (r *run) hold() *HoldReport {
	stop := r.progress("hold")
	t0 := time.Now()
	select {
	case <-time.After(r.cfg.Hold):
	case <-r.ctx.Done():
	}
	stop()
	h := &HoldReport{Seconds: time.Since(t0).Seconds()}
	for _, s := range r.sessions {
		select {
		case <-s.Done():
		default:
			h.Alive++
		}
		h.LCPEchoesAnswered += s.LCPEchoesAnswered.Load()
	}
	for _, lc := range r.conns {
		if lc.c != nil {
			h.ControlEchoesAnswered += lc.c.EchoesAnswered.Load()
		}
	}
	return h
}

// progress prints a status line every second until the returned
// function is called.
func (r *run) progress(phase string) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		t0 := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			r.mu.Lock()
			ok, failed := len(r.sessions), 0
			for _, n := range r.fails {
				failed += n
			}
			r.mu.Unlock()
			line := fmt.Sprintf("%s %4.0fs: sessions %d up, %d failed, %d in progress", phase, time.Since(t0).Seconds(),
				ok, failed, r.started.Load()-r.ended.Load())
			if phase == "traffic" {
				line += fmt.Sprintf("; sent up %d down %d", r.upSent.Load(), r.downSent.Load())
				if r.upRecv != nil {
					line += fmt.Sprintf(", received up %d", r.upRecv())
				}
				if r.downRecv != nil {
					line += fmt.Sprintf(", down %d", r.downRecv())
				}
			}
			fmt.Fprintln(r.cfg.Progress, line)
		}
	}()
	return func() { close(done); wg.Wait() }
}

// closeAll tears the sessions, control connections and sockets down.
func (r *run) closeAll() {
	r.closeCalls()
	for _, g := range r.socks {
		g.Close()
	}
}

// closeCalls tears the sessions and control connections down.
func (r *run) closeCalls() {
	for _, s := range r.sessions {
		s.Stop()
	}
	for _, lc := range r.conns {
		if lc.c != nil {
			lc.c.Close()
		}
	}
}

// tunEcho measures the plain TUN limit (see TUNEcho) with the same
// traffic settings.
func (r *run) tunEcho() (*Report, error) {
	cfg := &r.cfg
	e, err := OpenTUNEcho(cfg.TUNName)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	sink, err := ListenSink(netip.AddrPortFrom(e.Local, cfg.Port))
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	size := cfg.Size
	tr := &TrafficReport{Kind: "udp", Direction: cfg.Direction, Size: size}
	var senders []func(n int) int
	if cfg.Direction != "down" {
		ip := make([]byte, size)
		var id uint16
		senders = append(senders, func(n int) int {
			sent := 0
			for range n {
				id++
				PutUDP(ip, e.Peer, e.Local, cfg.Port, id)
				if e.Write(ip) {
					sent++
				}
			}
			r.upSent.Add(uint64(sent))
			return sent
		})
		r.upRecv = sink.Received.Load
	}
	if cfg.Direction != "up" {
		payload := make([]byte, size-ipv4HeaderLen-udpHeaderLen)
		to := netip.AddrPortFrom(e.Peer, cfg.Port)
		senders = append(senders, func(n int) int {
			sent := 0
			for range n {
				if sink.Send(payload, to) {
					sent++
				}
			}
			r.downSent.Add(uint64(sent))
			return sent
		})
		r.downRecv = e.Received.Load
	}
	tr.Seconds = r.drive(senders)
	if r.upRecv != nil {
		tr.Up = NewFlow(r.upSent.Load(), r.upRecv(), size, tr.Seconds)
	}
	if r.downRecv != nil {
		tr.Down = NewFlow(r.downSent.Load(), r.downRecv(), size, tr.Seconds)
	}
	return &Report{Mode: "tun-echo", Traffic: tr, Failures: map[string]int{}}, nil
}
