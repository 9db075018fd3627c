package access

import "testing"

func TestAllowed(t *testing.T) {
	s := &Settings{
		Groups: map[string]bool{"vpn-users": true, "suspended": false},
		Users:  map[string]Grant{"carol": On, "dave": Off, "erin": UseGroup},
	}
	tests := []struct {
		user   string
		stored Grant
		groups []string
		want   bool
		why    string
	}{
		{"alice", UseGroup, []string{"vpn-users"}, true, "VPN access on for group vpn-users in pptp.access.groups"},
		{"alice", Off, []string{"vpn-users"}, false, "VPN access off for the user in the local store"},
		{"bob", On, nil, true, "VPN access on for the user in the local store"},
		{"carol", UseGroup, nil, true, "VPN access on for the user in pptp.access.users"},
		{"dave", UseGroup, []string{"vpn-users"}, false, "VPN access off for the user in pptp.access.users"},
		{"dave", On, nil, true, "VPN access on for the user in the local store"},
		{"erin", UseGroup, []string{"vpn-users", "suspended"}, false, "VPN access off for group suspended in pptp.access.groups"},
		{"frank", UseGroup, []string{"staff"}, false, "no VPN access: none of the user's groups ([staff]) has access and pptp.access.default is off"},
		{"gina", UseGroup, nil, false, "no VPN access: the user is in no group with access and pptp.access.default is off"},
	}
	for _, tc := range tests {
		ok, why := s.Allowed(tc.user, tc.stored, tc.groups)
		if ok != tc.want || why != tc.why {
			t.Errorf("%s/%v/%v: %v %q, want %v %q", tc.user, tc.stored, tc.groups, ok, why, tc.want, tc.why)
		}
	}
	s.Default = true
	if ok, why := s.Allowed("gina", UseGroup, nil); !ok || why != "pptp.access.default is on" {
		t.Errorf("default on: %v %q", ok, why)
	}
	if ParseGrant("on") != On || ParseGrant("off") != Off || ParseGrant("use_group") != UseGroup || ParseGrant("x") != UseGroup {
		t.Error("ParseGrant")
	}
}
