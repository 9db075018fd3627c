package firewall

import (
	"net/netip"
	"testing"
)

// ipv4 builds a minimal IPv4 packet to dst with a TCP/UDP header whose
// destination port is port (for other protocols, 8 zero bytes).
func ipv4(proto uint8, dst string, port uint16) []byte {
	p := make([]byte, 28)
	p[0] = 0x45
	p[3] = 28
	p[8] = 64
	p[9] = proto
	copy(p[12:16], []byte{192, 0, 2, 10})
	a := netip.MustParseAddr(dst).As4()
	copy(p[16:20], a[:])
	p[22], p[23] = byte(port>>8), byte(port)
	return p
}

var staff = &Policy{Name: "staff", Rules: []Rule{
	{Action: Allow, Proto: ProtoTCP, To: netip.MustParsePrefix("203.0.113.0/24"), Ports: []PortRange{{22, 22}, {443, 443}}},
	{Action: Allow, Proto: ProtoICMP},
	{Action: Drop},
}}

func TestDecide(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want Action
		rule int
	}{
		{"ssh to the LAN", ipv4(ProtoTCP, "203.0.113.2", 22), Allow, 0},
		{"https to the LAN", ipv4(ProtoTCP, "203.0.113.2", 443), Allow, 0},
		{"telnet to the LAN", ipv4(ProtoTCP, "203.0.113.2", 23), Drop, 2},
		{"ssh elsewhere", ipv4(ProtoTCP, "198.51.100.7", 22), Drop, 2},
		{"udp 22", ipv4(ProtoUDP, "203.0.113.2", 22), Drop, 2},
		{"ping", ipv4(ProtoICMP, "198.51.100.7", 0), Allow, 1},
		{"truncated", ipv4(ProtoTCP, "203.0.113.2", 22)[:19], Drop, -1},
		{"ipv6", append([]byte{0x60}, make([]byte, 39)...), Drop, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, i := staff.Decide(tc.pkt)
			if a != tc.want || i != tc.rule {
				t.Errorf("Decide = %v rule %d, want %v rule %d", a, i, tc.want, tc.rule)
			}
		})
	}
	// A later fragment has no ports: port rules do not match it.
	frag := ipv4(ProtoTCP, "203.0.113.2", 22)
	frag[7] = 10
	if a, i := staff.Decide(frag); a != Drop || i != 2 {
		t.Errorf("later fragment: %v %d", a, i)
	}
	var none *Policy
	if a, _ := none.Decide(ipv4(ProtoTCP, "198.51.100.7", 25)); a != Allow {
		t.Error("a nil policy must allow")
	}
	if a, _ := none.Decide([]byte{0x45}); a != Drop {
		t.Error("a malformed packet must drop even without a policy")
	}
}

func TestDecideAllocatesNothing(t *testing.T) {
	pkt := ipv4(ProtoTCP, "203.0.113.2", 443)
	if n := testing.AllocsPerRun(1000, func() { staff.Decide(pkt) }); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

func TestFor(t *testing.T) {
	contractors := &Policy{Name: "contractors", Rules: []Rule{{Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{443, 443}}}, {Action: Drop}}}
	extra := &Policy{Name: "extra", Rules: []Rule{{Action: Allow, Proto: ProtoTCP, Ports: []PortRange{{22, 22}}}}}
	s := &Settings{
		Policies: map[string]*Policy{"staff": staff, "contractors": contractors, "extra": extra},
		Groups:   map[string]string{"vpn-staff": "staff", "vpn-contractors": "contractors"},
		Users: map[string]UserSetting{
			"bob":   {Mode: AddToGroup, Policy: "extra"},
			"carol": {Mode: OverruleGroup, Policy: "extra"},
			"dave":  {Mode: UseGroup},
		},
		Default: "contractors",
	}
	tests := []struct {
		user   string
		groups []string
		why    string
		ssh    Action // ssh to 198.51.100.7
	}{
		{"alice", []string{"vpn-staff"}, "staff (group vpn-staff)", Drop},
		{"bob", []string{"vpn-contractors"}, "extra (user bob), then contractors (group vpn-contractors)", Allow},
		{"carol", []string{"vpn-contractors"}, "extra (user carol, overrules groups)", Allow},
		{"dave", []string{"vpn-contractors"}, "contractors (group vpn-contractors)", Drop},
		{"erin", nil, "contractors (default)", Drop},
		{"frank", []string{"vpn-staff", "vpn-contractors"}, "contractors (group vpn-contractors), then staff (group vpn-staff)", Drop},
	}
	for _, tc := range tests {
		p, why := s.For(tc.user, tc.groups)
		if why != tc.why {
			t.Errorf("%s: %q, want %q", tc.user, why, tc.why)
		}
		if a, _ := p.Decide(ipv4(ProtoTCP, "198.51.100.7", 22)); a != tc.ssh {
			t.Errorf("%s: ssh %v, want %v", tc.user, a, tc.ssh)
		}
	}
	s.Default = ""
	if p, why := s.For("erin", nil); p != nil || why != "none: everything allowed" {
		t.Errorf("no default: %v %q", p, why)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add(ipv4(ProtoTCP, "203.0.113.2", 22))
	f.Add(ipv4(ProtoUDP, "198.51.100.1", 53))
	f.Add([]byte{0x4f, 0, 0, 20})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		a, i := staff.Decide(pkt)
		if i < -1 || i >= len(staff.Rules) || (i == -1 && a != Drop) {
			t.Fatalf("Decide = %v %d", a, i)
		}
	})
}
