// Command testplugin is the plugin the host's tests run as a real process.
// It is built on plugins/sdk like a vendor's plugin; what it does is chosen
// by its configuration, by the user name of a call, and by environment
// variables:
//
//	config users      "alice:pw,bob:pw2": the accepted users and passwords
//	config delay      how long calls for user "slow" take (default 100ms)
//	config health     "fail": Health answers that it cannot work;
//	                  "hang": Health never answers
//	config reject     "yes": Configure rejects the configuration
//
//	user hang         the call never returns
//	user crash        the process kills itself with SIGKILL during the call
//	user slow         the call takes "delay", or until its context ends
//	                  (counted); the plugin counts calls in flight
//	user self         Lookup reports the process: uid, gid, groups and
//	                  capabilities from /proc/self/status, pid, args,
//	                  the most calls in flight seen, the slow calls
//	                  whose context ended, the environment
//	user commit-fail  Commit fails
//
//	TESTPLUGIN_PROTOCOL=1  serve only plugin protocol version 1, as a
//	                       plugin built before version 2 does
//	TESTPLUGIN_PROTOCOL=3  serve only under a future version 3
//	TESTPLUGIN_RAW=1       bypass the SDK, speak version 1's gRPC and send
//	                       malformed replies (see raw.go)
//	TESTPLUGIN_RAW=2       the same on version 2's channel, and more
//	TESTPLUGIN_ECHO=1      no plugin at all: echo every frame read on the
//	                       channel (GATEHOUSE_PLUGIN_CHANNEL) back at once,
//	                       one write each: the raw socket round trip the
//	                       host's benchmarks compare plugin calls with
//	TESTPLUGIN_CRASH_AT_START=1  exit 3 before the handshake
//	TESTPLUGIN_INCONSISTENT=1    declare identity without implementing it
package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

func main() {
	if os.Getenv("TESTPLUGIN_ECHO") == "1" {
		echo()
		return
	}
	if os.Getenv("TESTPLUGIN_CRASH_AT_START") == "1" && os.Getenv(sdk.Handshake.MagicCookieKey) != "" {
		fmt.Fprintln(os.Stderr, "testplugin: crashing at start as asked")
		os.Exit(3)
	}
	b := &backend{delay: 100 * time.Millisecond}
	switch {
	case os.Getenv("TESTPLUGIN_INCONSISTENT") == "1":
		sdk.Serve(inconsistent{})
	case os.Getenv("TESTPLUGIN_RAW") != "":
		serveRaw(os.Getenv("TESTPLUGIN_RAW"))
	case os.Getenv("TESTPLUGIN_PROTOCOL") == "1":
		// A plugin built with the SDK before protocol version 2.
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  sdk.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion1: sdk.PluginMapV1(b)},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	case os.Getenv("TESTPLUGIN_PROTOCOL") == "3":
		// What a plugin built against a future SDK would do: the same
		// service under another protocol version.
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  sdk.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{3: sdk.PluginMapV1(b)},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	default:
		sdk.Serve(b)
	}
}

// inconsistent promises what it does not implement; sdk.Serve refuses it.
type inconsistent struct{}

func (inconsistent) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{Name: "inconsistent", Version: "0", Capabilities: []sdk.Capability{sdk.CapIdentity}}, nil
}

type backend struct {
	mu     sync.RWMutex
	users  map[string]string
	delay  time.Duration
	health string

	inflight, maxInflight atomic.Int64
	ended                 atomic.Int64 // slow calls whose context ended first
}

func (b *backend) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:    "testplugin",
		Version: "0.1.0",
		Capabilities: []sdk.Capability{
			sdk.CapFragments, sdk.CapVerifyPlaintext, sdk.CapVerifyMSCHAPv2, sdk.CapIdentity,
		},
		ConfigKeys: []sdk.ConfigKey{
			{Name: "users", Required: true, Description: "user:password pairs, comma-separated"},
			{Name: "delay", Description: "duration of calls for user slow"},
			{Name: "health", Description: "fail: report unhealthy; hang: never answer"},
			{Name: "reject", Description: "yes: reject the configuration"},
		},
	}, nil
}

