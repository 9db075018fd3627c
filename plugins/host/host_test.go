package host_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
)

var ctx = context.Background()

func secret(s string) authpolicy.Secret { return authpolicy.NewSecret(s) }

func TestAcceptAndReject(t *testing.T) {
	h, b, logs := startOne(t, spec("Password"))

	info := b.Info()
	want := authpolicy.CapFragments | authpolicy.CapVerifyPlaintext | authpolicy.CapVerifyMSCHAPv2 | authpolicy.CapIdentity
	if info.Capabilities != want {
		t.Errorf("Info().Capabilities = %s, want %s", info.Capabilities, want)
	}

	t.Run("plaintext", func(t *testing.T) {
		for _, tt := range []struct {
			user, secret string
			ok           bool
			reason       string
		}{
			{"alice", alicePassword, true, ""},
			{"alice", bobPassword, false, "wrong password"},
			{"mallory", alicePassword, false, "unknown user"},
		} {
			v, err := b.VerifyPlaintext(ctx, tt.user, secret(tt.secret))
			if err != nil {
				t.Fatalf("%s: a verdict, not an error, was due: %v", tt.user, err)
			}
			if v.OK != tt.ok || v.Reason != tt.reason {
				t.Errorf("%s/%q: %+v, want ok %t reason %q", tt.user, tt.secret, v, tt.ok, tt.reason)
			}
		}
	})

	t.Run("mschapv2", func(t *testing.T) {
		var ac, pc [16]byte
		copy(ac[:], "authenticator-ch")
		copy(pc[:], "peer-challenge!!")
		nt := mschapv2.NTHash(alicePassword)
		r := &authpolicy.MSCHAPv2Response{AuthenticatorChallenge: ac, PeerChallenge: pc, UserName: `CORP\alice`,
			NTResponse: mschapv2.GenerateNTResponse(ac, pc, `CORP\alice`, nt)}
		v, err := b.VerifyMSCHAPv2(ctx, "alice", r)
		if err != nil || !v.OK {
			t.Fatalf("right response: %+v %v", v, err)
		}
		if v.PasswordHashHash == nil || *v.PasswordHashHash != mschapv2.HashNTHash(nt) {
			t.Errorf("PasswordHashHash is not MD4(NT hash)")
		}
		r.NTResponse = mschapv2.GenerateNTResponse(ac, pc, `CORP\alice`, mschapv2.NTHash("wrong"))
		if v, err := b.VerifyMSCHAPv2(ctx, "alice", r); err != nil || v.OK || v.PasswordHashHash != nil {
			t.Errorf("wrong response: %+v %v", v, err)
		}
	})

	t.Run("fragments, commit, lookup", func(t *testing.T) {
		frags, err := b.Fragments(ctx, "alice")
		if err != nil || len(frags) != 1 || frags[0].Secret.Reveal() != alicePassword || frags[0].Token != "pw" {
			t.Fatalf("Fragments: %v %v", frags, err)
		}
		if frags, err := b.Fragments(ctx, "mallory"); err != nil || len(frags) != 0 {
			t.Errorf("Fragments(unknown): %v %v", frags, err)
		}
		if err := b.Commit(ctx, "alice", "pw"); err != nil {
			t.Errorf("Commit: %v", err)
		}
		if err := b.Commit(ctx, "commit-fail", "pw"); err == nil || !strings.Contains(err.Error(), "code already used") {
			t.Errorf("Commit(commit-fail): %v", err)
		}
		id, err := b.Lookup(ctx, "alice")
		if err != nil || !id.Found || !slices.Equal(id.Groups, []string{"vpn"}) {
			t.Errorf("Lookup: %+v %v", id, err)
		}
	})

	st := statusOf(t, h, "Password")
	if st.State != host.StateRunning || st.Version != "0.1.0" || st.Capabilities != want || st.PID == 0 || st.Restarts != 0 || st.Protocol != 2 {
		t.Errorf("Status: %+v", st)
	}
	if strings.Contains(logs.String(), alicePassword) || strings.Contains(logs.String(), bobPassword) {
		t.Errorf("a secret reached the log")
	}
	if !strings.Contains(logs.String(), `"msg":"testplugin configured","plugin":"Password","source":"plugin","users":2`) {
		t.Errorf("the plugin's own log record did not reach the host's log")
	}
}

