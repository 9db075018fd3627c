package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignIn(t *testing.T) {
	h := newHarness(t)
	w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", "192.0.2.10:4000")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/sessions" {
		t.Fatalf("good sign-in: %d to %q, want 303 to /ui/sessions", w.Code, w.Header().Get("Location"))
	}
	ck := sessionCookie(w)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui/" {
		t.Errorf("cookie %+v: want Secure, HttpOnly, SameSite=Strict, Path=/ui/", ck)
	}
	if len(ck.Value) < 43 { // 256 bits in base64
		t.Errorf("session id %q is short", ck.Value)
	}
	if got := h.b.signIns; len(got) != 1 || got[0] != (signInRecord{"admin", "192.0.2.10", true, ""}) {
		t.Errorf("recorded %+v", got)
	}
	page := h.do(request{method: "GET", target: "/ui/sessions", cookie: ck.Value})
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `<span class="operator-name">admin</span>`) {
		t.Errorf("signed-in page: %d, no operator name in the nav bar", page.Code)
	}

	for _, tc := range []struct{ name, password string }{{"admin", "wrong"}, {"nobody", "admin-pw"}} {
		w := h.postForm("/ui/signin", url.Values{"name": {tc.name}, "password": {tc.password}}, "", "192.0.2.11:4000")
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s/%s: %d, want 401", tc.name, tc.password, w.Code)
		}
		if sessionCookie(w) != nil {
			t.Errorf("%s/%s: a failed sign-in set a cookie", tc.name, tc.password)
		}
		if !strings.Contains(w.Body.String(), "Wrong name or password.") {
			t.Errorf("%s/%s: no message", tc.name, tc.password)
		}
	}
	for _, r := range h.b.signIns {
		if strings.Contains(r.Reason, "pw") || strings.Contains(r.Reason, "wrong\"") {
			t.Errorf("a recorded sign-in holds the password: %+v", r)
		}
	}
	if got := h.b.signIns[1:]; len(got) != 2 || got[0].OK || got[1].OK || got[0].Reason == "" {
		t.Errorf("failed sign-ins recorded as %+v", got)
	}

	// An empty form is not an attempt.
	w = h.postForm("/ui/signin", url.Values{"name": {"admin"}}, "", "")
	if w.Code != http.StatusBadRequest {
		t.Errorf("no password: %d, want 400", w.Code)
	}
}

func TestSignInBackendError(t *testing.T) {
	h := newHarness(t)
	h.b.signInErr = errors.New("store locked")
	w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", "")
	if w.Code != http.StatusServiceUnavailable || sessionCookie(w) != nil {
		t.Errorf("backend error: %d, cookie %v", w.Code, sessionCookie(w))
	}
	if len(h.b.signIns) != 1 || h.b.signIns[0].OK {
		t.Errorf("recorded %+v", h.b.signIns)
	}
}

func TestSignInNext(t *testing.T) {
	h := newHarness(t)
	w := h.do(request{method: "GET", target: "/ui/logs?user=bob"})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || loc != "/ui/signin?next=%2Fui%2Flogs%3Fuser%3Dbob" {
		t.Fatalf("signed-out logs: %d to %q", w.Code, loc)
	}
	page := h.do(request{method: "GET", target: loc})
	if !strings.Contains(page.Body.String(), `name="next" value="/ui/logs?user=bob"`) {
		t.Errorf("sign-in page lost next: %s", page.Body)
	}
	for next, want := range map[string]string{
		"/ui/logs?user=bob":      "/ui/logs?user=bob",
		"//evil.example/ui/":     "/ui/sessions",
		"https://evil.example/":  "/ui/sessions",
		"/ui/\\evil":             "/ui/sessions",
		"/ui/signout":            "/ui/sessions",
		"/elsewhere":             "/ui/sessions",
		"/ui/static/console.css": "/ui/sessions",
	} {
		w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}, "next": {next}}, "", "")
		if got := w.Header().Get("Location"); got != want {
			t.Errorf("next %q: redirected to %q, want %q", next, got, want)
		}
	}
}

