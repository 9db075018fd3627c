package main

import (
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/pptpload"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  string
		check func(t *testing.T, o *options)
		err   string
	}{
		{name: "defaults", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p", check: func(t *testing.T, o *options) {
			c := o.cfg
			if c.Server != netip.MustParseAddrPort("10.0.0.1:1723") || c.Sessions != 1 || c.CallsPerConn != 1 || c.Size != 1400 ||
				c.Stateful || c.Traffic != "" || c.Direction != "both" || c.Port != 5001 || o.json {
				t.Errorf("%+v", c)
			}
		}},
		{name: "everything", args: "-server 10.0.0.1:1724 -sources 127.0.0.2,127.0.0.3 -sessions 50 -rate 100 -calls-per-conn 10 " +
			"-user u -password p -mppe stateful -hold 2s -duration 3s -direction down -size 500 -pps 1000 -json -quiet", check: func(t *testing.T, o *options) {
			c := o.cfg
			if c.Server.Port() != 1724 || len(c.Sources) != 2 || c.Sessions != 50 || c.Rate != 100 || c.CallsPerConn != 10 ||
				!c.Stateful || c.Hold.Seconds() != 2 || c.Traffic != "udp" || c.Direction != "down" || c.Size != 500 ||
				c.PPS != 1000 || !o.json || c.Progress != nil {
				t.Errorf("%+v", c)
			}
		}},
		{name: "icmp", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -traffic icmp -duration 1s -target 192.0.2.1", check: func(t *testing.T, o *options) {
			if o.cfg.Traffic != "icmp" || o.cfg.Target != netip.MustParseAddr("192.0.2.1") {
				t.Errorf("%+v", o.cfg)
			}
		}},
		{name: "traffic none", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -traffic none -duration 1s", check: func(t *testing.T, o *options) {
			if o.cfg.Traffic != "" {
				t.Errorf("traffic %q", o.cfg.Traffic)
			}
		}},
		{name: "tun-echo", args: "-mode tun-echo -duration 1s", check: func(t *testing.T, o *options) {
			if o.cfg.Mode != "tun-echo" || o.cfg.Traffic != "udp" {
				t.Errorf("%+v", o.cfg)
			}
		}},
		{name: "storm", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -sessions 50 -pps 10000 -storm 5000 " +
			"-storm-sources 127.0.0.6,127.0.0.7 -storm-calls-per-conn 20 -storm-window 3s", check: func(t *testing.T, o *options) {
			c := o.cfg
			if c.Storm != 5000 || len(c.StormSources) != 2 || c.StormCallsPerConn != 20 || c.StormWindow.Seconds() != 3 ||
				c.Traffic != "udp" || c.Duration != 0 {
				t.Errorf("%+v", c)
			}
		}},
		{name: "storm defaults", args: "-server 10.0.0.1 -sources 127.0.0.2,127.0.0.3 -user u -password p -storm 10", check: func(t *testing.T, o *options) {
			c := o.cfg
			if !slices.Equal(c.StormSources, c.Sources) || c.StormCallsPerConn != 10 || c.StormWindow.Seconds() != 5 || c.Traffic != "udp" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "storm with duration", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -storm 10 -duration 1s", err: "-duration is not used"},
		{name: "storm with icmp", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -storm 10 -traffic icmp", err: "-traffic udp only"},
		{name: "storm bad sources", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -storm 10 -storm-sources ::1", err: "-storm-sources"},
		{name: "no server", args: "-sources 127.0.0.2 -user u -password p", err: "-server"},
		{name: "no user", args: "-server 10.0.0.1 -sources 127.0.0.2", err: "-user"},
		{name: "bad mppe", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -mppe 40", err: "-mppe"},
		{name: "bad direction", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -direction sideways", err: "-direction"},
		{name: "bad size", args: "-server 10.0.0.1 -sources 127.0.0.2 -user u -password p -size 9000", err: "-size"},
		{name: "bad source", args: "-server 10.0.0.1 -sources ::1 -user u -password p", err: "-sources"},
		{name: "tun-echo without duration", args: "-mode tun-echo", err: "-duration"},
		{name: "stray argument", args: "-server 10.0.0.1 extra", err: "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(strings.Fields(tc.args), io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestParseSources(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "127.0.0.2", want: []string{"127.0.0.2"}},
		{in: "127.0.0.2, 127.0.0.3", want: []string{"127.0.0.2", "127.0.0.3"}},
		{in: "10.1.0.0/30", want: []string{"10.1.0.1", "10.1.0.2"}},
		{in: "10.1.0.4/31", want: []string{"10.1.0.4", "10.1.0.5"}},
		{in: "10.1.0.9/32,127.0.0.2", want: []string{"10.1.0.9", "127.0.0.2"}},
		{in: "10.0.0.0/8", err: true},
		{in: "nonsense", err: true},
	} {
		got, err := parseSources(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		if err != nil || !slices.Equal(s, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, s, err, tc.want)
		}
	}
}

func TestParseUsers(t *testing.T) {
	got, err := parseUsers("# users\nalice correct horse\n\n  bob s3cret\r\n", "f")
	want := []pptpload.Credential{{User: "alice", Password: "correct horse"}, {User: "bob", Password: "s3cret"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %+v %v, want %+v", got, err, want)
	}
	for _, bad := range []string{"", "# nothing\n", "alice\n"} {
		if _, err := parseUsers(bad, "f"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
