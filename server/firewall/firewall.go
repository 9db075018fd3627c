// Package firewall decides, per packet, whether traffic from a VPN client
// may reach the network behind the gateway. Every packet a client sends
// passes its session's policy before it is written to the TUN device.
//
// A Policy is an ordered list of allow/drop rules; the first rule that
// matches decides, and a packet that matches no rule is dropped (a policy
// that means "allow the rest" ends with a bare allow rule). A session with
// no policy at all allows everything: that is what firewall.default_policy
// "" means.
//
// Which policy a user gets ([Settings.For]):
//
//   - use_group (the default for every user): the policies of the user's
//     groups, in the order of the group names, one after the other;
//   - add_to_group: the user's own rules first, then the groups' — so an
//     addition can allow what a group's final drop would refuse;
//   - overrule_group: the user's own policy only;
//   - nothing from user or groups: the default policy (or none).
//
// Decide reads only the IPv4 header and the first four bytes of a TCP or
// UDP header, allocates nothing, and drops what it cannot parse (a fragment
// other than the first is matched on addresses and protocol only: it has
// no ports).
package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Action is what a rule does with a matching packet.
type Action uint8

const (
	Drop Action = iota
	Allow
)

func (a Action) String() string {
	if a == Allow {
		return "allow"
	}
	return "drop"
}

// IP protocol numbers a rule can name; 0 matches any.
const (
	ProtoAny  = 0
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// PortRange is an inclusive range of destination ports.
type PortRange struct{ First, Last uint16 }

// Rule matches packets by protocol, destination prefix and destination
// port; zero fields match anything.
type Rule struct {
	Action Action
	Proto  uint8
	To     netip.Prefix
	Ports  []PortRange
}

// Policy is a named, ordered list of rules.
type Policy struct {
	Name  string
	Rules []Rule
}

// Mode is how a user's own policy combines with the groups'.
type Mode uint8

const (
	UseGroup Mode = iota
	AddToGroup
	OverruleGroup
)

// UserSetting is a user's firewall entry.
type UserSetting struct {
	Mode   Mode
	Policy string
}

// Settings are the firewall section of the configuration.
type Settings struct {
	Policies map[string]*Policy
	Groups   map[string]string // group -> policy name
	Users    map[string]UserSetting
	Default  string // policy for users with none; "" = allow all
}

// For returns the policy of a user in groups, and says where it came from
// (for the session's log line). A nil policy allows everything.
func (s *Settings) For(user string, groups []string) (*Policy, string) {
	var groupRules []Rule
	var names []string
	sorted := slices.Clone(groups)
	slices.Sort(sorted)
	for _, g := range sorted {
		if pn, ok := s.Groups[g]; ok {
			if p := s.Policies[pn]; p != nil {
				groupRules = append(groupRules, p.Rules...)
				names = append(names, fmt.Sprintf("%s (group %s)", pn, g))
			}
		}
	}
	us, hasUser := s.Users[user]
	own := s.Policies[us.Policy]
	switch {
	case hasUser && us.Mode == OverruleGroup && own != nil:
		return own, fmt.Sprintf("%s (user %s, overrules groups)", own.Name, user)
	case hasUser && us.Mode == AddToGroup && own != nil:
		rules := append(slices.Clone(own.Rules), groupRules...)
		return &Policy{Name: user + "+groups", Rules: rules},
			strings.Join(append([]string{fmt.Sprintf("%s (user %s)", own.Name, user)}, names...), ", then ")
	case len(names) > 0:
		return &Policy{Name: strings.Join(names, "+"), Rules: groupRules}, strings.Join(names, ", then ")
	case s.Default != "" && s.Policies[s.Default] != nil:
		return s.Policies[s.Default], s.Default + " (default)"
	}
	return nil, "none: everything allowed"
}

// Decide returns what p does with the IPv4 packet pkt and the index of the
// deciding rule (-1: no rule matched, or the packet is malformed; both
// drop). A nil policy allows everything that parses.
func (p *Policy) Decide(pkt []byte) (Action, int) {
	proto, dst, port, hasPort, ok := parse(pkt)
	if !ok {
		return Drop, -1
	}
	if p == nil {
		return Allow, -1
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Proto != ProtoAny && r.Proto != proto {
			continue
		}
		if r.To.IsValid() && !r.To.Contains(dst) {
			continue
		}
		if len(r.Ports) > 0 {
			if !hasPort || !inPorts(r.Ports, port) {
				continue
			}
		}
		return r.Action, i
	}
	return Drop, -1
}

func inPorts(ps []PortRange, port uint16) bool {
	for _, r := range ps {
		if port >= r.First && port <= r.Last {
			return true
		}
	}
	return false
}

// parse reads what rules match on: protocol, destination address and, for
// the first fragment of TCP and UDP, the destination port.
func parse(pkt []byte) (proto uint8, dst netip.Addr, port uint16, hasPort, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return 0, netip.Addr{}, 0, false, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(pkt[2])<<8 | int(pkt[3])
	if ihl < 20 || ihl > len(pkt) || total < ihl || total > len(pkt) {
		return 0, netip.Addr{}, 0, false, false
	}
	proto = pkt[9]
	dst = netip.AddrFrom4([4]byte(pkt[16:20]))
	fragOffset := (int(pkt[6])&0x1f)<<8 | int(pkt[7])
	if fragOffset == 0 && (proto == ProtoTCP || proto == ProtoUDP) {
		if total < ihl+4 {
			return 0, netip.Addr{}, 0, false, false
		}
		port = uint16(pkt[ihl+2])<<8 | uint16(pkt[ihl+3])
		hasPort = true
	}
	return proto, dst, port, hasPort, true
}