func TestSignInRateLimitPerAddress(t *testing.T) {
	h := newHarness(t)
	addr := "198.51.100.1:5555"
	for i := range DefaultSignInBurst {
		w := h.postForm("/ui/signin", url.Values{"name": {"u" + strconv.Itoa(i)}, "password": {"x"}}, "", addr)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, w.Code)
		}
	}
	// Even the right password is not tried now.
	w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", addr)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d, want 429", DefaultSignInBurst, w.Code)
	}
	if ra, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if !strings.Contains(w.Body.String(), "Too many failed sign-ins") {
		t.Errorf("no clear message: %s", w.Body)
	}
	if sessionCookie(w) != nil {
		t.Error("a limited sign-in set a cookie")
	}
	last := h.b.signIns[len(h.b.signIns)-1]
	if last.OK || last.Reason != "too many failed sign-ins" {
		t.Errorf("limited attempt recorded as %+v", last)
	}
	// Another address is not limited.
	if w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", "198.51.100.2:1"); w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d, want 303", w.Code)
	}
	// One failure a minute comes back at the default rate (5 a minute: a
	// token every 12 s).
	h.clock.advance(13 * time.Second)
	if w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", addr); w.Code != http.StatusSeeOther {
		t.Errorf("after waiting: %d, want 303", w.Code)
	}

	// IPv6 clients are counted by /64.
	for i := range DefaultSignInBurst {
		h.postForm("/ui/signin", url.Values{"name": {"v" + strconv.Itoa(i)}, "password": {"x"}}, "", "[2001:db8::"+strconv.Itoa(i+1)+"]:1")
	}
	if w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", "[2001:db8::ff]:1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("same /64: %d, want 429", w.Code)
	}
}

func TestSignInRateLimitPerName(t *testing.T) {
	h := newHarnessConfig(t, Config{SignInRate: 2, SignInBurst: 3})
	for i := range 3 {
		remote := "203.0.113." + strconv.Itoa(i+1) + ":1"
		if w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"guess"}}, "", remote); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	w := h.postForm("/ui/signin", url.Values{"name": {"Admin"}, "password": {"admin-pw"}}, "", "203.0.113.99:1")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th try at the name from a new address: %d, want 429", w.Code)
	}
	if w.Header().Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q, want 30 (2 a minute)", w.Header().Get("Retry-After"))
	}
	// Other names are not limited.
	if w := h.postForm("/ui/signin", url.Values{"name": {"viewer"}, "password": {"viewer-pw"}}, "", "203.0.113.99:1"); w.Code != http.StatusSeeOther {
		t.Errorf("another name: %d, want 303", w.Code)
	}
	h.clock.advance(30 * time.Second)
	if w := h.postForm("/ui/signin", url.Values{"name": {"admin"}, "password": {"admin-pw"}}, "", "203.0.113.99:1"); w.Code != http.StatusSeeOther {
		t.Errorf("after Retry-After: %d, want 303", w.Code)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		h := newHarness(t)
		br := h.signIn("admin", "admin-pw")
		h.clock.advance(DefaultIdleTimeout - time.Second)
		if w := br.get("/ui/status"); w.Code != http.StatusOK {
			t.Fatalf("within the idle timeout: %d", w.Code)
		}
		h.clock.advance(DefaultIdleTimeout - time.Second)
		if w := br.get("/ui/status"); w.Code != http.StatusOK {
			t.Fatalf("activity did not move the idle timeout on: %d", w.Code)
		}
		// The live poll is not activity.
		for range 30 {
			h.clock.advance(time.Minute)
			if w := br.get("/ui/sessions/live"); w.Code != http.StatusOK && w.Code != http.StatusUnauthorized {
				t.Fatalf("poll: %d", w.Code)
			}
		}
		w := br.get("/ui/status")
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/signin") {
			t.Fatalf("after the idle timeout: %d to %q", w.Code, w.Header().Get("Location"))
		}
		if ck := sessionCookie(w); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("expired cookie not cleared: %+v", ck)
		}
		if h.c.sessions.len() != 0 {
			t.Error("expired session kept")
		}
	})
	t.Run("absolute", func(t *testing.T) {
		h := newHarnessConfig(t, Config{MaxAge: time.Hour, IdleTimeout: 20 * time.Minute})
		br := h.signIn("admin", "admin-pw")
		for range 5 {
			h.clock.advance(10 * time.Minute)
			if w := br.get("/ui/status"); w.Code != http.StatusOK {
				t.Fatalf("busy session ended early: %d", w.Code)
			}
		}
		h.clock.advance(10 * time.Minute)
		if w := br.get("/ui/status"); w.Code != http.StatusSeeOther {
			t.Fatalf("after MaxAge: %d, want 303", w.Code)
		}
		if w := br.get("/ui/sessions/live"); w.Code != http.StatusUnauthorized {
			t.Fatalf("live after MaxAge: %d, want 401", w.Code)
		}
	})
}

