package pptpload

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// A set-up storm (Config.Storm): the established sessions carry paced
// udp traffic both ways (Config.PPS each way, all of them together)
// while Storm set-ups are fired at once, with no pacing and no bound on
// how many are in flight, from StormSources over control connections of
// StormCallsPerConn calls. The established sessions' loss is measured in
// three windows: before the storm (StormWindow long), during it (from
// the first set-up fired to the last one ended, succeeded or failed) and
// after it (StormWindow long, the storm's sessions still up and idle).
//
// Every datagram carries its window's number in the first octet of its
// UDP payload, and each end counts what it receives by that number, so
// a packet sent in one window and received in the next (held in a queue
// during the storm) counts where it was sent: the loss of a window is
// exact, whatever the queues' delay.

// Window numbers, as the datagrams carry them.
const (
	windowBefore = iota
	windowDuring
	windowAfter
	windows
)

var windowNames = [windows]string{"before", "during", "after"}

// StormReport is the storm: its set-ups, and the established sessions'
// traffic in each window.
type StormReport struct {
	Sessions     int `json:"sessions"` // set-ups fired at once
	Sources      int `json:"sources"`
	CallsPerConn int `json:"calls_per_conn"`
	// Succeeded reached the data phase; Failures counts the others by
	// reason (the server's refusals as "call-refused: RESULT[, ERROR]").
	Succeeded    int            `json:"succeeded"`
	Failures     map[string]int `json:"failures"`
	Seconds      float64        `json:"seconds"` // first fired to last ended
	SetupLatency Percentiles    `json:"setup_latency_ms"`
	// Windows are the established sessions' traffic before, during and
	// after the storm.
	Windows []Window `json:"windows"`
	// EstablishedAlive counts the sessions established before the storm
	// (Report.Established) still up at the end; StormAlive the storm's
	// successes still up at the end.
	EstablishedAlive int `json:"established_alive"`
	StormAlive       int `json:"storm_alive"`
	// ToolSendErrors counts the GRE packets this tool's sockets failed
	// to send during the windows (the kernel refused them: counted as
	// sent, so as lost, in the up flows).
	ToolSendErrors uint64 `json:"tool_send_errors"`
	// ServerBefore is the server just before the storm, ServerAfter at
	// the end of the after window; PeakServerSessions the most PPTP
	// sessions the server's metrics showed, sampled every 100 ms from the
	// storm's start to the end (0 without -metrics).
	ServerBefore       *ServerStats `json:"server_before,omitempty"`
	ServerAfter        *ServerStats `json:"server_after,omitempty"`
	PeakServerSessions float64      `json:"peak_server_sessions,omitempty"`
}

// Window is one window of the established sessions' traffic.
type Window struct {
	Name    string  `json:"name"` // before, during or after
	Seconds float64 `json:"seconds"`
	Up      *Flow   `json:"up,omitempty"`
	Down    *Flow   `json:"down,omitempty"`
}

// LossPercent is the share of the sent packets not received, in percent
// (0 when none was sent).
func (f *Flow) LossPercent() float64 {
	if f == nil || f.Sent == 0 {
		return 0
	}
	return 100 * float64(f.Dropped) / float64(f.Sent)
}

// FailureCount is how many set-ups failed, all reasons together.
func (s *StormReport) FailureCount() int {
	n := 0
	for _, v := range s.Failures {
		n += v
	}
	return n
}

