package main

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/radius/acct"
)

func TestTerminateCause(t *testing.T) {
	for cause, want := range map[string]acct.Cause{
		"local shutdown": acct.CauseAdminReboot,
		"no answer to echo within 6s: the client went away or a firewall drops TCP 1723": acct.CauseLostCarrier,
		"peer does not answer LCP Echo-Requests":                                         acct.CauseLostCarrier,
		"cannot read from the client: read tcp: connection reset by peer":                acct.CauseLostCarrier,
		"the client cleared the call (Call-Clear-Request)":                               acct.CauseUserRequest,
		"control connection closed by the client":                                        acct.CauseUserRequest,
		`LCP: peer sent Terminate-Request "User request"`:                                acct.CauseUserRequest,
		"session timeout: 1h0m0s (Session-Timeout)":                                      acct.CauseSessionTimeout,
		"idle timeout: no packet from the client for 10m0s":                              acct.CauseIdleTimeout,
		"killed by the operator: left the company":                                       acct.CauseAdminReset,
		"killed by the operator":                                                         acct.CauseAdminReset,
		"something else":                                                                 acct.CauseNASRequest,
	} {
		if got := terminateCause(cause); got != want {
			t.Errorf("terminateCause(%q) = %v, want %v", cause, got, want)
		}
	}
}

// TestAuthorize: VPN access first (the store's grant, then the
// configuration), then the firewall policy: a Filter-Id from the back-end
// wins, and one naming no policy refuses the session.
func TestAuthorize(t *testing.T) {
	cfg := &config.Config{}
	cfg.PPTP.Access = config.Access{Default: config.Off, Groups: map[string]config.OnOff{"vpn-users": config.On}}
	var fw config.Firewall
	fw.Policies.Set("staff", []config.Rule{{Action: config.Allow}})
	fw.Policies.Set("guests", []config.Rule{{Action: config.Drop}})
	fw.Groups = map[string]string{"vpn-users": "staff"}
	var current atomic.Pointer[running]
	current.Store(&running{cfg: cfg, access: accessSettings(cfg.PPTP.Access), firewall: firewallSettings(fw)})
	authz := authorize(&current)
	res := func(groups []string, attrs map[string][]string) *authpolicy.Result {
		return &authpolicy.Result{Accepted: true, User: "alice", Identity: authpolicy.Identity{Groups: groups, Attributes: attrs}}
	}
	if a := authz(res(nil, nil)); a.Allowed {
		t.Errorf("no group, default off: %+v", a)
	}
	if a := authz(res(nil, map[string][]string{"vpn_access": {"on"}})); !a.Allowed {
		t.Errorf("the store's grant on: %+v", a)
	}
	if a := authz(res([]string{"vpn-users"}, nil)); !a.Allowed || a.Filter == nil || a.FilterSource != "staff (group vpn-users)" {
		t.Errorf("group vpn-users: %+v, want allowed with policy staff", a)
	}
	if a := authz(res([]string{"vpn-users"}, map[string][]string{"Filter-Id": {"guests"}})); !a.Allowed || a.Filter == nil || a.Filter.Name != "guests" {
		t.Errorf("Filter-Id guests: %+v, want policy guests", a)
	}
	if a := authz(res([]string{"vpn-users"}, map[string][]string{"Filter-Id": {"nosuch"}})); a.Allowed {
		t.Errorf("Filter-Id naming no policy: %+v, want refused", a)
	}
}

// The LCP offers MS-CHAPv2 first and the enabled weak methods after it,
// strongest first, so a client is never steered down.
func TestPPTPPoliciesAuthOrder(t *testing.T) {
	var p config.PPTP
	if l, _ := pptpPolicies(p); !slices.Equal(l.Auth, []lcp.AuthMethod{lcp.MSCHAPv2}) {
		t.Errorf("default %v", l.Auth)
	}
	p.Auth.PAP, p.Auth.CHAPMD5, p.Auth.MSCHAPv1 = true, true, true
	if l, _ := pptpPolicies(p); !slices.Equal(l.Auth, []lcp.AuthMethod{lcp.MSCHAPv2, lcp.MSCHAPv1, lcp.CHAPMD5, lcp.PAP}) {
		t.Errorf("all on: %v", l.Auth)
	}
}