// TestKilledDuringCall kills the plugin with SIGKILL while a call is in
// flight: that call fails closed, the host restarts the plugin, and the
// next call waits for the restart and succeeds.
func TestKilledDuringCall(t *testing.T) {
	h, b, _ := startOne(t, spec("k", func(s *host.Spec) { s.CallTimeout = 10 * time.Second }))
	pid := statusOf(t, h, "k").PID
	events := make(chan host.Event, 8)
	h.OnEvent(func(e host.Event) { events <- e })

	type result struct {
		v   authpolicy.Verdict
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := b.VerifyPlaintext(ctx, "hang", secret("x"))
		done <- result{v, err}
	}()
	waitInflight(t, b, 1)
	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err == nil {
			t.Fatalf("the call in flight returned %+v, not an error", r.v)
		}
		if r.v.OK {
			t.Fatal("the call in flight accepted")
		}
		t.Logf("call in flight failed after %v: %v", time.Since(start), r.err)
	case <-time.After(5 * time.Second):
		t.Fatal("the call in flight did not fail within 5s of the kill")
	}

	v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword))
	if err != nil || !v.OK {
		t.Fatalf("the next call: %+v %v", v, err)
	}
	st := statusOf(t, h, "k")
	if st.State != host.StateRunning || st.Restarts != 1 || st.PID == pid || st.PID == 0 {
		t.Errorf("Status after the restart: %+v", st)
	}
	if !strings.Contains(st.LastError, "connection lost") && !strings.Contains(st.LastError, "exited") {
		t.Errorf("LastError %q does not say what happened", st.LastError)
	}
	exit, restart := <-events, <-events
	if exit.Kind != host.EventExit || exit.PID != pid || exit.Plugin != "k" || exit.Reason == "" ||
		restart.Kind != host.EventRestart || restart.PID != st.PID {
		t.Errorf("events %+v, %+v; want the exit of %d with a reason, then the restart as %d", exit, restart, pid, st.PID)
	}
}

// waitInflight waits until the plugin has n calls in flight besides the
// Lookup that asks.
func waitInflight(t *testing.T, b authpolicy.Backend, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		id, err := b.Lookup(ctx, "self")
		if err != nil {
			t.Fatal(err)
		}
		// Lookup itself is not counted (see the test plugin's act).
		if m, _ := strconv.Atoi(first(id.Attributes["max_inflight"])); m >= n {
			return
		}
	}
	t.Fatalf("the plugin never had %d calls in flight", n)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestCrashOnCall(t *testing.T) {
	h, b, _ := startOne(t, spec("c"))
	if v, err := b.VerifyPlaintext(ctx, "crash", secret("x")); err == nil {
		t.Fatalf("a crash became %+v", v)
	}
	if frags, err := b.Fragments(ctx, "alice"); err != nil || len(frags) != 1 {
		t.Fatalf("after the crash: %v %v", frags, err)
	}
	if st := statusOf(t, h, "c"); st.Restarts != 1 || st.State != host.StateRunning {
		t.Errorf("Status: %+v", st)
	}
}

func TestHangingCallMeetsDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h, b, logs := startOne(t, spec("h", func(s *host.Spec) { s.CallTimeout = timeout }))
	start := time.Now()
	v, err := b.VerifyPlaintext(ctx, "hang", secret("x"))
	elapsed := time.Since(start)
	if err == nil || v.OK {
		t.Fatalf("a hung call gave %+v %v", v, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "plugin h: VerifyPlaintext: no answer within 300ms") {
		t.Errorf("error %q", err)
	}
	if elapsed < timeout || elapsed > timeout+10*time.Second { // generous: CI shares two cores
		t.Errorf("the call took %v with a %v timeout", elapsed, timeout)
	}
	// A caller's shorter deadline wins.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.Lookup(short, "hang"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lookup with the caller's deadline: %v", err)
	}
	// A hung call is not a dead plugin.
	if v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword)); err != nil || !v.OK {
		t.Errorf("after the hang: %+v %v", v, err)
	}
	if st := statusOf(t, h, "h"); st.Restarts != 0 {
		t.Errorf("restarted: %+v", st)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"plugin call failed","plugin":"h","call":"VerifyPlaintext","user":"hang","cause":"no answer within 300ms`) {
		t.Errorf("no warning logged with plugin and cause")
	}
}