func TestNewSessionPerSignIn(t *testing.T) {
	h := newHarness(t)
	first := h.signIn("admin", "admin-pw")
	// Signing in again with the old cookie gives a new id and ends the
	// old session: an id known before sign-in is never the one in use.
	w := h.do(request{method: "POST", target: "/ui/signin", cookie: first.cookie,
		body:        strings.NewReader(url.Values{"name": {"viewer"}, "password": {"viewer-pw"}}.Encode()),
		contentType: "application/x-www-form-urlencoded"})
	ck := sessionCookie(w)
	if w.Code != http.StatusSeeOther || ck == nil || ck.Value == first.cookie {
		t.Fatalf("second sign-in: %d, cookie %+v", w.Code, ck)
	}
	if w := first.get("/ui/status"); w.Code != http.StatusSeeOther {
		t.Errorf("old session still works: %d", w.Code)
	}
	// A planted, unknown id is not adopted.
	w = h.do(request{method: "POST", target: "/ui/signin", cookie: "planted-by-attacker",
		body:        strings.NewReader(url.Values{"name": {"admin"}, "password": {"admin-pw"}}.Encode()),
		contentType: "application/x-www-form-urlencoded"})
	if ck := sessionCookie(w); ck == nil || ck.Value == "planted-by-attacker" {
		t.Errorf("planted id adopted: %+v", ck)
	}
	if w := h.do(request{method: "GET", target: "/ui/status", cookie: "planted-by-attacker"}); w.Code != http.StatusSeeOther {
		t.Errorf("planted id works: %d", w.Code)
	}
}

func TestSignOut(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("viewer", "viewer-pw")
	// Without the token: refused, still signed in.
	w := h.postForm("/ui/signout", url.Values{}, br.cookie, "")
	if w.Code != http.StatusForbidden {
		t.Errorf("sign-out without CSRF token: %d, want 403", w.Code)
	}
	if w := br.get("/ui/status"); w.Code != http.StatusOK {
		t.Fatalf("signed out by a forged request: %d", w.Code)
	}
	if w := br.get("/ui/signout"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="signout-confirm"`) {
		t.Errorf("sign-out page: %d", w.Code)
	}
	w = br.post("/ui/signout", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/signin" {
		t.Fatalf("sign-out: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if ck := sessionCookie(w); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
		t.Errorf("cookie not cleared: %+v", ck)
	}
	if w := br.get("/ui/status"); w.Code != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want 303", w.Code)
	}
	if h.c.sessions.len() != 0 {
		t.Error("session kept after sign-out")
	}
}

func TestSignInPageWhenSignedIn(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.get("/ui/signin?next=%2Fui%2Ftokens")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/tokens" {
		t.Errorf("sign-in page when signed in: %d to %q", w.Code, w.Header().Get("Location"))
	}
	w = h.do(request{method: "GET", target: "/ui/signin"})
	body := w.Body.String()
	for _, hook := range []string{`id="signin"`, `name="name"`, `name="password"`, `type="password"`} {
		if !strings.Contains(body, hook) {
			t.Errorf("sign-in page lacks %s", hook)
		}
	}
	if strings.Contains(body, `id="nav"`) && strings.Contains(body, "Sign out") {
		t.Error("signed-out page shows the sign-out button")
	}
}

// TestAccountRecheckedEveryRequest: an account removed after sign-in is
// signed out at its next request; one demoted to viewer can change nothing
// from then on, without signing in again.
func TestAccountRecheckedEveryRequest(t *testing.T) {
	h := newHarness(t)
	op := h.signIn("admin", "admin-pw")
	gone := h.signIn("viewer", "viewer-pw")

	h.b.mu.Lock()
	a := h.b.accounts["admin"]
	a.role = Viewer
	h.b.accounts["admin"] = a
	delete(h.b.accounts, "viewer")
	h.b.mu.Unlock()

	if w := op.post("/ui/groups", url.Values{"name": {"ops"}}); w.Code != http.StatusForbidden {
		t.Errorf("demoted operator's change: %d, want 403", w.Code)
	}
	if w := op.get("/ui/users"); w.Code != http.StatusOK || strings.Contains(w.Body.String(), `id="create-user"`) {
		t.Errorf("demoted operator still sees the create form (status %d)", w.Code)
	}
	if w := gone.get("/ui/status"); w.Code != http.StatusSeeOther {
		t.Errorf("removed account's page: %d, want 303 to sign-in", w.Code)
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	for _, c := range h.b.changes {
		if strings.HasPrefix(c, "CreateGroup") {
			t.Errorf("change made by a demoted account: %s", c)
		}
	}
}
