// Package sdktest is the conformance kit for Gatehouse plugins. A vendor
// runs it in their own tests, without Gatehouse:
//
//	func TestConformance(t *testing.T) {
//		sdktest.Run(t, newBackend(), sdktest.Options{
//			Config: map[string]string{"users": "alice:s3cret"},
//			User:   "alice",
//			Secret: "s3cret",
//		})
//	}
//
// [Run] serves the back-end in-process through the same frame loop and SDK
// shim that [sdk.Serve] uses in a real plugin (on a socket pair, as the
// gateway's channel), calls it the way the gateway does, and reports each
// rule the back-end breaks as a failed subtest. The rules are those the
// gateway relies on:
//
//   - Describe is consistent with the interfaces the back-end implements
//     ([sdk.Check]) and survives the trip over the channel unchanged.
//   - Configure accepts Options.Config and rejects an unknown key, naming
//     it.
//   - A capability the back-end does not implement answers UNIMPLEMENTED.
//   - A wrong secret, for a known or an unknown user, is a Verdict with OK
//     false and a reason, not an error; a right one is accepted.
//   - An accepting MS-CHAPv2 verdict proves the secret: its
//     PasswordHashHash, or its authenticator response and MPPE keys, are
//     what RFC 2759 and RFC 3079 give for Options.Secret.
//   - Fragments have the declared lengths and are accepted by
//     VerifyPlaintext (which must not consume them).
//   - No error, reason or token contains a secret the kit sent.
//   - Nothing panics, and concurrent calls work (run with -race).
//
// [Start] gives a [Client] for a vendor's own tests through the same
// transport, and [Conformance] returns the failures instead of reporting
// them, for callers that are not tests.
package sdktest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// Options describe the back-end under test.
type Options struct {
	// Config is handed to Configure before the checks run.
	Config map[string]string
	// User is an account the back-end knows. Without it the checks that
	// need a known user are skipped.
	User string
	// Secret is User's current secret for the verify capabilities. Without
	// it the checks that expect an accept are skipped.
	Secret string
	// UnknownUser is an account the back-end does not know; default
	// "sdktest-no-such-user".
	UnknownUser string
	// Timeout bounds each call; default 10s.
	Timeout time.Duration
}

// wrongSecret is what the kit types instead of the right secret. It is
// distinctive so that it can be looked for in errors and reasons.
const wrongSecret = "sdktest-wrong-secret-5Qz8"

// Failure is one rule the back-end broke.
type Failure struct {
	Check   string
	Problem string
}

func (f Failure) String() string { return f.Check + ": " + f.Problem }

// Run runs every check against b as a subtest of t.
func Run(t *testing.T, b sdk.Backend, o Options) {
	t.Helper()
	env, err := newEnv(b, o)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	defer env.c.Close()
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), env.timeout()*4)
			defer cancel()
			results := ch.run(ctx, env)
			if len(results) == 1 && results[0].kind == skipped {
				t.Skip(results[0].msg) // the check did not apply at all
			}
			for _, p := range results {
				if p.kind == skipped {
					t.Log("partly skipped: " + p.msg)
					continue
				}
				t.Error(p.msg)
			}
		})
	}
}

// Conformance runs every check against b and returns the failures. The
// error reports that b could not be served at all.
func Conformance(ctx context.Context, b sdk.Backend, o Options) ([]Failure, error) {
	env, err := newEnv(b, o)
	if err != nil {
		return nil, err
	}
	defer env.c.Close()
	var out []Failure
	for _, ch := range checks {
		for _, p := range ch.run(ctx, env) {
			if p.kind == failed {
				out = append(out, Failure{Check: ch.name, Problem: p.msg})
			}
		}
	}
	return out, nil
}

type env struct {
	b    sdk.Backend
	o    Options
	c    *Client
	desc sdk.Description // as described directly, after Configure
}

func (e *env) timeout() time.Duration {
	if e.o.Timeout > 0 {
		return e.o.Timeout
	}
	return 10 * time.Second
}

func (e *env) unknownUser() string {
	if e.o.UnknownUser != "" {
		return e.o.UnknownUser
	}
	return "sdktest-no-such-user"
}

