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
// p50 and p99 latency of one login, with loginsInFlight logins in flight
// (a front door serves many clients at once; with one login per core in
// flight the plugin path would measure its latency, not its throughput).
//
//	go test -run '^$' -bench Login -benchtime 3s ./cmd/gatehouse/
//
// BenchmarkLoginIsolation runs both in alternating rounds of the same run
// and reports their ratio, which is what to compare across runs on a
// noisy machine.

// loginsInFlight is how many logins the benchmarks run at once.
const loginsInFlight = 32

func BenchmarkLoginPlugins(b *testing.B) {
	engine, cred := pluginEngine(b)
	benchLogins(b, engine, cred)
}

func BenchmarkLoginInMemory(b *testing.B) {
	engine, cred := memoryEngine(b)
	benchLogins(b, engine, cred)
}

// benchLogins makes b.N logins of c on service pptp and reports them.
func benchLogins(b *testing.B, engine *authpolicy.Engine, c authpolicy.Credential) {
	warmUp(b, engine, c)
	b.ResetTimer()
	reportLogins(b, "", runLogins(b, engine, c, b.N))
}

func BenchmarkLoginIsolation(b *testing.B) {
	pe, pc := pluginEngine(b)
	me, mc := memoryEngine(b)
	warmUp(b, pe, pc)
	warmUp(b, me, mc)
	const rounds = 4
	var plugins, mem loginRun
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		plugins.add(runLogins(b, pe, pc, n))
		mem.add(runLogins(b, me, mc, n))
	}
	reportLogins(b, "plugins-", plugins)
	reportLogins(b, "memory-", mem)
	if mem.elapsed > 0 && plugins.elapsed > 0 {
		b.ReportMetric(plugins.rate()/mem.rate(), "plugins/memory")
	}
}

func pluginEngine(b *testing.B) (*authpolicy.Engine, authpolicy.Credential) {
	e := newE2E(b)
	engine, _ := e.engine(b, nil)
	return engine, mschap("alice", "correct horse"+e.totpCode(0))
}

func memoryEngine(b *testing.B) (*authpolicy.Engine, authpolicy.Credential) {
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
	return engine, mschap("alice", "correct horse333333")
}

func warmUp(b *testing.B, engine *authpolicy.Engine, c authpolicy.Credential) {
	if res, err := engine.Authenticate(context.Background(), "pptp", c, authpolicy.DryRun()); err != nil || !res.Accepted {
		b.Fatalf("warm-up login: %v %s", err, res.Reason())
	}
}

// loginRun is what runLogins measured.
type loginRun struct {
	lat     []time.Duration
	elapsed time.Duration
}

func (r *loginRun) add(o loginRun) {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
}

func (r loginRun) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// runLogins makes n logins from loginsInFlight goroutines.
func runLogins(b *testing.B, engine *authpolicy.Engine, c authpolicy.Credential, n int) loginRun {
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	var (
		mu  sync.Mutex
		out loginRun
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range loginsInFlight {
		wg.Go(func() {
			var mine []time.Duration
			for range work {
				t0 := time.Now()
				res, err := engine.Authenticate(context.Background(), "pptp", c, authpolicy.DryRun())
				mine = append(mine, time.Since(t0))
				if err != nil || !res.Accepted {
					b.Errorf("login: %v %s", err, res.Reason())
					return
				}
			}
			mu.Lock()
			out.lat = append(out.lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	return out
}

func reportLogins(b *testing.B, prefix string, r loginRun) {
	if len(r.lat) == 0 {
		return
	}
	slices.Sort(r.lat)
	b.ReportMetric(r.rate(), prefix+"logins/s")
	b.ReportMetric(float64(r.lat[len(r.lat)/2].Microseconds()), prefix+"p50-µs")
	b.ReportMetric(float64(r.lat[len(r.lat)*99/100].Microseconds()), prefix+"p99-µs")
}