func TestSHA256(t *testing.T) {
	data, err := os.ReadFile(pluginPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	real := hex.EncodeToString(sum[:])
	pinned := strings.Repeat("ab", 32)

	h, _ := newHost(t)
	err = h.Start(ctx, spec("x", func(s *host.Spec) { s.SHA256 = pinned }))
	want := "plugin x: binary " + pluginPath + " has SHA-256 " + real + ", the config pins " + pinned + ": refusing to start it"
	if err == nil || err.Error() != want {
		t.Fatalf("Start: %v\nwant: %s", err, want)
	}
	b, _ := h.Backend("x")
	if b.Info().Capabilities != 0 {
		t.Errorf("Info before any Describe: %v", b.Info())
	}
	if _, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword)); err == nil || !strings.Contains(err.Error(), "refusing to start it") {
		t.Errorf("a call to the refused plugin: %v", err)
	}
	if st := statusOf(t, h, "x"); st.State != host.StateFailed || st.LastError != want || st.PID != 0 {
		t.Errorf("Status: %+v", st)
	}

	if err := h.Start(ctx, spec("y", func(s *host.Spec) { s.SHA256 = "SHA256:" + strings.ToUpper(real) })); err != nil {
		t.Errorf("the right pin: %v", err)
	}
	if err := h.Start(ctx, spec("z", func(s *host.Spec) { s.SHA256 = "abc" })); err == nil || !strings.Contains(err.Error(), "not 64 hexadecimal digits") {
		t.Errorf("a bad pin: %v", err)
	}
}

func TestProtocolVersionMismatch(t *testing.T) {
	h, _ := newHost(t)
	err := h.Start(ctx, spec("future", func(s *host.Spec) { s.Env = []string{"TESTPLUGIN_PROTOCOL=3"} }))
	if err == nil {
		t.Fatal("a plugin speaking protocol version 3 was accepted")
	}
	for _, want := range []string{"plugin future: ", "speaks Gatehouse plugin protocol version 3",
		"this gateway speaks versions 1 and 2 (gatehouse.plugin.v1, gatehouse.plugin.v2)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if st := statusOf(t, h, "future"); st.State != host.StateFailed {
		t.Errorf("Status: %+v", st)
	}
}