func newEnv(b sdk.Backend, o Options) (*env, error) {
	c, err := start(b)
	if err != nil {
		return nil, err
	}
	return &env{b: b, o: o, c: c}, nil
}

type resultKind int

const (
	failed resultKind = iota
	skipped
)

type result struct {
	kind resultKind
	msg  string
}

func fail(format string, args ...any) result {
	return result{failed, fmt.Sprintf(format, args...)}
}

func skip(format string, args ...any) result {
	return result{skipped, fmt.Sprintf(format, args...)}
}

type check struct {
	name string
	run  func(ctx context.Context, e *env) []result
}

// checks run in this order; "configure" must come before those that need
// a configured back-end.
var checks = []check{
	{"Describe", checkDescribe},
	{"Configure", checkConfigure},
	{"Unimplemented", checkUnimplemented},
	{"VerifyPlaintext", checkPlaintext},
	{"VerifyMSCHAPv2", checkMSCHAPv2},
	{"Fragments", checkFragments},
	{"Lookup", checkLookup},
	{"Commit", checkCommit},
	{"Health", checkHealth},
	{"Concurrency", checkConcurrency},
}

func (e *env) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.timeout())
}

// leaks reports where one of the secrets shows up in texts.
func leaks(what string, secrets []string, texts ...string) []result {
	var out []result
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, t := range texts {
			if strings.Contains(t, s) {
				out = append(out, fail("%s contains the secret that was sent: %q", what, redact(t, s)))
			}
		}
	}
	return out
}

func redact(text, secret string) string { return strings.ReplaceAll(text, secret, "<SECRET>") }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// panicked reports a panic the shim turned into an error.
func panicked(what string, err error) []result {
	if status.Code(err) == codes.Internal && strings.Contains(errText(err), "panicked") {
		return []result{fail("%s: %v", what, err)}
	}
	return nil
}

func checkDescribe(ctx context.Context, e *env) []result {
	cctx, cancel := e.call(ctx)
	defer cancel()
	direct, err := sdk.Check(cctx, e.b)
	if err != nil {
		return []result{fail("%v", err)}
	}
	remote, err := e.c.Describe(cctx)
	if err != nil {
		return []result{fail("Describe over the channel: %v", err)}
	}
	if !reflect.DeepEqual(normalize(direct), normalize(remote)) {
		return []result{fail("Describe over the channel gives %+v, directly %+v", remote, direct)}
	}
	var out []result
	if direct.Version == "" {
		out = append(out, fail("the description has no version: operators need it to report problems"))
	}
	e.desc = direct
	return out
}

func normalize(d sdk.Description) sdk.Description {
	if len(d.Capabilities) == 0 {
		d.Capabilities = nil
	}
	if len(d.FragmentLengths) == 0 {
		d.FragmentLengths = nil
	}
	if len(d.ConfigKeys) == 0 {
		d.ConfigKeys = nil
	}
	return d
}

func checkConfigure(ctx context.Context, e *env) []result {
	cctx, cancel := e.call(ctx)
	defer cancel()
	var out []result
	const unknown = "sdktest-unknown-key"
	bad := map[string]string{unknown: "x"}
	for k, v := range e.o.Config {
		bad[k] = v
	}
	problems, err := e.c.Configure(cctx, bad)
	switch {
	case err != nil:
		out = append(out, fail("Configure with an unknown key: an RPC error instead of a problem: %v", err))
	case len(problems) == 0:
		out = append(out, fail("Configure accepted the unknown key %q", unknown))
	case !strings.Contains(strings.Join(problems, "\n"), unknown):
		out = append(out, fail("Configure rejected an unknown key without naming it: %q", problems))
	}
	problems, err = e.c.Configure(cctx, e.o.Config)
	switch {
	case err != nil:
		return append(out, fail("Configure(Options.Config): %v", err))
	case len(problems) > 0:
		return append(out, fail("Configure(Options.Config) rejected: %q", problems))
	}
	// The description may depend on the configuration.
	d, err := e.b.Describe(cctx)
	if err != nil {
		return append(out, fail("Describe after Configure: %v", err))
	}
	if err := checkAgain(cctx, e.b); err != nil {
		out = append(out, fail("after Configure: %v", err))
	}
	e.desc = d
	return out
}

