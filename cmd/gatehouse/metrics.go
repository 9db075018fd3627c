package main

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/plugins/builtin"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/radiusd"
)

// metrics is what GET /metrics serves, in Prometheus's text format. Logins
// and plugin calls are observed as they happen; the counters the packages
// keep anyway (the PPTP gateway's, the RADIUS front door's, the plugin
// host's) are read at each scrape. The methods of a nil *metrics do
// nothing, so code under test may run without one.
type metrics struct {
	reg *prometheus.Registry

	logins        *prometheus.CounterVec
	loginSeconds  *prometheus.HistogramVec
	pluginSeconds *prometheus.HistogramVec
	pluginErrors  *prometheus.CounterVec
	otpReplays    *prometheus.CounterVec

	// What the scrape reads; set as the front doors start.
	current *atomic.Pointer[running]
	pptp    atomic.Pointer[pptpFront]
	radius  atomic.Pointer[radiusd.Server]
	dae     atomic.Pointer[dae.Server]
	// Set before the admin listener starts.
	lockout   *lockout.Tracker
	rechecker *rechecker
	store     *store.Store // the gateway's own connection pool
}

func newMetrics(current *atomic.Pointer[running]) *metrics {
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		current: current,
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total",
			Help: "Logins decided, by front door (pptp, radius), service, result (accepted, rejected, failed: a back-end could not decide) and the branch that accepted (\"\" otherwise).",
		}, []string{"front_door", "service", "result", "branch"}),
		loginSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_login_duration_seconds",
			Help:    "Time the policy engine took to decide a login.",
			Buckets: prometheus.ExponentialBuckets(100e-6, 3, 12), // 100µs to ~18s
		}, []string{"front_door", "service"}),
		pluginSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_plugin_call_duration_seconds",
			Help:    "Duration of calls to back-end plugins, by back-end and call.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 3, 12), // 25µs to ~4.4s
		}, []string{"backend", "call"}),
		pluginErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_plugin_call_errors_total",
			Help: "Calls to back-end plugins that failed (no answer by the deadline, the plugin's error, a lost connection); each failed its branch closed.",
		}, []string{"backend", "call"}),
	}
	m.otpReplays = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_otp_replays_total",
		Help: "Logins refused because a one-time code had been used before (a replay, or two logins racing for one code), by front door and service.",
	}, []string{"front_door", "service"})
	m.reg.MustRegister(m.logins, m.loginSeconds, m.pluginSeconds, m.pluginErrors, m.otpReplays,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m)
	return m
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// login records a decision of front door on service.
func (m *metrics) login(frontDoor, service string, res *authpolicy.Result, err error, took time.Duration) {
	if m == nil {
		return
	}
	result, branch := "failed", ""
	switch {
	case err != nil || res == nil:
	case res.Accepted:
		result, branch = "accepted", res.Branch
	case loginFailed(res):
	default:
		result = "rejected"
	}
	m.logins.WithLabelValues(frontDoor, service, result, branch).Inc()
	if res != nil && !res.Accepted && replayed(res) {
		m.otpReplays.WithLabelValues(frontDoor, service).Inc()
	}
	m.loginSeconds.WithLabelValues(frontDoor, service).Observe(took.Seconds())
}

// replayed reports whether a branch of a refused login failed on a
// one-time code used before (the built-in back-ends' builtin.ReplayReason,
// which the in-memory back-end's error shares).
func replayed(res *authpolicy.Result) bool {
	for _, b := range res.Branches {
		if strings.Contains(b.Reason, builtin.ReplayReason) {
			return true
		}
	}
	return false
}

// loginFailed reports whether no branch rejected and at least one could
// not decide: the login failed, rather than being refused.
func loginFailed(res *authpolicy.Result) bool {
	failed := false
	for _, b := range res.Branches {
		switch b.Outcome {
		case authpolicy.Rejected:
			return false
		case authpolicy.Failed:
			failed = true
		}
	}
	return failed
}