// TestRunsAsNobody checks that a root gateway runs plugins as nobody with
// no groups and no capabilities, and gives them none of its environment.
func TestRunsAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		skipLoudly(t, "not running as root (euid %d): cannot check that plugins drop to nobody with no capabilities; run the tests as root", os.Geteuid())
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody: %v", err)
	}
	t.Setenv("GATEHOUSE_TEST_GATEWAY_SECRET", "must-not-leak")
	_, b, _ := startOne(t, spec("n", func(s *host.Spec) {
		s.Args = []string{"plugin", "run", "local"}
		s.Env = []string{"FOO=bar"}
	}))
	id, err := b.Lookup(ctx, "self")
	if err != nil {
		t.Fatal(err)
	}
	a := id.Attributes
	t.Logf("plugin process: Uid %v Gid %v Groups %v CapInh %v CapPrm %v CapEff %v CapAmb %v CapBnd %v",
		a["Uid"], a["Gid"], a["Groups"], a["CapInh"], a["CapPrm"], a["CapEff"], a["CapAmb"], a["CapBnd"])
	for _, u := range a["Uid"] {
		if u != nobody.Uid {
			t.Errorf("Uid %v, want %s (nobody) four times", a["Uid"], nobody.Uid)
			break
		}
	}
	for _, g := range a["Gid"] {
		if g != nobody.Gid {
			t.Errorf("Gid %v, want %s four times", a["Gid"], nobody.Gid)
			break
		}
	}
	if len(a["Groups"]) != 0 {
		t.Errorf("supplementary groups %v, want none", a["Groups"])
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb", "CapInh"} {
		if first(a[k]) != "0000000000000000" {
			t.Errorf("%s = %v, want 0000000000000000", k, a[k])
		}
	}
	if !slices.Equal(a["args"], []string{"plugin", "run", "local"}) {
		t.Errorf("args %v", a["args"])
	}
	env := strings.Join(a["env"], "\n")
	if !strings.Contains(env, "FOO=bar") || strings.Contains(env, "must-not-leak") {
		t.Errorf("environment:\n%s", env)
	}

	h, _ := newHost(t)
	err = h.Start(ctx, spec("u", func(s *host.Spec) { s.User = "no-such-user-gatehouse" }))
	if err == nil || !strings.Contains(err.Error(), `plugin u: user "no-such-user-gatehouse" to run the plugin as`) {
		t.Errorf("unknown user: %v", err)
	}
	err = h.Start(ctx, spec("r", func(s *host.Spec) { s.User = "root" }))
	if err == nil || !strings.Contains(err.Error(), "is root") {
		t.Errorf("root: %v", err)
	}

	// Spec.Groups: these supplementary groups and no other (the ldap
	// back-end's winbind mode needs winbindd_priv); never root's.
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Fatalf("no group nogroup: %v", err)
	}
	_, b, _ = startOne(t, spec("g", func(s *host.Spec) {
		s.Args = []string{"plugin", "run", "local"}
		s.Groups = []string{"nogroup"}
	}))
	if id, err := b.Lookup(ctx, "self"); err != nil || !slices.Equal(id.Attributes["Groups"], []string{g.Gid}) {
		t.Errorf("Spec.Groups nogroup: supplementary groups %v (%v), want [%s]", id.Attributes["Groups"], err, g.Gid)
	}
	err = h.Start(ctx, spec("gr", func(s *host.Spec) { s.Groups = []string{"root"} }))
	if err == nil || !strings.Contains(err.Error(), "root's group") {
		t.Errorf("group root: %v", err)
	}
	err = h.Start(ctx, spec("gx", func(s *host.Spec) { s.Groups = []string{"no-such-group-gatehouse"} }))
	if err == nil || !strings.Contains(err.Error(), `group "no-such-group-gatehouse" to run the plugin with`) {
		t.Errorf("unknown group: %v", err)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("GATEHOUSE_TEST_GATEWAY_SECRET", "must-not-leak")
	_, b, _ := startOne(t, spec("e", func(s *host.Spec) {
		s.Args = []string{"plugin", "run", "local"}
		s.Env = []string{"FOO=bar"}
	}))
	id, err := b.Lookup(ctx, "self")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Attributes["args"], []string{"plugin", "run", "local"}) {
		t.Errorf("args %v", id.Attributes["args"])
	}
	env := strings.Join(id.Attributes["env"], "\n")
	if !strings.Contains(env, "FOO=bar") || strings.Contains(env, "must-not-leak") {
		t.Errorf("environment:\n%s", env)
	}
	if os.Geteuid() != 0 {
		if got := first(id.Attributes["Uid"]); got != strconv.Itoa(os.Getuid()) {
			t.Errorf("not root: the plugin runs as %s, not as us", got)
		}
	}
}

func TestConcurrencyLimit(t *testing.T) {
	const limit = 2
	h, b, _ := startOne(t, spec("c", func(s *host.Spec) {
		s.MaxConcurrent = limit
		s.Config["delay"] = "100ms"
	}))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if v, err := b.VerifyPlaintext(ctx, "slow", secret("x")); err != nil || v.OK {
				errs <- errors.Join(err, errors.New("unexpected verdict"))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	id, err := b.Lookup(ctx, "self")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := strconv.Atoi(first(id.Attributes["max_inflight"])); m < 1 || m > limit {
		t.Errorf("the plugin saw %d calls at once; the limit is %d", m, limit)
	}

	// A caller whose deadline passes while waiting for a slot fails.
	block := make(chan struct{})
	for range limit {
		wg.Go(func() {
			<-block
			_, _ = b.VerifyPlaintext(ctx, "slow", secret("x"))
		})
	}
	close(block)
	time.Sleep(20 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = b.VerifyPlaintext(short, "alice", secret(alicePassword))
	wg.Wait()
	if err == nil || !strings.Contains(err.Error(), "all 2 call slots busy") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a slot past the deadline: %v", err)
	}
	if st := statusOf(t, h, "c"); st.CallsWaited < 7 || st.CallsRefused != 1 {
		t.Errorf("counted %d calls that waited for a slot and %d refused; want at least 7 and 1", st.CallsWaited, st.CallsRefused)
	}
}

// TestMalformedReplies: a plugin that bypasses the SDK, under either
// protocol version, and answers what the protocol forbids gets an error
// for that call, never an accept.
func TestMalformedReplies(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run("protocol "+version, func(t *testing.T) { testMalformedReplies(t, version) })
	}
}