func checkAgain(ctx context.Context, b sdk.Backend) error {
	_, err := sdk.Check(ctx, b)
	return err
}

func checkUnimplemented(ctx context.Context, e *env) []result {
	cctx, cancel := e.call(ctx)
	defer cancel()
	var out []result
	expect := func(c sdk.Capability, implemented bool, call func() error) {
		if implemented || e.desc.Has(c) {
			return
		}
		if err := call(); status.Code(err) != codes.Unimplemented {
			out = append(out, fail("%s is not implemented, yet the call answered %v instead of UNIMPLEMENTED", c, err))
		}
	}
	_, ok := e.b.(sdk.FragmentSource)
	expect(sdk.CapFragments, ok, func() error { _, err := e.c.Fragments(cctx, e.unknownUser()); return err })
	_, ok = e.b.(sdk.PlaintextVerifier)
	expect(sdk.CapVerifyPlaintext, ok, func() error { _, err := e.c.VerifyPlaintext(cctx, e.unknownUser(), wrongSecret); return err })
	_, ok = e.b.(sdk.MSCHAPv2Verifier)
	expect(sdk.CapVerifyMSCHAPv2, ok, func() error {
		_, err := e.c.VerifyMSCHAPv2(cctx, e.unknownUser(), mschapv2Request(e.unknownUser(), wrongSecret))
		return err
	})
	_, ok = e.b.(sdk.IdentitySource)
	expect(sdk.CapIdentity, ok, func() error { _, err := e.c.Lookup(cctx, e.unknownUser()); return err })
	return out
}

// rejects checks that a wrong answer is a verdict, not an error.
func rejects(what string, v sdk.Verdict, err error, secrets ...string) []result {
	out := panicked(what, err)
	switch {
	case err != nil:
		out = append(out, fail("%s: an error instead of a verdict (a wrong secret is a result, not an error): %s", what, errText(err)))
	case v.OK:
		out = append(out, fail("%s: accepted", what))
	case v.Reason == "":
		out = append(out, fail("%s: rejected without a reason; the operator needs one", what))
	}
	return append(out, leaks(what, secrets, errText(err), v.Reason, v.Token)...)
}

