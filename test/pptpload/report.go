package pptpload

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is what a run measured. Its JSON form is the tool's -json
// output.
type Report struct {
	Mode     string `json:"mode"` // "pptp" or "tun-echo"
	Server   string `json:"server,omitempty"`
	Sources  int    `json:"sources,omitempty"`
	Sessions int    `json:"sessions"` // asked for
	// Established is how many reached the data phase; Failures counts
	// the others by reason.
	Established     int            `json:"established"`
	Failures        map[string]int `json:"failures"`
	SetupSeconds    float64        `json:"setup_seconds"`
	SetupsPerSecond float64        `json:"setups_per_second"`
	SetupLatency    Percentiles    `json:"setup_latency_ms"`
	// MPPESend and MPPERecv are the modes the first session agreed.
	MPPESend string `json:"mppe_send,omitempty"`
	MPPERecv string `json:"mppe_recv,omitempty"`

	Traffic *TrafficReport `json:"traffic,omitempty"`
	// Storm is the set-up storm (Config.Storm) and what the established
	// sessions' traffic lost before, during and after it.
	Storm *StormReport `json:"storm,omitempty"`
	Hold  *HoldReport  `json:"hold,omitempty"`
	// ServerBefore is the server process before the first set-up,
	// ServerIdle with every session set up and idle; PerSession the
	// difference divided by Established.
	ServerBefore *ServerStats `json:"server_before,omitempty"`
	ServerIdle   *ServerStats `json:"server_idle,omitempty"`
	PerSession   *ServerStats `json:"per_session,omitempty"`
}

// Percentiles of a latency, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// TrafficReport is the data phase: each direction's flow.
type TrafficReport struct {
	Kind      string  `json:"kind"`      // "udp" or "icmp"
	Direction string  `json:"direction"` // "up", "down" or "both"
	Size      int     `json:"size"`      // IPv4 packet octets
	Seconds   float64 `json:"seconds"`
	// Up is client to server, Down server to client (udp); Echo counts
	// the Echo Requests sent and the Echo Replies received (icmp).
	Up   *Flow `json:"up,omitempty"`
	Down *Flow `json:"down,omitempty"`
	Echo *Flow `json:"echo,omitempty"`
	// ServerCPU is the server process's CPU time (user and system, from
	// /proc/PID/stat) while the traffic ran, when ServerPID was given;
	// ServerCPUPerPacket is it divided by the packets received both
	// ways, in microseconds, and ServerPPSPerCore the packets a second
	// one core of the server would forward at that cost: what the
	// server could do were the tool not sharing its cores.
	ServerCPUSeconds   float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPerPacket float64 `json:"server_cpu_per_packet_us,omitempty"`
	ServerPPSPerCore   float64 `json:"server_pps_per_core,omitempty"`
}

// setServerCPU fills the server CPU figures from the CPU seconds spent.
func (t *TrafficReport) setServerCPU(seconds float64) {
	var pkts uint64
	for _, f := range []*Flow{t.Up, t.Down, t.Echo} {
		if f != nil {
			pkts += f.Received
		}
	}
	t.ServerCPUSeconds = seconds
	if pkts > 0 && seconds > 0 {
		t.ServerCPUPerPacket = seconds / float64(pkts) * 1e6
		t.ServerPPSPerCore = 1e6 / t.ServerCPUPerPacket
	}
}

// Flow is one direction of traffic.
type Flow struct {
	Sent     uint64  `json:"sent"`
	Received uint64  `json:"received"`
	Dropped  uint64  `json:"dropped"`
	PPS      float64 `json:"pps"` // received per second
	Mbps     float64 `json:"mbps"`
}

// HoldReport is the idle phase after set-up.
type HoldReport struct {
	Seconds           float64 `json:"seconds"`
	Alive             int     `json:"alive"`
	LCPEchoesAnswered uint64  `json:"lcp_echoes_answered"`
	// ControlEchoesAnswered counts the control connections' Echo-Requests
	// (PPTP's keep-alive, pptp.echo_interval on Gatehouse) answered.
	ControlEchoesAnswered uint64 `json:"control_echoes_answered"`
}

