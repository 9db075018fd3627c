package main

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/firewall"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/session"
)

// fakeSessions records what the handler asks of the gateway. The real
// gateway, with radclient sending the requests, is in test/interop
// (TestGatehouseRevocation).
type fakeSessions struct {
	ss      []gateway.SessionInfo
	killed  []string
	changed map[string]gateway.Change
}

func (f *fakeSessions) Sessions() []gateway.SessionInfo { return f.ss }
func (f *fakeSessions) Kill(id, _ string) error {
	f.killed = append(f.killed, id)
	return nil
}
func (f *fakeSessions) Change(id string, ch gateway.Change) error {
	f.changed[id] = ch
	return nil
}

func TestDAEHandlerMatching(t *testing.T) {
	sess := func(id, user, addr, client string) gateway.SessionInfo {
		return gateway.SessionInfo{ID: id, Client: netip.MustParseAddr(client),
			Info: session.Info{User: user, Address: netip.MustParseAddr(addr)}}
	}
	newHandler := func() (daeHandler, *fakeSessions) {
		f := &fakeSessions{changed: map[string]gateway.Change{}, ss: []gateway.SessionInfo{
			sess("A-1", "bob", "192.0.2.10", "198.51.100.5"),
			sess("A-2", "bob", "192.0.2.11", "198.51.100.6"),
			sess("A-3", "carol", "192.0.2.12", "198.51.100.5"),
		}}
		var current atomic.Pointer[running]
		current.Store(&running{firewall: &firewall.Settings{Policies: map[string]*firewall.Policy{"quarantine": {Name: "quarantine"}}}})
		return daeHandler{gw: f, current: &current}, f
	}
	for _, tc := range []struct {
		name string
		req  dae.Request
		want []string
	}{
		{"session id", dae.Request{SessionID: "A-2"}, []string{"A-2"}},
		{"user: every session", dae.Request{User: "bob"}, []string{"A-1", "A-2"}},
		{"user and address", dae.Request{User: "bob", FramedIP: netip.MustParseAddr("192.0.2.11")}, []string{"A-2"}},
		{"calling station", dae.Request{CallingStation: "198.51.100.5"}, []string{"A-1", "A-3"}},
		{"all must match", dae.Request{SessionID: "A-1", User: "carol"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newHandler()
			err := h.Disconnect(context.Background(), &tc.req)
			var de *dae.Error
			if tc.want == nil {
				if !errors.As(err, &de) || de.Cause != dae.SessionContextNotFound {
					t.Fatalf("Disconnect = %v, want Session-Context-Not-Found", err)
				}
				return
			}
			if err != nil || !slices.Equal(f.killed, tc.want) {
				t.Fatalf("Disconnect = %v, killed %v; want %v", err, f.killed, tc.want)
			}
		})
	}

	h, f := newHandler()
	err := h.CoA(context.Background(), &dae.Request{User: "bob", FilterID: "quarantine", SessionTimeout: time.Hour})
	if err != nil || len(f.changed) != 2 || f.changed["A-1"].Filter == nil || f.changed["A-1"].SessionTimeout != time.Hour {
		t.Fatalf("CoA: %v, changes %+v", err, f.changed)
	}
	h, f = newHandler()
	var de *dae.Error
	if err := h.CoA(context.Background(), &dae.Request{User: "bob", FilterID: "nope"}); !errors.As(err, &de) || de.Cause != dae.InvalidAttributeValue || len(f.changed) != 0 {
		t.Fatalf("CoA with an unknown Filter-Id: %v, changes %v; want Invalid-Attribute-Value and nothing changed", err, f.changed)
	}
}

func TestReplayedCounts(t *testing.T) {
	for reason, want := range map[string]bool{
		"OATH: code already used (a replay)":                 true,
		"OATH: token t1: code already used by another login": true,
		"wrong code":                          false,
		`Password: account "bob" is disabled`: false,
	} {
		res := &authpolicy.Result{Branches: []authpolicy.BranchResult{{Branch: "OATH", Outcome: authpolicy.Rejected, Reason: reason}}}
		if got := replayed(res); got != want {
			t.Errorf("replayed(%q) = %v, want %v", reason, got, want)
		}
	}
}