func (s *StormReport) writeText(w io.Writer, established int) {
	fmt.Fprintf(w, "storm: %d set-ups at once from %d source addresses, %d calls per control connection: %d succeeded, %d failed, in %.2fs\n",
		s.Sessions, s.Sources, s.CallsPerConn, s.Succeeded, s.FailureCount(), s.Seconds)
	if len(s.Failures) > 0 {
		fmt.Fprintf(w, "storm failures: %s\n", formatFailures(s.Failures))
	}
	fmt.Fprintf(w, "storm setup latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		s.SetupLatency.P50, s.SetupLatency.P90, s.SetupLatency.P99, s.SetupLatency.Max)
	fmt.Fprintf(w, "established sessions' traffic:\n")
	for _, win := range s.Windows {
		fmt.Fprintf(w, "  %-6s %5.1fs:", win.Name, win.Seconds)
		for _, f := range []struct {
			name string
			f    *Flow
		}{{"up", win.Up}, {"down", win.Down}} {
			if f.f != nil {
				fmt.Fprintf(w, " %s sent %d, lost %d (%.2f%%);", f.name, f.f.Sent, f.f.Dropped, f.f.LossPercent())
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "alive at the end: %d of %d established sessions, %d of %d storm sessions; this tool's GRE send errors %d\n",
		s.EstablishedAlive, established, s.StormAlive, s.Succeeded, s.ToolSendErrors)
	if b, a := s.ServerBefore, s.ServerAfter; b != nil && a != nil {
		fmt.Fprintf(w, "server before the storm: RSS %.1f MiB, %.0f goroutines, %.0f sessions; after: RSS %.1f MiB, %.0f goroutines, %.0f sessions; peak %.0f sessions\n",
			b.RSSBytes/(1<<20), b.Goroutines, b.Sessions, a.RSSBytes/(1<<20), a.Goroutines, a.Sessions, s.PeakServerSessions)
	}
}

// windowCounts are the packets sent and received of one direction, by
// window.
type windowCounts struct {
	sent, received [windows]uint64
}

// windowReport makes the windows' flows from the counts of each
// direction (nil: that direction was not sent).
func windowReport(up, down *windowCounts, seconds [windows]float64, size int) []Window {
	out := make([]Window, windows)
	for i := range out {
		out[i] = Window{Name: windowNames[i], Seconds: seconds[i]}
		if up != nil {
			out[i].Up = NewFlow(up.sent[i], up.received[i], size, seconds[i])
		}
		if down != nil {
			out[i].Down = NewFlow(down.sent[i], down.received[i], size, seconds[i])
		}
	}
	return out
}

// storm runs the storm over r's established sessions (see StormReport).
func (r *run) storm() (*StormReport, error) {
	cfg := &r.cfg
	sr := &StormReport{Sessions: cfg.Storm, Sources: len(cfg.StormSources), CallsPerConn: cfg.StormCallsPerConn, Failures: map[string]int{}}

	// The storm's own run, sharing the GRE sockets: a source's client
	// Call IDs must be unique across both.
	sub := &run{cfg: *cfg, ctx: r.ctx, socks: r.socks, fails: map[string]int{}}
	sub.cfg.Sessions, sub.cfg.Sources, sub.cfg.CallsPerConn = cfg.Storm, cfg.StormSources, cfg.StormCallsPerConn
	sub.cfg.Rate, sub.cfg.Concurrency = 0, cfg.Storm
	for _, a := range cfg.StormSources {
		if r.socks[a] != nil {
			continue
		}
		g, err := OpenGRE(a, cfg.Server.Addr())
		if err != nil {
			return nil, err
		}
		r.socks[a] = g
	}
	sub.conns = make([]*lazyControl, (cfg.Storm+cfg.StormCallsPerConn-1)/cfg.StormCallsPerConn)
	for i := range sub.conns {
		sub.conns[i] = &lazyControl{}
	}
	defer sub.closeCalls()

	_, peer := r.sessions[0].Addresses()
	target := cfg.Target
	if !target.IsValid() {
		target = peer
	}
	sink, err := ListenSink(netip.AddrPortFrom(target, cfg.Port))
	if err != nil {
		return nil, err
	}
	defer sink.Close()

	var (
		mark     atomic.Uint32 // the window being sent
		up, down *windowCounts
		upSent   [windows]atomic.Uint64
		downSent [windows]atomic.Uint64
		senders  []func(n int)
	)
	size := cfg.Size
	if cfg.Direction != "down" {
		up = &windowCounts{}
		next := 0
		senders = append(senders, func(n int) {
			w := byte(mark.Load())
			sent := 0
			for range n {
				s := r.sessions[next%len(r.sessions)]
				next++
				if s.SendIP(size, func(ip []byte, local, _ netip.Addr, id uint16) {
					PutUDP(ip, local, target, cfg.Port, id)
					ip[ipv4HeaderLen+udpHeaderLen] = w
				}) {
					sent++
				}
			}
			upSent[w].Add(uint64(sent))
			r.upSent.Add(uint64(sent))
		})
		r.upRecv = sink.Received.Load
	}
	if cfg.Direction != "up" {
		down = &windowCounts{}
		send, payload := r.downSender(sink, size)
		senders = append(senders, func(n int) {
			w := byte(mark.Load())
			payload[0] = w
			sent := send(n)
			downSent[w].Add(uint64(sent))
			r.downSent.Add(uint64(sent))
		})
		r.downRecv = func() uint64 { return r.sum(func(s *Session) uint64 { return s.RxUDP.Load() }) }
	}

	// The traffic, paced, until stop.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for _, send := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewPacer(cfg.PPS, start, 64)
			for {
				select {
				case <-stop:
					return
				default:
				}
				now := time.Now()
				if n := p.Due(now); n > 0 {
					send(n)
					continue
				}
				time.Sleep(min(p.Wait(now), time.Millisecond))
			}
		}()
	}
	var seconds [windows]float64
	sleep := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-r.ctx.Done():
		}
	}

	sendErrors := func() uint64 {
		var n uint64
		for _, g := range r.socks {
			n += g.SendErrors.Load()
		}
		return n
	}
	errorsBefore := sendErrors()
	stopProgress := r.progress("before the storm")
	t0 := time.Now()
	sleep(cfg.StormWindow)
	stopProgress()
	if cfg.ServerPID > 0 || cfg.MetricsURL != "" {
		sr.ServerBefore, _ = ReadServerStats(r.ctx, cfg.ServerPID, cfg.MetricsURL)
	}
	seconds[windowBefore] = time.Since(t0).Seconds()

	// The storm, while a sampler watches the server's session count.
	mark.Store(windowDuring)
	peakDone := make(chan struct{})
	var peakWG sync.WaitGroup
	if cfg.MetricsURL != "" {
		peakWG.Add(1)
		go func() {
			defer peakWG.Done()
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				if st, err := ReadServerStats(r.ctx, 0, cfg.MetricsURL); err == nil {
					sr.PeakServerSessions = max(sr.PeakServerSessions, st.Sessions)
				}
				select {
				case <-peakDone:
					return
				case <-t.C:
				}
			}
		}()
	}
	stopProgress = sub.progress("storm")
	t1 := time.Now()
	sub.setupAll()
	seconds[windowDuring] = time.Since(t1).Seconds()
	stopProgress()
	mark.Store(windowAfter)
	sr.Seconds = seconds[windowDuring]
	sr.Succeeded = len(sub.sessions)
	sr.Failures = sub.fails
	sr.SetupLatency = PercentilesOf(sub.lat)

	stopProgress = r.progress("after the storm")
	t2 := time.Now()
	sleep(cfg.StormWindow)
	seconds[windowAfter] = time.Since(t2).Seconds()
	stopProgress()
	close(stop)
	wg.Wait()
	sr.ToolSendErrors = sendErrors() - errorsBefore
	close(peakDone)
	peakWG.Wait()
	if cfg.ServerPID > 0 || cfg.MetricsURL != "" {
		sr.ServerAfter, _ = ReadServerStats(r.ctx, cfg.ServerPID, cfg.MetricsURL)
	}
	r.drain()

	for w := range windows {
		if up != nil {
			up.sent[w], up.received[w] = upSent[w].Load(), sink.ReceivedBy[w].Load()
		}
		if down != nil {
			down.sent[w] = downSent[w].Load()
			down.received[w] = r.sum(func(s *Session) uint64 { return s.RxUDPBy[w].Load() })
		}
	}
	sr.Windows = windowReport(up, down, seconds, size)
	sr.EstablishedAlive = alive(r.sessions)
	sr.StormAlive = alive(sub.sessions)
	return sr, nil
}

// alive counts the sessions not ended.
func alive(ss []*Session) int {
	n := 0
	for _, s := range ss {
		select {
		case <-s.Done():
		default:
			n++
		}
	}
	return n
}
