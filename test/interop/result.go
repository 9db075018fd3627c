package interop

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Result is what one client attempt did, as the client saw it.
type Result struct {
	Name   string
	VMAddr netip.Addr // the client VM's own address (PPTP/GRE source)
	Accel  string     // "kvm" or "tcg"

	// Connected: IPCP finished and ip-up ran.
	Connected bool
	// Auth is "ok" (pppd logged that authentication succeeded), "fail",
	// "none" (connected without the server asking), or "unknown".
	Auth string
	// AuthProto is the protocol the client agreed to in LCP: "mschapv2",
	// "mschap", "chap", "pap", "eap", or "" when the server asked for none.
	AuthProto string
	// MPPEBits is 128, 40 (or 56) once CCP came up with MPPE; 0 otherwise.
	MPPEBits  int
	Stateless bool

	LocalIP, RemoteIP netip.Addr // from IPCP
	DNS1, DNS2        netip.Addr // RFC 1877, when the server sent them

	PingTx, PingRx int
	PingAvg        time.Duration

	// ConnectTime is pppd's start to ip-up, measured in the guest.
	ConnectTime time.Duration
	// Held is how long the hold lasted (ClientOptions.Hold).
	Held time.Duration
	// Disconnect: "local" (the client hung up when done), "peer" (the
	// link went down on its own: server hang-up, failure), "killed".
	Disconnect string
	// PeerTermReason is the text of the LCP Terminate-Request the server
	// sent, if it sent one.
	PeerTermReason string
	// Probes are the outcomes of the TCP connects of ClientOptions.Probe,
	// in order, one character each: '+' connected, '-' did not.
	Probes string
	// BytesSent and BytesRcvd are pppd's counters at ip-down.
	BytesSent, BytesRcvd int
	// PPPDExit is pppd's exit status (19 authentication failed, 16 hangup,
	// 5 terminated by the client, ...); -1 when unknown.
	PPPDExit int
	// Reason sums the outcome up in one word, the first that applies:
	// "killed"; "auth_failed"; "ok" (connected, and the client hung up
	// when done); "mppe_failed" (pppd logged "MPPE required ...");
	// "pptp_connect_failed" (no control connection); "connect_timeout";
	// "peer_not_responding" (LCP echoes unanswered); "peer_terminated"
	// (the server sent an LCP Terminate-Request); else from pppd's exit
	// status: "negotiation_failed", "hangup", "idle_timeout",
	// "connect_time_limit", "pppd_exit_N", "unknown".
	Reason string
	Killed bool

	Boot  time.Duration // QEMU start to the guest's init (host clock)
	Total time.Duration // QEMU start to power-off (host clock)

	// Log is the VM's whole serial console: pppd's debug log (every
	// LCP, CHAP, CCP and IPCP packet), pptp's syslog, ping's output and
	// the "@gh" lines (see image/init).
	Log string
	// Err is set when the harness failed: no result from the VM.
	Err error

	finished bool // "@gh result" seen
}

func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%v): reason=%s connected=%v auth=%s", r.Name, r.VMAddr, r.Reason, r.Connected, r.Auth)
	if r.AuthProto != "" {
		fmt.Fprintf(&b, "/%s", r.AuthProto)
	}
	if r.MPPEBits > 0 {
		mode := "stateful"
		if r.Stateless {
			mode = "stateless"
		}
		fmt.Fprintf(&b, " mppe=%d/%s", r.MPPEBits, mode)
	}
	if r.Connected {
		fmt.Fprintf(&b, " ip=%v peer=%v", r.LocalIP, r.RemoteIP)
	}
	if r.PingTx > 0 {
		fmt.Fprintf(&b, " ping=%d/%d", r.PingRx, r.PingTx)
	}
	fmt.Fprintf(&b, " disconnect=%s pppd_exit=%d boot=%.1fs total=%.1fs accel=%s",
		r.Disconnect, r.PPPDExit, r.Boot.Seconds(), r.Total.Seconds(), r.Accel)
	if r.Err != nil {
		fmt.Fprintf(&b, " harness error: %v", r.Err)
	}
	return b.String()
}

// Check compares the outcome with what the options ask for (see
// ClientOptions.ExpectFail); nil when it matches. RunClient reports its
// error; a test that boots clients with StartClient may call it itself.
func (r Result) Check(o ClientOptions) error {
	if o.ExpectFail {
		if r.Connected {
			return fmt.Errorf("connected (%s), but the attempt should have failed", r)
		}
		return nil
	}
	if !r.Connected {
		return fmt.Errorf("did not connect: reason %s, auth %s", r.Reason, r.Auth)
	}
	switch want := o.wantBits(); {
	case want == -1 && r.MPPEBits == 0:
		return fmt.Errorf("connected without MPPE, want MPPE (40 or 128)")
	case want >= 0 && r.MPPEBits != want:
		return fmt.Errorf("MPPE %d bits, want %d", r.MPPEBits, want)
	}
	need := r.PingTx
	if o.MinPingReplies > 0 {
		need = min(o.MinPingReplies, r.PingTx)
	}
	if o.Ping.IsValid() && (r.PingTx == 0 || r.PingRx < need) {
		return fmt.Errorf("ping %v through the tunnel: %d of %d answered", o.Ping, r.PingRx, r.PingTx)
	}
	return nil
}