// pluginCall records one call to a plugin (host.Host.OnCall).
func (m *metrics) pluginCall(c host.CallStat) {
	if m == nil {
		return
	}
	m.pluginSeconds.WithLabelValues(c.Plugin, c.Call).Observe(c.Duration.Seconds())
	if c.Err != nil {
		m.pluginErrors.WithLabelValues(c.Plugin, c.Call).Inc()
	}
}

// observe has the plugin host of r report its calls here.
func (m *metrics) observe(r *running) {
	if m != nil && r != nil && r.backends.host != nil {
		r.backends.host.OnCall(m.pluginCall)
	}
}

// The counters read at each scrape.
var (
	descPluginUp       = prometheus.NewDesc("gatehouse_plugin_up", "1 when the back-end's plugin process runs and answers, 0 otherwise.", []string{"backend", "state"}, nil)
	descPluginRestarts = prometheus.NewDesc("gatehouse_plugin_restarts_total", "Starts of the back-end's plugin after the first.", []string{"backend"}, nil)
	descPluginWaited   = prometheus.NewDesc("gatehouse_plugin_calls_waited_total", "Calls that found every call slot (plugins.max_concurrent_calls) busy and waited.", []string{"backend"}, nil)
	descPluginRefused  = prometheus.NewDesc("gatehouse_plugin_calls_refused_total", "Calls whose deadline passed waiting for a call slot (failed closed).", []string{"backend"}, nil)
	descSessions       = prometheus.NewDesc("gatehouse_pptp_sessions", "PPTP sessions running (calls set up, established or not).", nil, nil)
	descPoolInUse      = prometheus.NewDesc("gatehouse_pptp_pool_addresses_in_use", "Addresses of the PPTP pool handed out.", nil, nil)
	descPoolFree       = prometheus.NewDesc("gatehouse_pptp_pool_addresses_free", "Addresses of the PPTP pool free.", nil, nil)
	descGREPackets     = prometheus.NewDesc("gatehouse_pptp_gre_received_packets_total", "GRE datagrams read from the GRE socket.", nil, nil)
	descGREBytes       = prometheus.NewDesc("gatehouse_pptp_gre_received_bytes_total", "Bytes of GRE datagrams read, IPv4 headers included.", nil, nil)
	descTUNPackets     = prometheus.NewDesc("gatehouse_pptp_tun_received_packets_total", "IP packets read from the TUN device (towards clients).", nil, nil)
	descTUNBytes       = prometheus.NewDesc("gatehouse_pptp_tun_received_bytes_total", "Bytes of IP packets read from the TUN device.", nil, nil)
	descGRESendErrors  = prometheus.NewDesc("gatehouse_pptp_gre_send_errors_total", "GRE datagrams the kernel refused to send.", nil, nil)
	descDropped        = prometheus.NewDesc("gatehouse_pptp_dropped_packets_total", "Packets the PPTP gateway dropped, by reason.", []string{"reason"}, nil)
	descRADIUS         = prometheus.NewDesc("gatehouse_radius_requests_total", "Requests to the RADIUS front door, by outcome (accept, reject, challenge, status_server, unknown_client, bad_message_authenticator, malformed, duplicate, overloaded, rate_limited, ignored).", []string{"outcome"}, nil)
	descChallenges     = prometheus.NewDesc("gatehouse_radius_challenges_total", "The RADIUS front door's Access-Challenges (second prompt for a one-time code), by outcome: answered (State matched, then decided), full (refused: radius_server.max_challenges pending), expired (unanswered), replaced (by a newer one of the user), and the answers rejected for their State: state_unknown, state_replayed, state_expired, state_replaced, state_other_user, state_other_nas.", []string{"outcome"}, nil)
	descChallengesNow  = prometheus.NewDesc("gatehouse_radius_challenges_pending", "Access-Challenges of the RADIUS front door waiting for their one-time code.", nil, nil)
	descGREBlocked     = prometheus.NewDesc("gatehouse_pptp_gre_blocked_total", "Calls that got no GRE packet within 5s of their set-up: something on the path drops GRE (IP protocol 47).", nil, nil)
	descCallsLimited   = prometheus.NewDesc("gatehouse_pptp_calls_rate_limited_total", "Calls refused because their client address was over pptp.call_rate.", nil, nil)
	descRevoked        = prometheus.NewDesc("gatehouse_pptp_sessions_revoked_total", "Running sessions ended because a re-check refused them (user disabled or deleted, VPN access or policy changed).", nil, nil)
	descLockouts       = prometheus.NewDesc("gatehouse_lockouts_total", "User names locked out after lockout.threshold failed logins.", nil, nil)
	descLockedOut      = prometheus.NewDesc("gatehouse_logins_locked_out_total", "Logins refused because the user name was locked out.", nil, nil)
	descLockedNow      = prometheus.NewDesc("gatehouse_users_locked_out", "User names locked out now.", nil, nil)
	descStoreConns     = prometheus.NewDesc("gatehouse_store_connections", "The gateway process's connections to its store, by state (in_use, idle); the built-in plugin processes keep pools of their own (store.max_conns each).", []string{"driver", "state"}, nil)
	descStoreMaxConns  = prometheus.NewDesc("gatehouse_store_connections_max", "The most connections the gateway process keeps to its store.", []string{"driver"}, nil)
	descStoreWaits     = prometheus.NewDesc("gatehouse_store_connection_waits_total", "Statements that waited for a free connection of the pool.", []string{"driver"}, nil)
	descStoreWaited    = prometheus.NewDesc("gatehouse_store_connection_wait_seconds_total", "Time statements spent waiting for a free connection.", []string{"driver"}, nil)
	descStoreErrors    = prometheus.NewDesc("gatehouse_store_errors_total", "Statements of the gateway process that failed (PostgreSQL), by kind: unavailable (the server could not be reached), other.", []string{"driver", "kind"}, nil)
	descDAE            = prometheus.NewDesc("gatehouse_radius_dae_requests_total", "RFC 5176 requests to radius_dae, by outcome (disconnect_ack, disconnect_nak, coa_ack, coa_nak, duplicate, handler_error, and the drops: unknown_client, malformed, unsupported_code, bad_authenticator, missing_message_authenticator, bad_message_authenticator, missing_event_timestamp, stale_event_timestamp, overloaded).", []string{"outcome"}, nil)
)

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPluginUp, descPluginRestarts, descPluginWaited, descPluginRefused, descSessions,
		descPoolInUse, descPoolFree, descGREPackets, descGREBytes, descTUNPackets, descTUNBytes, descGRESendErrors, descDropped, descRADIUS,
		descGREBlocked, descCallsLimited, descRevoked, descLockouts, descLockedOut, descLockedNow, descDAE, descChallenges, descChallengesNow,
		descStoreConns, descStoreMaxConns, descStoreWaits, descStoreWaited, descStoreErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the counters kept elsewhere, as
