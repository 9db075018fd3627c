package config

import (
	"net/netip"
	"time"
)

// This file is the one home of the defaults. The decoder starts from
// Default() and from setDefaults of each fresh back-end, service or rule, so
// a key left out keeps the value written here. examples/reference.yaml
// writes every default out, and a test checks that the two agree.

// Default returns the configuration of an empty file: every section at its
// default, no back-ends and no services.
func Default() *Config {
	return &Config{
		StateDir: "./var",
		Log: Log{
			Level:        LogInfo,
			Format:       LogJSON,
			MaxSize:      100 << 20,
			MaxFiles:     5,
			SyslogTag:    "gatehouse",
			Index:        "events.db",
			Retention:    30 * 24 * time.Hour,
			IndexMaxSize: 256 << 20,
		},
		Admin: Admin{
			Listen:     netip.MustParseAddrPort("127.0.0.1:9723"),
			TokenFile:  "admin.token",
			SocketMode: 0o660,
		},
		Store: Store{
			Driver:   StoreSQLite,
			Path:     "store/gatehouse.db",
			KeyFile:  "store/secret.key",
			MaxConns: 8,
		},
		Plugins: Plugins{
			Dir:                "/usr/lib/gatehouse/plugins",
			User:               "nobody",
			CallTimeout:        2 * time.Second,
			MaxConcurrentCalls: 0,
			Procs:              1,
		},
		PPTP: PPTP{
			Enabled: true,
			Listen:  netip.MustParseAddrPort("0.0.0.0:1723"),
			Service: "pptp",
			Pool: Pool{
				First: netip.MustParseAddr("10.99.0.10"),
				Last:  netip.MustParseAddr("10.99.0.250"),
			},
			LocalAddress:    netip.MustParseAddr("10.99.0.1"),
			Interface:       "gatehouse0",
			MaxConnections:  100,
			EchoInterval:    30 * time.Second,
			EchoTimeout:     90 * time.Second,
			MTU:             1400,
			MPPE:            MPPE{Required: true},
			Access:          Access{Default: Off},
			RecheckInterval: 5 * time.Minute,
			CallRate:        5,
			CallBurst:       20,
		},
		RADIUSServer: RADIUSServer{
			Listen:                      netip.MustParseAddrPort("0.0.0.0:1812"),
			Service:                     "radius",
			RequireMessageAuthenticator: true,
			DuplicateWindow:             5 * time.Second,
			ClientRate:                  1000,
			ClientBurst:                 2000,
			ChallengeTimeout:            2 * time.Minute,
			ChallengeMessage:            "Enter your one-time code",
			MaxChallenges:               10000,
			MaxChallengesPerUser:        3,
		},
		RADIUSAccounting: RADIUSAccounting{
			Timeout:       2 * time.Second,
			Retries:       1,
			DeadAfter:     3,
			NASIdentifier: "gatehouse",
		},
		RADIUSDAE: RADIUSDAE{
			Listen:                      netip.MustParseAddrPort("0.0.0.0:3799"),
			RequireMessageAuthenticator: true,
			ReplayWindow:                5 * time.Minute,
		},
		Lockout: Lockout{
			Threshold: 10,
			Window:    15 * time.Minute,
			Duration:  15 * time.Minute,
		},
	}
}

// Per-back-end-type defaults. A back-end's timeout defaults to
// plugins.call_timeout; that one is filled in after decoding (see
// Config.finish), because it depends on another section.

func (o *OATH) setDefaults() {
	o.Digits = 6
	o.Period = 30 * time.Second
	o.Skew = 1
	o.LookAhead = 20
}

func (d *Digipass) setDefaults() {
	d.Digits = []int{6, 8}
	d.LookAhead = 20
}

func (s *Service) setDefaults() {
	s.LoginTimeout = 10 * time.Second
	s.BackendTimeout = 3 * time.Second
}

func (r *Rule) setDefaults() {
	r.Proto = ProtoAny
}