var (
	reMPPE      = regexp.MustCompile(`MPPE (\d+)-bit (stateless|stateful) compression enabled`)
	reLCPAck    = regexp.MustCompile(`^sent \[LCP ConfAck .*<auth ([^>]*)>`)
	reTermReq   = regexp.MustCompile(`^rcvd \[LCP TermReq id=\S+(?: "(.*)")?`)
	rePingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)
	rePingRTT   = regexp.MustCompile(`= [\d.]+/([\d.]+)/`)
)

// parseResult reads a client VM's console (see image/init for what the
// guest prints) into a Result. Auth, MPPE and Reason come from pppd's own
// log lines, so they say what the real client concluded.
func parseResult(log string) Result {
	r := Result{Auth: "unknown", PPPDExit: -1, Disconnect: "", Log: log}
	var pppd, syslog []string
	timedOut := false
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(line, "@gh "):
			f := strings.Fields(line)
			kv := fields(f[2:])
			switch f[1] {
			case "up":
				r.Connected = true
				r.LocalIP = addr(kv["local"])
				r.RemoteIP = addr(kv["remote"])
				r.DNS1, r.DNS2 = addr(kv["dns1"]), addr(kv["dns2"])
			case "probe":
				if len(f) > 2 && f[2] == "ok" {
					r.Probes += "+"
				} else {
					r.Probes += "-"
				}
			case "down":
				r.BytesSent = atoi(kv["bytes_sent"], 0)
				r.BytesRcvd = atoi(kv["bytes_rcvd"], 0)
			case "result":
				r.finished = true
				r.PPPDExit = atoi(kv["pppd_exit"], -1)
				r.Disconnect = kv["disconnect"]
				r.ConnectTime = time.Duration(atoi(kv["connect_cs"], 0)) * 10 * time.Millisecond
				r.Held = time.Duration(atoi(kv["held_cs"], 0)) * 10 * time.Millisecond
				timedOut = kv["timed_out"] == "1"
			}
		case strings.HasPrefix(line, "pppd: "):
			l := strings.TrimPrefix(line, "pppd: ")
			pppd = append(pppd, l)
			if m := reMPPE.FindStringSubmatch(l); m != nil {
				r.MPPEBits = atoi(m[1], 0)
				r.Stateless = m[2] == "stateless"
			}
			if m := reLCPAck.FindStringSubmatch(l); m != nil {
				r.AuthProto = authProto(m[1])
			}
			if m := reTermReq.FindStringSubmatch(l); m != nil && r.PeerTermReason == "" {
				r.PeerTermReason = m[1]
				if r.PeerTermReason == "" {
					r.PeerTermReason = "(no text)"
				}
			}
		case strings.HasPrefix(line, "syslog: "):
			syslog = append(syslog, strings.TrimPrefix(line, "syslog: "))
		case strings.HasPrefix(line, "ping: "):
			l := strings.TrimPrefix(line, "ping: ")
			if m := rePingStats.FindStringSubmatch(l); m != nil {
				r.PingTx, r.PingRx = atoi(m[1], 0), atoi(m[2], 0)
			}
			if m := rePingRTT.FindStringSubmatch(l); m != nil {
				ms, _ := strconv.ParseFloat(m[1], 64)
				r.PingAvg = time.Duration(ms * float64(time.Millisecond))
			}
		}
	}
	has := func(lines []string, s string) bool {
		for _, l := range lines {
			if strings.Contains(strings.ToLower(l), strings.ToLower(s)) {
				return true
			}
		}
		return false
	}
	switch {
	case has(pppd, "authentication succeeded"):
		r.Auth = "ok"
	case has(pppd, "authentication failed") || r.PPPDExit == 19:
		r.Auth = "fail"
	case r.Connected:
		r.Auth = "none"
	}
	switch {
	case r.Auth == "fail":
		r.Reason = "auth_failed"
	case r.Connected && r.Disconnect == "local":
		r.Reason = "ok"
	case has(pppd, "MPPE required"):
		r.Reason = "mppe_failed"
	case has(syslog, "Could not open control connection"):
		r.Reason = "pptp_connect_failed"
	case !r.Connected && timedOut:
		r.Reason = "connect_timeout"
	case has(pppd, "No response to") && has(pppd, "echo-requests"):
		// LCP echoes (lcp-echo-failure) went unanswered. pppd's exit
		// status then often says hangup: pptp hangs up after it.
		r.Reason = "peer_not_responding"
	case r.PeerTermReason != "":
		r.Reason = "peer_terminated"
	default:
		r.Reason = exitReason(r.PPPDExit)
	}
	return r
}

// exitReason names pppd's exit statuses (pppd(8), EXIT STATUS).
func exitReason(code int) string {
	switch code {
	case -1:
		return "unknown"
	case 0, 5:
		return "ok"
	case 8:
		return "connect_failed"
	case 10:
		return "negotiation_failed"
	case 11, 19:
		return "auth_failed"
	case 12:
		return "idle_timeout"
	case 13:
		return "connect_time_limit"
	case 15:
		return "peer_not_responding"
	case 16:
		return "hangup"
	}
	return "pppd_exit_" + strconv.Itoa(code)
}

// authProto maps pppd's "<auth ...>" option text to a short name.
func authProto(s string) string {
	switch s {
	case "chap MS-v2":
		return "mschapv2"
	case "chap MS":
		return "mschap"
	case "chap MD5":
		return "chap"
	case "pap":
		return "pap"
	case "eap":
		return "eap"
	}
	return s
}

func fields(f []string) map[string]string {
	kv := make(map[string]string, len(f))
	for _, s := range f {
		if k, v, ok := strings.Cut(s, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

func addr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

func atoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