// ServerStats are the server process's resident memory, threads and
// (through its metrics) goroutines and PPTP sessions (Gatehouse's
// gatehouse_pptp_sessions: calls set up, established or not).
type ServerStats struct {
	RSSBytes   float64 `json:"rss_bytes"`
	Threads    float64 `json:"threads,omitempty"`
	Goroutines float64 `json:"goroutines,omitempty"`
	Sessions   float64 `json:"sessions,omitempty"`
}

// NewFlow makes a flow's figures from its counts over seconds.
func NewFlow(sent, received uint64, size int, seconds float64) *Flow {
	f := &Flow{Sent: sent, Received: received}
	if sent > received {
		f.Dropped = sent - received
	}
	if seconds > 0 {
		f.PPS = float64(received) / seconds
		f.Mbps = f.PPS * float64(size) * 8 / 1e6
	}
	return f
}

// PercentilesOf returns the nearest-rank percentiles of ds (sorted in
// place).
func PercentilesOf(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Percentiles{P50: ms(nearestRank(ds, 50)), P90: ms(nearestRank(ds, 90)), P99: ms(nearestRank(ds, 99)), Max: ms(ds[len(ds)-1])}
}

// nearestRank is the p-th percentile of sorted ds: the smallest value
// with at least p% of the values at or below it.
func nearestRank(ds []time.Duration, p float64) time.Duration {
	i := int(float64(len(ds))*p/100+0.999999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "mode %s", r.Mode)
	if r.Server != "" {
		fmt.Fprintf(w, ", server %s from %d source addresses", r.Server, r.Sources)
	}
	fmt.Fprintln(w)
	if r.Mode != "tun-echo" {
		fmt.Fprintf(w, "sessions: %d of %d set up in %.2fs: %.0f/s; MPPE send %s, receive %s\n",
			r.Established, r.Sessions, r.SetupSeconds, r.SetupsPerSecond, r.MPPESend, r.MPPERecv)
		fmt.Fprintf(w, "setup latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			r.SetupLatency.P50, r.SetupLatency.P90, r.SetupLatency.P99, r.SetupLatency.Max)
		if len(r.Failures) > 0 {
			fmt.Fprintf(w, "failures: %s\n", formatFailures(r.Failures))
		}
	}
	if t := r.Traffic; t != nil {
		fmt.Fprintf(w, "traffic %s %s, %d-octet packets, %.1fs:\n", t.Kind, t.Direction, t.Size, t.Seconds)
		for _, f := range []struct {
			name string
			f    *Flow
		}{{"up", t.Up}, {"down", t.Down}, {"echo", t.Echo}} {
			if f.f != nil {
				fmt.Fprintf(w, "  %-4s sent %d, received %d, dropped %d: %.0f packets/s, %.1f Mbit/s\n",
					f.name, f.f.Sent, f.f.Received, f.f.Dropped, f.f.PPS, f.f.Mbps)
			}
		}
		if t.ServerCPUSeconds > 0 {
			fmt.Fprintf(w, "  server CPU %.2fs: %.1f µs a packet, %.0f packets/s a core\n",
				t.ServerCPUSeconds, t.ServerCPUPerPacket, t.ServerPPSPerCore)
		}
	}
	if s := r.Storm; s != nil {
		s.writeText(w, r.Established)
	}
	if h := r.Hold; h != nil {
		fmt.Fprintf(w, "hold %.1fs: %d sessions alive, %d LCP and %d control connection echoes answered\n", h.Seconds, h.Alive, h.LCPEchoesAnswered, h.ControlEchoesAnswered)
	}
	if s := r.ServerIdle; s != nil {
		fmt.Fprintf(w, "server with the sessions idle: RSS %.1f MiB, %.0f threads, %.0f goroutines\n", s.RSSBytes/(1<<20), s.Threads, s.Goroutines)
	}
	if p := r.PerSession; p != nil {
		fmt.Fprintf(w, "per session: RSS %.1f KiB, %.2f goroutines\n", p.RSSBytes/1024, p.Goroutines)
	}
}

// formatFailures lists failures by reason, in the reasons' order.
func formatFailures(f map[string]int) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, f[k]))
	}
	return strings.Join(parts, ", ")
}
