package events

import (
	"errors"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// TestParseFilter reads every parameter and form, and checks that each
// mistake names its parameter and says what to write.
func TestParseFilter(t *testing.T) {
	cest := time.FixedZone("CEST", 2*3600)
	for _, tc := range []struct {
		query string
		want  Filter
	}{
		{"", Filter{}},
		{"user=bob", Filter{User: "bob"}},
		{"user=+bob+", Filter{User: "bob"}},
		{"client=203.0.113.7", Filter{Client: netip.MustParsePrefix("203.0.113.7/32")}},
		{"client=::ffff:203.0.113.7", Filter{Client: netip.MustParsePrefix("203.0.113.7/32")}},
		{"client=203.0.113.9/24", Filter{Client: netip.MustParsePrefix("203.0.113.0/24")}},
		{"client=2001:db8::1", Filter{Client: netip.MustParsePrefix("2001:db8::1/128")}},
		{"client=::ffff:10.0.0.0/104", Filter{Client: netip.MustParsePrefix("10.0.0.0/8")}},
		{"session=s1", Filter{SessionID: "s1"}},
		{"kind=login,session_down", Filter{Kinds: []Kind{KindLogin, KindSessionDown}}},
		{"kind=login&kind=+plugin_exit+", Filter{Kinds: []Kind{KindLogin, KindPluginExit}}},
		{"kind=", Filter{}},
		{"result=refused", Filter{Result: Refused}},
		{"service=vpn&front_door=radius", Filter{Service: "vpn", FrontDoor: "radius"}},
		{"since=1h", Filter{Since: now.Add(-time.Hour)}},
		{"since=2d", Filter{Since: now.Add(-48 * time.Hour)}},
		{"since=1d12h", Filter{Since: now.Add(-36 * time.Hour)}},
		{"since=2024-04-30T10:00:00Z", Filter{Since: time.Date(2024, 4, 30, 10, 0, 0, 0, time.UTC)}},
		{"since=2024-04-30T10:00:00%2B02:00", Filter{Since: time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC)}},
		{"since=2024-04-30", Filter{Since: time.Date(2024, 4, 30, 0, 0, 0, 0, cest)}},
		{"since=2024-04-30+10:30", Filter{Since: time.Date(2024, 4, 30, 10, 30, 0, 0, cest)}},
		{"until=30m", Filter{Until: now.Add(-30 * time.Minute)}},
		{"since=2h&until=1h", Filter{Since: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)}},
		{"limit=50", Filter{Limit: 50}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFilter(v, now.In(cest))
			if err != nil {
				t.Fatal(err)
			}
			if !filterEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			back, err := ParseFilter(got.Values(), now.Add(time.Hour))
			if err != nil || !filterEqual(back, got) {
				t.Errorf("Values %v read back as %+v, %v", got.Values(), back, err)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		query, param, hint string
	}{
		{"usr=bob", "usr", "did you mean user?"},
		{"frontdoor=pptp", "frontdoor", "did you mean front_door?"},
		{"colour=red", "colour", "the parameters are user, client"},
		{"user=a&user=b", "user", "give it once"},
		{"client=203.0.113", "client", "such as 203.0.113.7"},
		{"client=fe80::1%25eth0", "client", "such as 203.0.113.7"},
		{"kind=logon", "kind", "session_down"},
		{"result=rejected", "result", "accepted or refused"},
		{"front_door=l2tp", "front_door", "pptp or radius"},
		{"since=yesterday", "since", "such as 30m, 1h or 2d"},
		{"since=-1h", "since", "must not be negative"},
		{"until=2024-13-01", "until", "2024-05-01 10:00"},
		{"since=1h&until=2h", "until", "is not after since"},
		{"limit=0", "limit", "from 1 to 100000"},
		{"limit=many", "limit", "whole number"},
		{"since=0000-01-01T00:00:00%2B01:00", "since", "out of range"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			_, err := ParseFilter(v, now)
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParamError", err)
			}
			if pe.Param != tc.param || !strings.HasPrefix(err.Error(), tc.param) || !strings.Contains(err.Error(), tc.hint) {
				t.Errorf("error %q; want it to start with %q and say %q", err, tc.param, tc.hint)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "0": 0, "-2d": -48 * time.Hour, "1.5h": 90 * time.Minute,
	} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "-d", "1.5d", "1d-1h", "+1d", "1dd", "1d1d", "99999d", "1h1d", "30days", "100000d"} {
		if d, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", s, d)
		}
	}
}

// filterEqual compares filters, times by instant.
func filterEqual(a, b Filter) bool {
	if !a.Since.Equal(b.Since) || !a.Until.Equal(b.Until) {
		return false
	}
	a.Since, a.Until, b.Since, b.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(a.Kinds) == 0 && len(b.Kinds) == 0 {
		a.Kinds, b.Kinds = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// FuzzParseFilter reads arbitrary query strings: ParseFilter must not
// panic, and what it accepts must survive Values and a second parse
// unchanged. Seeds are in testdata/fuzz/FuzzParseFilter.
func FuzzParseFilter(f *testing.F) {
	f.Add("user=bob&kind=login,session_down&since=1h&limit=10")
	f.Fuzz(func(t *testing.T, query string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		got, err := ParseFilter(v, now)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param == "" {
				t.Fatalf("error %v is not a *ParamError naming a parameter", err)
			}
			return
		}
		back, err := ParseFilter(got.Values(), now.Add(time.Hour))
		if err != nil {
			t.Fatalf("Values() = %v does not parse: %v", got.Values(), err)
		}
		if !filterEqual(back, got) {
			t.Fatalf("round trip:\nfirst  %+v\nsecond %+v\nvia %v", got, back, got.Values())
		}
	})
}