func testMalformedReplies(t *testing.T, version string) {
	h, b, logs := startOne(t, spec("raw", func(s *host.Spec) { s.Env = []string{"TESTPLUGIN_RAW=" + version} }))
	if st := statusOf(t, h, "raw"); strconv.Itoa(st.Protocol) != version {
		t.Fatalf("negotiated protocol %d, want %s", st.Protocol, version)
	}
	if got := b.Info(); got.Capabilities != authpolicy.CapFragments|authpolicy.CapVerifyPlaintext|authpolicy.CapVerifyMSCHAPv2 ||
		!slices.Equal(got.FragmentLengths, []int{6}) {
		t.Errorf("Info %+v (an unknown capability must be ignored)", got)
	}
	r := &authpolicy.MSCHAPv2Response{UserName: "u"}
	for _, tt := range []struct{ user, want string }{
		{"short-key", "password_hash_hash is 15 bytes, not 16"},
		{"bad-auth", `authenticator_response is not "S=" and 40 hexadecimal digits (4 characters)`},
		{"short-mppe", "MPPE keys are 15 and 16 bytes, not 16"},
		{"no-proof", "an accept without password_hash_hash or authenticator result"},
	} {
		v, err := b.VerifyMSCHAPv2(ctx, tt.user, r)
		if err == nil || v.OK || !errors.Is(err, host.ErrMalformedReply) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %+v %v", tt.user, v, err)
		}
	}
	if v, err := b.VerifyMSCHAPv2(ctx, "delegated", r); err != nil || !v.OK || v.Keys == nil || len(v.AuthenticatorResponse) != 42 {
		t.Errorf("a well-formed delegated accept: %+v %v", v, err)
	}
	for _, tt := range []struct{ user, want string }{
		{"empty", "fragment 0 has an empty secret"},
		{"long", "fragment 0 is 7 bytes long; the plugin declared lengths [6]"},
	} {
		if f, err := b.Fragments(ctx, tt.user); err == nil || !errors.Is(err, host.ErrMalformedReply) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v %v", tt.user, f, err)
		}
	}
	if v, err := b.VerifyPlaintext(ctx, "no-verdict", secret("x")); err == nil || !errors.Is(err, host.ErrMalformedReply) {
		t.Errorf("no verdict: %+v %v", v, err)
	}

	const leaked = "Tr0ub4dor&3"
	_, err := b.VerifyPlaintext(ctx, "leak", secret(leaked))
	if err == nil || strings.Contains(err.Error(), leaked) || !strings.Contains(err.Error(), "password REDACTED is wrong") {
		t.Errorf("the plugin's error quoting the secret: %v", err)
	}
	if strings.Contains(logs.String(), leaked) {
		t.Errorf("the secret reached the log")
	}

	// Under version 1 a plugin must not answer UNAVAILABLE: the host
	// takes it for a broken connection and starts the plugin again.
	// Under version 2 an error frame is the plugin's answer, whatever
	// its code: only the channel itself can break.
	if _, err := b.VerifyPlaintext(ctx, "down", secret("x")); err == nil {
		t.Error("UNAVAILABLE became a verdict")
	}
	if _, err := b.Fragments(ctx, "ok"); err != nil {
		t.Errorf("after UNAVAILABLE: %v", err)
	}
	wantRestarts := map[string]int{"1": 1, "2": 0}[version]
	if st := statusOf(t, h, "raw"); st.Restarts != wantRestarts {
		t.Errorf("Status %+v, want %d restarts", st, wantRestarts)
	}
}

