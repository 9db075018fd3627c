package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/session"
)

// eventLog is where the gateway's events go. Every event goes to the
// index (server/events; nil when log.index is "" or could not be opened).
// Most events also have a log line of their own, written where they
// happen (the session's "login refused", the host's "plugin restarted"),
// so only the kinds without one are logged from here (the lockout, an
// unlock). A nil *eventLog records nothing.
type eventLog struct {
	index   *events.Index
	indexed events.Recorder // index only
	logged  events.Recorder // index and log
}

func newEventLog(index *events.Index, log *slog.Logger) *eventLog {
	return &eventLog{index: index, indexed: events.Recorder{Index: index}, logged: events.Recorder{Log: log, Index: index}}
}

// openEventIndex opens the event index: the file log.index, or, with
// store.driver postgres, the index in the store's database, which every
// gateway sharing it writes and reads (log.index is then only "" or not:
// "" still turns the index off). A failure is logged and the gateway runs
// without an index (the log still has every line).
func openEventIndex(ctx context.Context, cfg *config.Config, log *slog.Logger) *events.Index {
	lc := cfg.Log
	if lc.Index == "" {
		return nil
	}
	opts := events.Options{Retention: lc.Retention, MaxBytes: int64(lc.IndexMaxSize), Log: log}
	if cfg.Store.Driver == config.StorePostgres {
		dsn, err := readDSN(cfg.Store.DSNFile)
		if err != nil {
			log.Warn("the event index cannot be opened; the gateway runs without it (gatehouse logs and /v1/events will not answer)", slog.Any("err", err))
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		ix, err := events.OpenPostgres(ctx, dsn, opts)
		if err != nil {
			log.Warn("the event index in the PostgreSQL database cannot be opened; the gateway runs without it (gatehouse logs and /v1/events will not answer)",
				slog.Any("err", err))
			return nil
		}
		return ix
	}
	// On a first start the state directory (where the index lives by
	// default) may not exist yet.
	if err := os.MkdirAll(filepath.Dir(lc.Index), 0o700); err != nil {
		log.Warn("the event index's directory cannot be made; the gateway runs without the index", slog.String("index", lc.Index), slog.Any("err", err))
		return nil
	}
	ix, err := events.Open(lc.Index, opts)
	if err != nil {
		log.Warn("the event index cannot be opened; the gateway runs without it (gatehouse logs and /v1/events will not answer): move the file aside and restart to start a new one",
			slog.String("index", lc.Index), slog.Any("err", err))
		return nil
	}
	return ix
}

func (e *eventLog) record(ev events.Event) {
	if e != nil {
		e.indexed.Record(context.Background(), ev)
	}
}

func (e *eventLog) recordAndLog(ev events.Event) {
	if e != nil {
		e.logged.Record(context.Background(), ev)
	}
}

// login records one decision of a front door.
func (e *eventLog) login(ctx context.Context, frontDoor, service string, cred authpolicy.Credential, res *authpolicy.Result, err error, took time.Duration) {
	if e == nil {
		return
	}
	ev := events.Event{Kind: events.KindLogin, FrontDoor: frontDoor, Service: service, User: cred.User,
		Method: cred.Kind.String(), Duration: took, SessionID: gateway.SessionID(ctx)}
	if a, perr := netip.ParseAddr(cred.CallingStation); perr == nil {
		ev.Client = a
	}
	switch {
	case err != nil || res == nil:
		ev.Result = events.Refused
		if err != nil {
			ev.Reason = "could not decide: " + err.Error()
		}
	case res.Accepted:
		ev.Result, ev.Branch, ev.User = events.Accepted, res.Branch, res.User
	default:
		ev.Result, ev.Reason, ev.User = events.Refused, res.Reason(), res.User
	}
	if res != nil {
		for _, b := range res.Branches {
			if b.Outcome != authpolicy.NotTried {
				ev.Branches = append(ev.Branches, events.BranchOutcome{Branch: b.Branch, Outcome: b.Outcome.String(), Reason: b.Reason})
			}
		}
	}
	e.record(ev)
}

// sessions wraps the gateway's SessionUp hook (accounting's, or nil) with
// the session_up and session_down events, and kill or revoke for a
// session the operator or a re-check ended.
func (e *eventLog) sessions(service func() string, next func(gateway.SessionInfo, func() session.Info) func(string, session.Info)) func(gateway.SessionInfo, func() session.Info) func(string, session.Info) {
	return func(s gateway.SessionInfo, live func() session.Info) func(string, session.Info) {
		var ended func(string, session.Info)
		if next != nil {
			ended = next(s, live)
		}
		svc := service()
		base := events.Event{FrontDoor: events.FrontDoorPPTP, Service: svc, User: s.User, Client: s.Client,
			SessionID: s.ID, Address: s.Address, Branch: s.Branch, Encryption: encryption(s.Info)}
		up := base
		up.Kind = events.KindSessionUp
		e.record(up)
		return func(cause string, final session.Info) {
			if ended != nil {
				ended(cause, final)
			}
			down := base
			down.Kind, down.Reason = events.KindSessionDown, cause
			down.BytesIn, down.BytesOut, down.PacketsIn, down.PacketsOut = final.BytesIn, final.BytesOut, final.PacketsIn, final.PacketsOut
			down.Duration = time.Since(s.Started)
			e.record(down)
			switch {
			case strings.HasPrefix(cause, gateway.CauseKilled):
				k := base
				k.Kind, k.Reason = events.KindKill, cause
				e.record(k)
			case strings.HasPrefix(cause, gateway.CauseRevoked):
				k := base
				k.Kind, k.Reason = events.KindRevoke, strings.TrimPrefix(strings.TrimPrefix(cause, gateway.CauseRevoked), ": ")
				e.record(k)
			}
		}
	}
}

func encryption(in session.Info) string {
	if in.MPPEBits == 0 {
		return "none"
	}
	return "mppe-" + strconv.Itoa(in.MPPEBits) + " " + in.MPPEMode()
}

// plugins records the plugin host's starts, exits and restarts, and a
// start for each plugin running now (they started before the hook).
func (e *eventLog) plugins(h *host.Host) {
	if e == nil || h == nil {
		return
	}
	for _, s := range h.Status() {
		if s.State == host.StateRunning {
			e.record(events.Event{Kind: events.KindPluginStart, Backend: s.Name, Message: "pid " + strconv.Itoa(s.PID)})
		}
	}
	h.OnEvent(func(he host.Event) {
		ev := events.Event{Backend: he.Plugin, Reason: he.Reason, Message: "pid " + strconv.Itoa(he.PID)}
		switch he.Kind {
		case host.EventStart:
			ev.Kind = events.KindPluginStart
		case host.EventExit:
			ev.Kind = events.KindPluginExit
		case host.EventRestart:
			ev.Kind = events.KindPluginRestart
		default:
			return
		}
		e.record(ev)
	})
}

// eventsHandler serves GET /v1/events: the filters of events.ParseFilter
// (user, client, session, kind, result, service, front_door, since,
// until, limit); follow=1 streams new events as JSON lines until the
// client goes away.
func eventsHandler(ix *events.Index) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		follow := q.Get("follow") == "1" || q.Get("follow") == "true"
		q.Del("follow")
		f, err := events.ParseFilter(q, time.Now())
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		if ix == nil {
			writeError(w, http.StatusServiceUnavailable, "this gateway keeps no event index (log.index is off, or the index could not be opened; see its log)")
			return
		}
		if !follow {
			evs, err := ix.Query(r.Context(), f)
			if err != nil {
				writeError(w, http.StatusInternalServerError, "query: %v", err)
				return
			}
			if evs == nil {
				evs = []events.Event{}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(evs)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		flusher, _ := w.(http.Flusher)
		if flusher != nil {
			flusher.Flush()
		}
		enc := json.NewEncoder(w)
		for ev := range ix.Follow(r.Context(), f) {
			if enc.Encode(ev) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}