// they are now.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	if r := m.current.Load(); r != nil && r.backends.host != nil {
		for _, s := range r.backends.host.Status() {
			up := 0
			if s.State == host.StateRunning {
				up = 1
			}
			gauge(descPluginUp, up, s.Name, s.State.String())
			counter(descPluginRestarts, uint64(s.Restarts), s.Name)
			counter(descPluginWaited, s.CallsWaited, s.Name)
			counter(descPluginRefused, s.CallsRefused, s.Name)
		}
	}
	if f := m.pptp.Load(); f != nil {
		st := f.gw.Stats()
		gauge(descSessions, len(f.gw.Sessions()))
		gauge(descPoolInUse, f.pool.InUse())
		gauge(descPoolFree, f.pool.Free())
		counter(descGREPackets, st.GREReceived)
		counter(descGREBytes, st.GREReceivedBytes)
		counter(descTUNPackets, st.TUNReceived)
		counter(descTUNBytes, st.TUNReceivedBytes)
		counter(descGRESendErrors, st.GRESendErrors)
		counter(descGREBlocked, st.GREBlocked)
		counter(descCallsLimited, st.RateLimited)
		for reason, v := range map[string]uint64{
			"gre_malformed": st.GREMalformed, "gre_unknown_call": st.GREUnknownCall, "gre_wrong_source": st.GREWrongSource,
			"gre_old": st.GREOld, "tun_malformed": st.TUNMalformed, "tun_no_session": st.TUNNoSession,
			"tun_not_ipv4":   st.TUNNotIPv4,
			"spoofed_source": st.SpoofedSource, "firewall_denied": st.FirewallDenied,
		} {
			counter(descDropped, v, reason)
		}
	}
	if s := m.radius.Load(); s != nil {
		st := s.Stats()
		for outcome, v := range map[string]uint64{
			"accept": st.Accepts, "reject": st.Rejects, "challenge": st.Challenges, "status_server": st.StatusServer,
			"unknown_client": st.UnknownClient, "bad_message_authenticator": st.BadMessageAuthenticator,
			"malformed": st.Malformed, "duplicate": st.Duplicates, "overloaded": st.Overloaded, "ignored": st.Ignored,
			"rate_limited": st.RateLimited,
		} {
			counter(descRADIUS, v, outcome)
		}
		for outcome, v := range map[string]uint64{
			"answered": st.ChallengeAnswers, "full": st.ChallengesFull, "expired": st.ChallengesExpired, "replaced": st.ChallengesReplaced,
			"state_unknown": st.StateUnknown, "state_replayed": st.StateReplayed, "state_expired": st.StateExpired,
			"state_replaced": st.StateReplaced, "state_other_user": st.StateOtherUser, "state_other_nas": st.StateOtherNAS,
		} {
			counter(descChallenges, v, outcome)
		}
		gauge(descChallengesNow, st.ChallengesPending)
	}
	if s := m.dae.Load(); s != nil {
		st := s.Stats()
		for outcome, v := range map[string]uint64{
			"disconnect_ack": st.DisconnectACKs, "disconnect_nak": st.DisconnectNAKs, "coa_ack": st.CoAACKs, "coa_nak": st.CoANAKs,
			"duplicate": st.Duplicates, "handler_error": st.HandlerErrors, "unknown_client": st.UnknownClient,
			"malformed": st.Malformed, "unsupported_code": st.UnsupportedCode, "bad_authenticator": st.BadAuthenticator,
			"missing_message_authenticator": st.MissingMessageAuthenticator, "bad_message_authenticator": st.BadMessageAuthenticator,
			"missing_event_timestamp": st.MissingEventTimestamp, "stale_event_timestamp": st.StaleEventTimestamp,
			"overloaded": st.Overloaded,
		} {
			counter(descDAE, v, outcome)
		}
	}
	if r := m.rechecker; r != nil {
		counter(descRevoked, r.revoked.Load())
	}
	if st := m.store; st != nil {
		s := st.Stats()
		d := string(s.Driver)
		gauge(descStoreConns, s.InUse, d, "in_use")
		gauge(descStoreConns, s.Idle, d, "idle")
		gauge(descStoreMaxConns, s.MaxOpenConnections, d)
		counter(descStoreWaits, uint64(s.WaitCount), d)
		ch <- prometheus.MustNewConstMetric(descStoreWaited, prometheus.CounterValue, s.WaitDuration.Seconds(), d)
		counter(descStoreErrors, s.Unavailable, d, "unavailable")
		counter(descStoreErrors, s.Errors-s.Unavailable, d, "other")
	}
	if lo := m.lockout; lo != nil {
		st := lo.Stats()
		counter(descLockouts, st.Lockouts)
		counter(descLockedOut, st.Refused)
		gauge(descLockedNow, len(lo.Locked(time.Now())))
	}
}