// TestGarbageMidCall: a plugin that writes bytes that are not a frame
// onto the channel while calls are in flight fails every one of them
// closed, at once, and is restarted; the next call succeeds.
func TestGarbageMidCall(t *testing.T) {
	h, b, _ := startOne(t, spec("g", func(s *host.Spec) {
		s.Env = []string{"TESTPLUGIN_RAW=2"}
		s.CallTimeout = 30 * time.Second
	}))
	pid := statusOf(t, h, "g").PID
	const hung = 5
	errs := make(chan error, hung)
	for range hung {
		go func() {
			v, err := b.VerifyPlaintext(ctx, "hang", secret("x"))
			if err == nil {
				err = fmt.Errorf("a verdict %+v", v)
			}
			errs <- err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the hung calls reach the plugin
	start := time.Now()
	v, err := b.VerifyPlaintext(ctx, "garbage", secret("x"))
	if err == nil || v.OK {
		t.Fatalf("the call during which the plugin wrote garbage: %+v %v", v, err)
	}
	if !strings.Contains(err.Error(), "connection to the plugin lost") {
		t.Errorf("error %v does not say the connection was lost", err)
	}
	for range hung {
		select {
		case err := <-errs:
			if !strings.Contains(err.Error(), "connection to the plugin lost") {
				t.Errorf("a call in flight: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a call in flight was not failed when the channel broke")
		}
	}
	t.Logf("every call failed %v after the garbage", time.Since(start))
	if f, err := b.Fragments(ctx, "ok"); err != nil || len(f) != 1 {
		t.Fatalf("after the restart: %v %v", f, err)
	}
	if st := statusOf(t, h, "g"); st.Restarts != 1 || st.PID == pid || st.State != host.StateRunning {
		t.Errorf("Status %+v", st)
	}
}

// TestStoppedPlugin: a plugin process stopped with SIGSTOP (it neither
// dies nor answers) fails every call closed at its deadline; the
// supervisor's pings find it dead and it is restarted.
func TestStoppedPlugin(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h, b, _ := startOne(t, spec("s", func(s *host.Spec) {
		s.CallTimeout = timeout
		s.HealthInterval = time.Hour // only the timed-out calls prompt pings
	}))
	pid := statusOf(t, h, "s").PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	// kill returns before every thread has stopped: a thread running on
	// the other core may still answer a call for a moment (seen in CI).
	waitForIn(t, 10*time.Second, "every thread of the plugin stopped", func() bool { return allThreadsStopped(pid) })
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			start := time.Now()
			v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword))
			if err == nil || v.OK || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("a call to the stopped plugin: %+v %v", v, err)
			}
			if took := time.Since(start); took > timeout+5*time.Second {
				t.Errorf("a call took %v with a %v deadline", took, timeout)
			}
		})
	}
	wg.Wait()
	waitForIn(t, 20*time.Second, "a restart", func() bool {
		st := statusOf(t, h, "s")
		return st.Restarts >= 1 && st.State == host.StateRunning
	})
	if st := statusOf(t, h, "s"); !strings.Contains(st.LastError, "pings in a row failed") {
		t.Errorf("LastError %q", st.LastError)
	}
	if v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword)); err != nil || !v.OK {
		t.Fatalf("after the restart: %+v %v", v, err)
	}
}

// TestTimedOutCallDroppedInPlugin: a call whose deadline passes is
// answered "deadline exceeded" at once, and the plugin's context for it
// ends (the host's cancel frame, or the deadline the frame carried), so
// the back-end stops working on it.
func TestTimedOutCallDroppedInPlugin(t *testing.T) {
	_, b, _ := startOne(t, spec("t", func(s *host.Spec) { s.Config["delay"] = "1h" }))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	v, err := b.VerifyPlaintext(short, "slow", secret("x"))
	if err == nil || v.OK || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%+v %v", v, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the call returned %v after its 100ms deadline", took)
	}
	waitFor(t, "the plugin to drop the call", func() bool {
		id, err := b.Lookup(ctx, "self")
		n, _ := strconv.Atoi(first(id.Attributes["ctx_ended"]))
		return err == nil && n >= 1
	})
}

// TestSlowUserDelaysNoOther: a call that hangs (a directory that never
// answers for one user) does not hold up the calls of other users.
func TestSlowUserDelaysNoOther(t *testing.T) {
	_, b, _ := startOne(t, spec("d", func(s *host.Spec) { s.CallTimeout = 20 * time.Second }))
	hung := make(chan error, 1)
	go func() {
		_, err := b.VerifyPlaintext(ctx, "hang", secret("x"))
		hung <- err
	}()
	waitInflight(t, b, 1)
	for i := range 100 {
		if v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword)); err != nil || !v.OK {
			t.Fatalf("call %d beside the hung one: %+v %v", i, v, err)
		}
	}
	select {
	case err := <-hung:
		t.Fatalf("the hung call ended: %v", err)
	default:
	}
}

