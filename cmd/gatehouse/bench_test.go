package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

// The cost of process isolation: the same MS-CHAPv2 login of
// "(Password and OATH) or DIGIPASS", decided by its first branch (one
// password x the TOTP window of 3 codes), through the real built-in plugin
// processes and through in-memory back-ends of the same shape. Logins are
// dry runs so the same code can be used on every iteration (the commit, a
// durable SQLite write, is left out of both). Reported: logins/s, and the
// p50 and p99 latency of one login, with GOMAXPROCS logins in flight.
//
//	go test -run '^$' -bench Login -benchtime 3s ./cmd/gatehouse/

func BenchmarkLoginPlugins(b *testing.B) {
	e := newE2E(b)
	engine, _ := e.engine(b, nil)
	benchLogins(b, engine, func() authpolicy.Credential { return mschap("alice", "correct horse"+e.totpCode(0)) })
}

func BenchmarkLoginInMemory(b *testing.B) {
	otpCaps := authpolicy.CapFragments | authpolicy.CapVerifyPlaintext
	pw := memory.New(memory.Options{})
	pw.SetUser("alice", memory.User{Secrets: []string{"correct horse"}, Groups: []string{"vpn-users"}})
	oath := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6}, OneTime: true})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111", "222222", "333333"}})
	dp := memory.New(memory.Options{Capabilities: otpCaps, Lengths: []int{6, 8}, OneTime: true})
	dp.SetUser("alice", memory.User{Secrets: []string{"12345678"}})
	engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": pw, "OATH": oath, "DIGIPASS": dp},
		[]authpolicy.Service{{Name: "pptp", Policy: e2ePolicy}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	benchLogins(b, engine, func() authpolicy.Credential { return mschap("alice", "correct horse333333") })
}

func benchLogins(b *testing.B, engine *authpolicy.Engine, cred func() authpolicy.Credential) {
	c := cred()
	if res, err := engine.Authenticate(context.Background(), "pptp", c, authpolicy.DryRun()); err != nil || !res.Accepted {
		b.Fatalf("warm-up login: %v %s", err, res.Reason())
	}
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			res, err := engine.Authenticate(context.Background(), "pptp", c, authpolicy.DryRun())
			mine = append(mine, time.Since(t0))
			if err != nil || !res.Accepted {
				b.Errorf("login: %v %s", err, res.Reason())
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
