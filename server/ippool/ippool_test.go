package ippool

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

var (
	a10  = netip.MustParseAddr("192.0.2.10")
	a11  = netip.MustParseAddr("192.0.2.11")
	a12  = netip.MustParseAddr("192.0.2.12")
	a13  = netip.MustParseAddr("192.0.2.13")
	gw   = netip.MustParseAddr("192.0.2.11")
	none = netip.Addr{}
)

func TestAllocateRoundRobin(t *testing.T) {
	p, err := New(a10, a13, gw)
	if err != nil {
		t.Fatal(err)
	}
	var got []netip.Addr
	for range 3 {
		a, ok := p.Allocate()
		if !ok {
			t.Fatal("exhausted early")
		}
		got = append(got, a)
	}
	if got[0] != a10 || got[1] != a12 || got[2] != a13 {
		t.Fatalf("got %v: want .10 .12 .13 (.11 excluded)", got)
	}
	if a, ok := p.Allocate(); ok {
		t.Fatalf("allocated %v from an exhausted pool", a)
	}
	if err := p.Release(a10); err != nil {
		t.Fatal(err)
	}
	if err := p.Release(a10); err == nil {
		t.Fatal("double release accepted")
	}
	if err := p.Release(gw); err == nil {
		t.Fatal("release of an excluded address accepted")
	}
	if a, ok := p.Allocate(); !ok || a != a10 {
		t.Fatalf("after release: %v %v", a, ok)
	}
	if p.InUse() != 3 || p.Free() != 0 {
		t.Fatalf("InUse %d Free %d", p.InUse(), p.Free())
	}
}

// A just-released address is the last to come back.
func TestReleasedAddressReusedLast(t *testing.T) {
	p, _ := New(a10, a13)
	a, _ := p.Allocate() // .10
	_ = p.Release(a)
	for _, want := range []netip.Addr{a11, a12, a13, a10} {
		if got, _ := p.Allocate(); got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestRequest(t *testing.T) {
	p, _ := New(a10, a13, gw)
	if !p.Request(a12) {
		t.Fatal("free address refused")
	}
	if p.Request(a12) {
		t.Fatal("address given twice")
	}
	if p.Request(gw) {
		t.Fatal("excluded address given")
	}
	if p.Request(netip.MustParseAddr("198.51.100.1")) || p.Request(none) || p.Request(netip.MustParseAddr("::1")) {
		t.Fatal("address outside the pool given")
	}
	if !p.Contains(a13) || p.Contains(netip.MustParseAddr("192.0.2.14")) {
		t.Fatal("Contains")
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		first, last string
		want        string
	}{
		{"192.0.2.20", "192.0.2.10", "ippool: 192.0.2.20-192.0.2.10: first is after last"},
		{"2001:db8::1", "2001:db8::9", "ippool: 2001:db8::1-2001:db8::9: the pool must be IPv4"},
		{"10.0.0.0", "10.255.255.255", "ippool: 10.0.0.0-10.255.255.255: 16777216 addresses, at most 1048576"},
	} {
		_, err := New(netip.MustParseAddr(tc.first), netip.MustParseAddr(tc.last))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s-%s: %v, want %s", tc.first, tc.last, err, tc.want)
		}
	}
}

func TestConcurrentNoDuplicates(t *testing.T) {
	p, _ := New(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.254"))
	var mu sync.Mutex
	seen := map[netip.Addr]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				a, ok := p.Allocate()
				if !ok {
					return
				}
				mu.Lock()
				if seen[a] {
					t.Errorf("%v handed out twice", a)
				}
				seen[a] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 254 || p.Free() != 0 {
		t.Fatalf("handed out %d, free %d", len(seen), p.Free())
	}
}

func TestPrefixes(t *testing.T) {
	for _, tt := range []struct {
		first, last string
		want        string
	}{
		{"10.0.0.100", "10.0.0.120", "[10.0.0.100/30 10.0.0.104/29 10.0.0.112/29 10.0.0.120/32]"},
		{"10.99.0.10", "10.99.0.250", "[10.99.0.10/31 10.99.0.12/30 10.99.0.16/28 10.99.0.32/27 10.99.0.64/26 10.99.0.128/26 10.99.0.192/27 10.99.0.224/28 10.99.0.240/29 10.99.0.248/31 10.99.0.250/32]"},
		{"192.0.2.0", "192.0.2.255", "[192.0.2.0/24]"},
		{"10.0.0.5", "10.0.0.5", "[10.0.0.5/32]"},
		{"10.0.0.255", "10.0.1.0", "[10.0.0.255/32 10.0.1.0/32]"},
		{"0.0.0.0", "255.255.255.255", "[0.0.0.0/0]"},
	} {
		got := Prefixes(netip.MustParseAddr(tt.first), netip.MustParseAddr(tt.last))
		if s := fmt.Sprint(got); s != tt.want {
			t.Errorf("Prefixes(%s, %s) = %s, want %s", tt.first, tt.last, s, tt.want)
		}
		// Exactly the range: first and last in, their neighbours out.
		in := func(a netip.Addr) bool {
			for _, p := range got {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		f, l := netip.MustParseAddr(tt.first), netip.MustParseAddr(tt.last)
		if !in(f) || !in(l) || (f.Prev().IsValid() && in(f.Prev())) || (l.Next().IsValid() && in(l.Next())) {
			t.Errorf("Prefixes(%s, %s) = %v does not hold exactly the range", tt.first, tt.last, got)
		}
	}
}