// TestProtocolV1Plugin: a plugin built before protocol version 2, which
// serves only version 1's gRPC service, still works: the host speaks
// version 1 to it, and a login through the policy engine succeeds.
func TestProtocolV1Plugin(t *testing.T) {
	h, b, _ := startOne(t, spec("Password", func(s *host.Spec) { s.Env = []string{"TESTPLUGIN_PROTOCOL=1"} }))
	if st := statusOf(t, h, "Password"); st.Protocol != 1 || st.State != host.StateRunning {
		t.Fatalf("Status %+v, want protocol 1", st)
	}
	engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": b},
		[]authpolicy.Service{{Name: "vpn", Policy: "Password"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ac, pc [16]byte
	copy(ac[:], "authenticator-ch")
	copy(pc[:], "peer-challenge!!")
	for _, tt := range []struct {
		cred authpolicy.Credential
		ok   bool
	}{
		{authpolicy.Credential{Kind: authpolicy.Plaintext, User: "alice", Secret: secret(alicePassword)}, true},
		{authpolicy.Credential{Kind: authpolicy.Plaintext, User: "alice", Secret: secret(bobPassword)}, false},
		{authpolicy.Credential{Kind: authpolicy.MSCHAPv2, User: "alice", MSCHAPv2: &authpolicy.MSCHAPv2Response{
			AuthenticatorChallenge: ac, PeerChallenge: pc, UserName: "alice",
			NTResponse: mschapv2.GenerateNTResponse(ac, pc, "alice", mschapv2.NTHash(alicePassword))}}, true},
	} {
		res, err := engine.Authenticate(ctx, "vpn", tt.cred)
		if err != nil || res.Accepted != tt.ok {
			t.Errorf("%s login: accepted %v (%s), %v; want %v", tt.cred.Kind, res.Accepted, res.Reason(), err, tt.ok)
		}
		if tt.ok && tt.cred.Kind == authpolicy.MSCHAPv2 && res.Keys == nil {
			t.Error("an MS-CHAPv2 accept through version 1 carries no MPPE keys")
		}
	}
	// A dead version 1 plugin is still noticed and restarted.
	if _, err := b.VerifyPlaintext(ctx, "crash", secret("x")); err == nil {
		t.Fatal("a crash became a verdict")
	}
	if v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword)); err != nil || !v.OK {
		t.Fatalf("after the crash: %+v %v", v, err)
	}
	if st := statusOf(t, h, "Password"); st.Restarts != 1 || st.Protocol != 1 {
		t.Errorf("Status %+v", st)
	}
}

func TestStartFailures(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*host.Spec)
		want []string
	}{
		{"rejected configuration", func(s *host.Spec) { s.Config["reject"] = "yes" },
			[]string{"plugin p: the plugin rejected its configuration: reject: asked to reject; users: also wrong"}},
		{"missing required key", func(s *host.Spec) { s.Config = nil },
			[]string{`missing required key "users"`}},
		{"unknown key", func(s *host.Spec) { s.Config["colour"] = "blue" },
			[]string{`unknown key "colour" (known keys: [users delay health reject])`}},
		{"crash before the handshake", func(s *host.Spec) { s.Env = []string{"TESTPLUGIN_CRASH_AT_START=1"} },
			[]string{"plugin p: no handshake", "testplugin: crashing at start as asked"}},
		{"capability without its interface", func(s *host.Spec) { s.Env = []string{"TESTPLUGIN_INCONSISTENT=1"} },
			[]string{"plugin p: no handshake", "gatehouse plugin cannot start: inconsistent: declares capability identity but does not implement sdk.IdentitySource"}},
		{"not a plugin that talks", func(s *host.Spec) { s.Path, s.Args = "/bin/echo", []string{"hello"} },
			[]string{`plugin p: no handshake: the plugin printed "hello" instead (is it a Gatehouse plugin?)`}},
		{"no such binary", func(s *host.Spec) { s.Path = "/nonexistent/plugin" },
			[]string{"plugin p: cannot run the binary", "/nonexistent/plugin"}},
		{"not a plugin", func(s *host.Spec) { s.Path = "/bin/true" },
			[]string{"plugin p: no handshake: the plugin exited or closed its standard output first"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHost(t)
			err := h.Start(ctx, spec("p", tt.mod))
			if err == nil {
				t.Fatal("started")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if st := statusOf(t, h, "p"); st.State != host.StateFailed || st.LastError == "" {
				t.Errorf("Status %+v", st)
			}
		})
	}
}