func (b *backend) Configure(_ context.Context, o map[string]string) error {
	if o["reject"] == "yes" {
		return errors.Join(errors.New("reject: asked to reject"), errors.New("users: also wrong"))
	}
	users := map[string]string{}
	for _, pair := range strings.Split(o["users"], ",") {
		u, pw, ok := strings.Cut(pair, ":")
		if !ok {
			return fmt.Errorf("users: %q is not user:password", u)
		}
		users[u] = pw
	}
	delay := 100 * time.Millisecond
	if d := o["delay"]; d != "" {
		var err error
		if delay, err = time.ParseDuration(d); err != nil {
			return fmt.Errorf("delay: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users, b.delay, b.health = users, delay, o["health"]
	sdk.Logger().Info("testplugin configured", "users", len(users))
	return nil
}

// behave counts the call in flight and acts out the special users.
func (b *backend) behave(ctx context.Context, user string) {
	n := b.inflight.Add(1)
	defer b.inflight.Add(-1)
	for {
		m := b.maxInflight.Load()
		if n <= m || b.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	b.act(ctx, user)
}

// act acts out the special users. Lookup uses it without counting: the
// SDK runs a Lookup alongside each verification (identity in verdicts),
// and max_inflight is about the calls the host makes at once.
func (b *backend) act(ctx context.Context, user string) {
	switch user {
	case "hang":
		time.Sleep(time.Hour) // ignores ctx, as a stuck plugin would
	case "crash":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	case "slow":
		b.mu.RLock()
		d := b.delay
		b.mu.RUnlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			b.ended.Add(1)
		}
	}
}

func (b *backend) password(user string) (string, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	pw, ok := b.users[user]
	return pw, ok
}

func (b *backend) Fragments(ctx context.Context, user string) ([]sdk.Fragment, error) {
	b.behave(ctx, user)
	pw, ok := b.password(user)
	if !ok {
		return nil, nil
	}
	return []sdk.Fragment{{Secret: pw, Token: "pw"}}, nil
}

func (b *backend) VerifyPlaintext(ctx context.Context, user, secret string) (sdk.Verdict, error) {
	if user == "challenged" {
		return challenged(ctx, secret), nil
	}
	b.behave(ctx, user)
	pw, ok := b.password(user)
	switch {
	case !ok:
		return sdk.Verdict{Reason: "unknown user"}, nil
	case subtle.ConstantTimeCompare([]byte(pw), []byte(secret)) != 1:
		return sdk.Verdict{Reason: "wrong password"}, nil
	}
	return sdk.Verdict{OK: true, Token: "pw"}, nil
}

// challenged is user "challenged": a back-end behind which a server asks
// for a code (an upstream Access-Challenge). The password "pw" gets a
// challenge (set even where not allowed: the SDK must drop it) with
// continuation "cont-1"; its answer "424242" is accepted.
func challenged(ctx context.Context, secret string) sdk.Verdict {
	switch cont := string(sdk.Continuation(ctx)); {
	case cont == "" && secret == "pw":
		reason := "asks for a code, which this login cannot answer"
		if sdk.ChallengeAllowed(ctx) {
			reason = "asks for a code"
		}
		return sdk.Verdict{Reason: reason, Challenge: &sdk.Challenge{Message: "Code?", Continuation: []byte("cont-1")}}
	case cont == "":
		return sdk.Verdict{Reason: "wrong password"}
	case cont != "cont-1":
		return sdk.Verdict{Reason: "unknown continuation " + strconv.Quote(cont)}
	case secret == "424242":
		return sdk.Verdict{OK: true, Token: "code"}
	}
	return sdk.Verdict{Reason: "wrong answer"}
}

func (b *backend) VerifyMSCHAPv2(ctx context.Context, user string, r sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	b.behave(ctx, user)
	pw, ok := b.password(user)
	if !ok {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "unknown user"}}, nil
	}
	nt := mschapv2.NTHash(pw)
	if !mschapv2.Verify(r.AuthenticatorChallenge, r.PeerChallenge, r.UserName, r.NTResponse, nt) {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: "wrong password"}}, nil
	}
	hh := mschapv2.HashNTHash(nt)
	return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{OK: true, Token: "pw"}, PasswordHashHash: &hh}, nil
}

func (b *backend) Commit(ctx context.Context, user, token string) error {
	b.behave(ctx, user)
	if user == "commit-fail" {
		return errors.New("code already used")
	}
	return nil
}

func (b *backend) Lookup(ctx context.Context, user string) (sdk.Identity, error) {
	b.act(ctx, user)
	if user == "self" {
		return sdk.Identity{Found: true, Attributes: b.self()}, nil
	}
	_, ok := b.password(user)
	return sdk.Identity{Found: ok, Groups: []string{"vpn"}}, nil
}

func (b *backend) Health(context.Context) error {
	b.mu.RLock()
	h := b.health
	b.mu.RUnlock()
	switch h {
	case "fail":
		return errors.New("directory unreachable (as configured)")
	case "hang":
		time.Sleep(time.Hour)
	}
	return nil
}

// self describes the process, from /proc/self/status and os.
func (b *backend) self() map[string][]string {
	attrs := map[string][]string{
		"pid":          {strconv.Itoa(os.Getpid())},
		"args":         os.Args[1:],
		"max_inflight": {strconv.FormatInt(b.maxInflight.Load(), 10)},
		"ctx_ended":    {strconv.FormatInt(b.ended.Load(), 10)},
		"env":          os.Environ(),
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		attrs["error"] = []string{err.Error()}
		return attrs
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		switch k {
		case "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs":
			attrs[k] = strings.Fields(v)
		}
	}
	return attrs
}
