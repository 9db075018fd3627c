// Package access decides whether an authenticated user may open a VPN
// session: the policy engine says who the user is, access says whether
// this user may use the VPN.
//
// The decision, first match wins:
//
//  1. the user's own grant in the local store ("gatehouse user vpn NAME
//     on|off"), for local users;
//  2. the user's grant in the configuration (pptp.access.users: on|off),
//     which also covers users who live in a directory;
//  3. the user's groups (pptp.access.groups): off in any of them denies —
//     a group grant that takes access away is meant to win — otherwise on
//     in any of them allows;
//  4. pptp.access.default.
//
// "use_group" at steps 1 and 2 means "no opinion here, go on".
package access

import (
	"fmt"
	"slices"
)

// Grant is a user's own access setting.
type Grant uint8

const (
	UseGroup Grant = iota
	On
	Off
)

func (g Grant) String() string {
	switch g {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "use_group"
}

// ParseGrant reads "use_group", "on" or "off"; anything else is UseGroup.
func ParseGrant(s string) Grant {
	switch s {
	case "on":
		return On
	case "off":
		return Off
	}
	return UseGroup
}

// Settings are pptp.access from the configuration.
type Settings struct {
	Default bool
	Groups  map[string]bool
	Users   map[string]Grant
}

// Allowed decides for user with the local store's grant stored (UseGroup
// for users the store does not know) and groups; the reason is a sentence
// for the session's log.
func (s *Settings) Allowed(user string, stored Grant, groups []string) (bool, string) {
	switch stored {
	case On:
		return true, "VPN access on for the user in the local store"
	case Off:
		return false, "VPN access off for the user in the local store"
	}
	switch s.Users[user] {
	case On:
		return true, "VPN access on for the user in pptp.access.users"
	case Off:
		return false, "VPN access off for the user in pptp.access.users"
	}
	sorted := slices.Clone(groups)
	slices.Sort(sorted)
	var on []string
	for _, g := range sorted {
		grant, ok := s.Groups[g]
		if !ok {
			continue
		}
		if !grant {
			return false, fmt.Sprintf("VPN access off for group %s in pptp.access.groups", g)
		}
		on = append(on, g)
	}
	if len(on) > 0 {
		return true, fmt.Sprintf("VPN access on for group %s in pptp.access.groups", on[0])
	}
	if s.Default {
		return true, "pptp.access.default is on"
	}
	if len(groups) == 0 {
		return false, "no VPN access: the user is in no group with access and pptp.access.default is off"
	}
	return false, fmt.Sprintf("no VPN access: none of the user's groups (%v) has access and pptp.access.default is off", sorted)
}