func TestStartManyAndDuplicates(t *testing.T) {
	h, _ := newHost(t)
	err := h.Start(ctx, spec("a"), spec("b"), spec("a"), spec("bad", func(s *host.Spec) { s.SHA256 = strings.Repeat("0", 64) }))
	if err == nil || !strings.Contains(err.Error(), "plugin a: started twice") || !strings.Contains(err.Error(), "plugin bad: binary") {
		t.Errorf("Start: %v", err)
	}
	var names []string
	for _, s := range h.Status() {
		names = append(names, s.Name+"="+s.State.String())
	}
	if got := strings.Join(names, " "); got != "a=running b=running bad=failed" {
		t.Errorf("Status: %s", got)
	}
	if _, ok := h.Backend("nope"); ok {
		t.Error("Backend of an unknown name")
	}
}

func TestHealth(t *testing.T) {
	t.Run("unhealthy answer", func(t *testing.T) {
		h, _, _ := startOne(t, spec("u", func(s *host.Spec) {
			s.Config["health"] = "fail"
			s.HealthInterval = 20 * time.Millisecond
		}))
		waitFor(t, "LastError to report the health", func() bool {
			return strings.Contains(statusOf(t, h, "u").LastError, "unhealthy: directory unreachable (as configured)")
		})
		if st := statusOf(t, h, "u"); st.State != host.StateRunning || st.Restarts != 0 {
			t.Errorf("a plugin that answers was restarted: %+v", st)
		}
	})
	t.Run("no answer restarts", func(t *testing.T) {
		h, _, _ := startOne(t, spec("n", func(s *host.Spec) {
			s.Config["health"] = "hang"
			s.HealthInterval = 20 * time.Millisecond
			s.CallTimeout = 50 * time.Millisecond
		}))
		waitFor(t, "a restart", func() bool { return statusOf(t, h, "n").Restarts >= 1 })
		if st := statusOf(t, h, "n"); !strings.Contains(st.LastError, "health checks in a row failed") && !strings.Contains(st.LastError, "no answer") {
			t.Errorf("Status %+v", st)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForIn(t, 5*time.Second, what, cond)
}

func waitForIn(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

func TestClose(t *testing.T) {
	h, b, _ := startOne(t, spec("c"))
	pid := statusOf(t, h, "c").PID
	hung := make(chan error, 1)
	go func() {
		_, err := b.VerifyPlaintext(ctx, "hang", secret("x"))
		hung <- err
	}()
	waitInflight(t, b, 1)
	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; err == nil {
		t.Error("the call in flight at Close succeeded")
	}
	t.Logf("Close took %v with a hung call in flight", time.Since(start))
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the plugin process %d survived Close: %v", pid, err)
	}
	if st := statusOf(t, h, "c"); st.State != host.StateStopped || st.PID != 0 {
		t.Errorf("Status %+v", st)
	}
	if _, err := b.Lookup(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a call after Close: %v", err)
	}
	if err := h.Start(ctx, spec("d")); err == nil {
		t.Error("Start after Close")
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestIdentityInVerdicts: a plugin built with the SDK that is an identity
// source says so in its description, and its accepting verdicts carry the
// identity its Lookup gives, so the engine can skip the Lookup round trip.
// The test plugin has a Committer, so its commits are still made.
func TestIdentityInVerdicts(t *testing.T) {
	_, b, _ := startOne(t, spec("id", func(*host.Spec) {}))
	info := b.Info()
	if !info.IdentityInVerdicts || info.NothingToCommit {
		t.Fatalf("info %+v, want identity in verdicts and something to commit", info)
	}
	v, err := b.VerifyPlaintext(ctx, "alice", secret(alicePassword))
	if err != nil || !v.OK {
		t.Fatalf("%+v %v", v, err)
	}
	want, err := b.Lookup(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if v.Identity == nil || !v.Identity.Found || fmt.Sprint(v.Identity.Groups) != fmt.Sprint(want.Groups) {
		t.Errorf("verdict identity %+v, want %+v", v.Identity, want)
	}
	if v, err := b.VerifyPlaintext(ctx, "alice", secret("wrong")); err != nil || v.OK || v.Identity != nil {
		t.Errorf("a rejection carries no identity: %+v %v", v, err)
	}
}

// allThreadsStopped reports whether every thread of pid is in state T
// (stopped by a signal), from /proc.
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// "pid (comm) S ...": the state follows the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}