func checkPlaintext(ctx context.Context, e *env) []result {
	if !e.desc.Has(sdk.CapVerifyPlaintext) {
		return []result{skip("capability verify-plaintext not declared")}
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	var out []result
	v, err := e.c.VerifyPlaintext(cctx, e.unknownUser(), wrongSecret)
	out = append(out, rejects("unknown user", v, err, wrongSecret)...)
	if e.o.Secret != "" {
		v, err = e.c.VerifyPlaintext(cctx, e.unknownUser(), e.o.Secret)
		out = append(out, rejects("unknown user with the right secret of another", v, err, e.o.Secret)...)
	}
	if e.o.User == "" {
		return append(out, skip("no Options.User: known-user checks skipped"))
	}
	v, err = e.c.VerifyPlaintext(cctx, e.o.User, wrongSecret)
	out = append(out, rejects("wrong secret", v, err, wrongSecret)...)
	if e.o.Secret == "" {
		return append(out, skip("no Options.Secret: accept check skipped"))
	}
	v, err = e.c.VerifyPlaintext(cctx, e.o.User, e.o.Secret)
	out = append(out, panicked("right secret", err)...)
	switch {
	case err != nil:
		out = append(out, fail("right secret: %v", err))
	case !v.OK:
		out = append(out, fail("right secret rejected: %s", v.Reason))
	}
	return append(out, leaks("right secret", []string{e.o.Secret}, errText(err), v.Reason, v.Token)...)
}

// Fixed challenges: the kit's MS-CHAPv2 exchanges are reproducible.
var (
	authChallenge = [16]byte{0x5b, 0x5d, 0x7c, 0x7d, 0x7b, 0x3f, 0x2f, 0x3e, 0x3c, 0x2c, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28}
	peerChallenge = [16]byte{0x21, 0x40, 0x23, 0x24, 0x25, 0x5e, 0x26, 0x2a, 0x28, 0x29, 0x5f, 0x2b, 0x3a, 0x33, 0x7c, 0x7e}
)

func mschapv2Request(user, secret string) sdk.MSCHAPv2Request {
	return sdk.MSCHAPv2Request{
		AuthenticatorChallenge: authChallenge,
		PeerChallenge:          peerChallenge,
		NTResponse:             mschapv2.GenerateNTResponse(authChallenge, peerChallenge, user, mschapv2.NTHash(secret)),
		UserName:               user,
	}
}

func checkMSCHAPv2(ctx context.Context, e *env) []result {
	if !e.desc.Has(sdk.CapVerifyMSCHAPv2) {
		return []result{skip("capability verify-mschapv2 not declared")}
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	var out []result
	v, err := e.c.VerifyMSCHAPv2(cctx, e.unknownUser(), mschapv2Request(e.unknownUser(), wrongSecret))
	out = append(out, rejects("unknown user", v.Verdict, err)...)
	if e.o.User == "" {
		return append(out, skip("no Options.User: known-user checks skipped"))
	}
	v, err = e.c.VerifyMSCHAPv2(cctx, e.o.User, mschapv2Request(e.o.User, wrongSecret))
	out = append(out, rejects("wrong secret", v.Verdict, err)...)
	if e.o.Secret == "" {
		return append(out, skip("no Options.Secret: accept check skipped"))
	}
	r := mschapv2Request(e.o.User, e.o.Secret)
	v, err = e.c.VerifyMSCHAPv2(cctx, e.o.User, r)
	out = append(out, panicked("right secret", err)...)
	switch {
	case err != nil:
		return append(out, fail("right secret: %v", err))
	case !v.OK:
		return append(out, fail("right secret rejected: %s", v.Reason))
	}
	out = append(out, leaks("right secret", []string{e.o.Secret}, v.Reason, v.Token)...)
	ntHash := mschapv2.NTHash(e.o.Secret)
	hashHash := mschapv2.HashNTHash(ntHash)
	switch {
	case v.PasswordHashHash != nil:
		if *v.PasswordHashHash != hashHash {
			out = append(out, fail("PasswordHashHash is not MD4(MD4(UTF-16LE(secret))) (RFC 2759 section 8.4)"))
		}
	case v.AuthenticatorResponse != "" && v.SendKey != nil && v.RecvKey != nil:
		want := mschapv2.GenerateAuthenticatorResponse(ntHash, r.NTResponse, r.PeerChallenge, r.AuthenticatorChallenge, r.UserName)
		if v.AuthenticatorResponse != want {
			out = append(out, fail("AuthenticatorResponse %q is not RFC 2759 section 8.7's %q", v.AuthenticatorResponse, want))
		}
		send, recv := mschapv2.MasterSessionKeys(hashHash, r.NTResponse, true)
		if *v.SendKey != send || *v.RecvKey != recv {
			out = append(out, fail("SendKey/RecvKey are not the server's MPPE master keys of RFC 3079 section 3"))
		}
	default:
		out = append(out, fail("an accepting verdict carries neither PasswordHashHash nor the authenticator response with both keys"))
	}
	return out
}

func checkFragments(ctx context.Context, e *env) []result {
	if !e.desc.Has(sdk.CapFragments) {
		return []result{skip("capability fragments not declared")}
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	var out []result
	frags, err := e.c.Fragments(cctx, e.unknownUser())
	out = append(out, panicked("unknown user", err)...)
	switch {
	case err != nil:
		out = append(out, fail("unknown user: an error instead of no fragments: %v", err))
	case len(frags) > 0:
		out = append(out, fail("unknown user: %d fragments", len(frags)))
	}
	if e.o.User == "" {
		return append(out, skip("no Options.User: known-user checks skipped"))
	}
	frags, err = e.c.Fragments(cctx, e.o.User)
	out = append(out, panicked("known user", err)...)
	if err != nil {
		return append(out, fail("known user: %v", err))
	}
	if len(frags) == 0 {
		out = append(out, fail("no fragments for Options.User %q", e.o.User))
	}
	for i, f := range frags {
		if len(e.desc.FragmentLengths) > 0 && !slices.Contains(e.desc.FragmentLengths, len(f.Secret)) {
			out = append(out, fail("fragment %d is %d bytes long; the description declares %v", i, len(f.Secret), e.desc.FragmentLengths))
		}
		if f.Token != "" && strings.Contains(f.Token, f.Secret) {
			out = append(out, fail("fragment %d: the token contains the secret; tokens are logged", i))
		}
	}
	if !e.desc.Has(sdk.CapVerifyPlaintext) {
		return out
	}
	// Every fragment is a secret the user may type: VerifyPlaintext must
	// accept it, twice, since verifying consumes nothing.
	for i, f := range frags {
		for range 2 {
			v, err := e.c.VerifyPlaintext(cctx, e.o.User, f.Secret)
			if err != nil || !v.OK {
				out = append(out, fail("fragment %d is not accepted by VerifyPlaintext (verifying must not consume): %v %s", i, err, v.Reason))
				break
			}
		}
	}
	return out
}

func checkLookup(ctx context.Context, e *env) []result {
	if !e.desc.Has(sdk.CapIdentity) {
		return []result{skip("capability identity not declared")}
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	var out []result
	id, err := e.c.Lookup(cctx, e.unknownUser())
	out = append(out, panicked("unknown user", err)...)
	switch {
	case err != nil:
		out = append(out, fail("unknown user: an error instead of Found false: %v", err))
	case id.Found:
		out = append(out, fail("unknown user %q found", e.unknownUser()))
	}
	if e.o.User == "" {
		return append(out, skip("no Options.User: known-user checks skipped"))
	}
	id, err = e.c.Lookup(cctx, e.o.User)
	out = append(out, panicked("known user", err)...)
	switch {
	case err != nil:
		out = append(out, fail("known user: %v", err))
	case !id.Found:
		out = append(out, fail("Options.User %q not found", e.o.User))
	}
	if e.o.Secret != "" {
		texts := append([]string{}, id.Groups...)
		for k, vs := range id.Attributes {
			texts = append(texts, k)
			texts = append(texts, vs...)
		}
		out = append(out, leaks("the identity", []string{e.o.Secret}, texts...)...)
	}
	return out
}

func checkCommit(ctx context.Context, e *env) []result {
	cctx, cancel := e.call(ctx)
	defer cancel()
	// A token the back-end never issued: any answer but a panic will do.
	err := e.c.Commit(cctx, e.unknownUser(), "sdktest-bogus-token")
	out := panicked("bogus token", err)
	if err != nil {
		out = append(out, leaks("Commit error", []string{wrongSecret, e.o.Secret}, err.Error())...)
	}
	if _, ok := e.b.(sdk.Committer); !ok && err != nil {
		out = append(out, fail("a back-end without Committer must commit successfully; got %v", err))
	}
	return out
}

func checkHealth(ctx context.Context, e *env) []result {
	if _, ok := e.b.(sdk.HealthChecker); !ok {
		return []result{skip("no sdk.HealthChecker")}
	}
	cctx, cancel := e.call(ctx)
	defer cancel()
	if err := e.c.Health(cctx); err != nil {
		return []result{fail("Health: %v", err)}
	}
	return nil
}

// checkConcurrency makes the calls of the other checks at once; run the
// tests with -race to catch data races in the back-end.
func checkConcurrency(ctx context.Context, e *env) []result {
	const n = 16
	cctx, cancel := e.call(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	report := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	user := e.o.User
	if user == "" {
		user = e.unknownUser()
	}
	for range n {
		wg.Go(func() {
			_, err := e.c.Describe(cctx)
			report(err)
			if e.desc.Has(sdk.CapVerifyPlaintext) {
				_, err := e.c.VerifyPlaintext(cctx, user, wrongSecret)
				report(err)
			}
			if e.desc.Has(sdk.CapVerifyMSCHAPv2) {
				_, err := e.c.VerifyMSCHAPv2(cctx, user, mschapv2Request(user, wrongSecret))
				report(err)
			}
			if e.desc.Has(sdk.CapFragments) {
				_, err := e.c.Fragments(cctx, user)
				report(err)
			}
			if e.desc.Has(sdk.CapIdentity) {
				_, err := e.c.Lookup(cctx, user)
				report(err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return []result{fail("%d of the concurrent calls failed, first: %v", len(errs), errs[0])}
	}
	return nil
}
