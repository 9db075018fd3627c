package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

func TestSessionsPage(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	for _, p := range []string{"/ui/", "/ui/sessions"} {
		w := br.get(p)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", p, w.Code)
		}
		for _, want := range []string{
			`id="sessions-table"`, `data-live="/ui/sessions/live"`, `<tr data-session-id="s1" class="session">`,
			`>203.0.113.7<`, `>10.8.0.2<`, `>Password and OATH<`, `>mppe-128 stateless<`,
			`<time datetime="2026-05-01T08:30:00Z">2026-05-01 08:30:00 UTC</time>`, `>1h 30m<`, `>1.0 MiB<`, `>2.0 KiB<`,
			`href="/ui/logs?session=s1"`, `<th scope="col">User</th>`, `class="skip" href="#main"`, `aria-current="page"`,
			`id="sessions-count"`, `2 of 2 session(s)`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", p, want)
			}
		}
	}
	body := br.get("/ui/sessions?q=203.0.113").Body.String()
	if !strings.Contains(body, `data-session-id="s1"`) || strings.Contains(body, `data-session-id="s2"`) {
		t.Error("filter by client did not select s1 alone")
	}
	body = br.get("/ui/sessions?q=nobody").Body.String()
	if !strings.Contains(body, "No sessions match the filter.") {
		t.Error("empty filter result not said")
	}
}

func TestLiveRows(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.get("/ui/sessions/live")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("live: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if strings.Contains(body, "<html") || strings.Contains(body, "<table") || strings.Contains(body, `id="flash"`) {
		t.Errorf("live rows are not a fragment: %s", body)
	}
	if strings.Count(body, "<tr data-session-id=") != 2 || w.Header().Get("X-Sessions-Total") != "2" {
		t.Errorf("live rows: %s (total %q)", body, w.Header().Get("X-Sessions-Total"))
	}
	// A new session shows in the next poll, without a reload.
	h.b.mu.Lock()
	h.b.sessions = append(h.b.sessions, Session{ID: "s3", User: "carol", Client: "192.0.2.44", Service: "vpn", Started: t0})
	h.b.mu.Unlock()
	if body := br.get("/ui/sessions/live").Body.String(); !strings.Contains(body, `data-session-id="s3"`) {
		t.Error("new session not in the live rows")
	}
	// The filter applies.
	if body := br.get("/ui/sessions/live?q=CAROL").Body.String(); strings.Count(body, "data-session-id=") != 1 {
		t.Errorf("filtered live rows: %s", body)
	}
	// A flash waits for the next page, not the poll.
	br.post("/ui/users/bob/unlock", nil)
	br.get("/ui/sessions/live")
	if !strings.Contains(br.get("/ui/users/bob").Body.String(), `id="flash"`) {
		t.Error("the poll ate the flash")
	}
}

func TestDisconnect(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.get("/ui/sessions/disconnect?id=s1")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `id="disconnect-confirm"`) ||
		!strings.Contains(body, `<input type="hidden" name="id" value="s1">`) || !strings.Contains(body, `>Disconnect</button>`) {
		t.Fatalf("confirm page: %d %s", w.Code, body)
	}
	if len(h.b.changed()) != 0 {
		t.Fatal("the confirm page disconnected")
	}
	if w := br.get("/ui/sessions/disconnect?id=gone"); w.Code != http.StatusNotFound {
		t.Errorf("confirm page for an ended session: %d, want 404", w.Code)
	}
	w = br.post("/ui/sessions/disconnect", url.Values{"id": {"s1"}})
	if f := br.flashOf(w); f != `Disconnected session &#34;s1&#34;.` {
		t.Errorf("flash %q", f)
	}
	if w.Header().Get("Location") != "/ui/sessions" {
		t.Errorf("redirect to %q", w.Header().Get("Location"))
	}
	// An ended session is the operator's mistake, with the error's text.
	w = br.post("/ui/sessions/disconnect", url.Values{"id": {"gone"}})
	if f := br.flashOf(w); !strings.Contains(f, "Not done") || !strings.Contains(f, "not found") {
		t.Errorf("flash %q", f)
	}
}

func TestFlash(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.post("/ui/users/bob/vpn", url.Values{"vpn": {"on"}})
	if w.Header().Get("Location") != "/ui/users/bob" {
		t.Fatalf("redirect to %q", w.Header().Get("Location"))
	}
	page := br.get("/ui/users/bob").Body.String()
	if !strings.Contains(page, `<p id="flash" class="flash flash-ok" role="status">Set the VPN access of &#34;bob&#34; to on.</p>`) {
		t.Errorf("no flash: %s", page)
	}
	if strings.Contains(br.get("/ui/users/bob").Body.String(), `id="flash"`) {
		t.Error("flash shown twice")
	}
	// Flashes are per session, not per operator.
	other := h.signIn("admin", "admin-pw")
	br.post("/ui/users/bob/unlock", nil)
	if strings.Contains(other.get("/ui/users/bob").Body.String(), `id="flash"`) {
		t.Error("flash shown to another session")
	}

	// The operator's mistakes.
	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/ui/users", url.Values{"name": {"bob"}}, `Not done: user &#34;bob&#34;: already exists`},
		{"/ui/users", url.Values{"name": {""}}, "Not done: a new user needs a name"},
		{"/ui/users", url.Values{"name": {"x"}, "vpn": {"maybe"}}, "Not done: VPN access must be use_group, on or off"},
		{"/ui/users/bob/vpn", url.Values{"vpn": {"sometimes"}}, "Not done: VPN access must be"},
		{"/ui/users/bob/password", url.Values{"password": {""}}, "Not done: enter the new password"},
		{"/ui/groups", url.Values{"name": {"staff"}}, "already exists"},
		{"/ui/tokens/enroll", url.Values{"user": {"bob"}, "kind": {"sms"}}, "Not done: the token kind must be totp or hotp"},
		{"/ui/tokens/enroll", url.Values{"user": {"bob"}, "kind": {"totp"}, "digits": {"7"}}, "Not done: a token has 6 or 8 digits"},
		{"/ui/tokens/resync", url.Values{"serial": {"T1"}, "code1": {"12"}, "code2": {"abcdef"}}, "Not done: enter two consecutive codes"},
		{"/ui/tokens/assign", url.Values{"serial": {"T1"}}, "Not done: enter the user"},
		{"/ui/groups/ops/members/add", url.Values{}, "Not done: enter a user name"},
		{"/ui/tokens/import", url.Values{}, "Not done: choose a PSKC file"},
	} {
		w := br.post(tc.path, tc.form)
		if f := br.flashOf(w); !strings.Contains(f, tc.want) {
			t.Errorf("POST %s %v: flash %q, want %q", tc.path, tc.form, f, tc.want)
		}
	}
	if strings.Contains(br.get("/ui/users").Body.String(), "flash-ok") {
		t.Error("a mistake shown as success")
	}

	// A failure is not the operator's mistake: it says "failed" and is
	// logged.
	h.b.fail = errors.New("disk <full>")
	w = br.post("/ui/users/bob/unlock", nil)
	if f := br.flashOf(w); f != `Failed to unlock &#34;bob&#34;: disk &lt;full&gt;` {
		t.Errorf("failure flash %q", f)
	}
	h.b.fail = fmt.Errorf("user: %w", ErrInvalid)
	w = br.post("/ui/users/bob/unlock", nil)
	if f := br.flashOf(w); f != `Not done: user: invalid` {
		t.Errorf("mistake flash %q", f)
	}
}

func TestCreateUser(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.post("/ui/users", url.Values{"name": {" dave "}, "vpn": {"use_group"}, "groups": {"staff", "staff", ""}})
	if w.Header().Get("Location") != "/ui/users/dave" {
		t.Errorf("created user: redirect to %q", w.Header().Get("Location"))
	}
	if got := h.b.changed(); len(got) != 1 || got[0] != "CreateUser admin dave groups=staff vpn= pw=false" {
		t.Errorf("calls %v", got)
	}
}

func TestUserNamesInPaths(t *testing.T) {
	h := newHarness(t)
	for _, name := range []string{"a/b", "x?y#z", "ü ser", "%41"} {
		h.b.users[name] = &User{Name: name, VPN: "on"}
	}
	br := h.signIn("admin", "admin-pw")
	for _, name := range []string{"a/b", "x?y#z", "ü ser", "%41"} {
		users := br.get("/ui/users").Body.String()
		link := `href="` + userURL(name) + `"`
		if !strings.Contains(users, link) {
			t.Errorf("users page lacks %s", link)
		}
		w := br.get(userURL(name))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-user="`) {
			t.Errorf("user %q page: %d", name, w.Code)
		}
		w = br.post(userURL(name)+"/unlock", nil)
		if got := h.b.changed(); got[len(got)-1] != "Unlock admin "+name {
			t.Errorf("unlock %q: calls %v", name, got)
		}
		if loc := w.Header().Get("Location"); loc != userURL(name) {
			t.Errorf("unlock %q: back to %q", name, loc)
		}
	}
	if w := br.get("/ui/users/nobody"); w.Code != http.StatusNotFound {
		t.Errorf("unknown user: %d, want 404", w.Code)
	}
}

func TestLogsPage(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.get("/ui/logs")
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("logs: %d", w.Code)
	}
	// Newest first.
	admin, refused, accepted := strings.Index(body, "admin change"), strings.Index(body, "login refused"), strings.Index(body, "login accepted")
	if admin < 0 || refused < 0 || accepted < 0 || admin > refused || refused > accepted {
		t.Errorf("events not newest first: %d %d %d", admin, refused, accepted)
	}
	for _, want := range []string{
		`id="logs-table"`, `data-kind="login" data-result="refused"`, `<ul class="branches"`,
		`<span class="branch-name">Password and OATH</span>: <span class="outcome">rejected</span> — <span class="branch-reason">wrong one-time code</span>`,
		`<span class="branch-name">DIGIPASS</span>: <span class="outcome">failed</span> — <span class="branch-reason">plugin &lt;b&gt;timeout&lt;/b&gt;</span>`,
		`<option value="sign_in">sign_in</option>`, `By admin`, `href="/ui/logs?session=s1"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("logs page lacks %s", want)
		}
	}
	if h.b.lastFilter.Limit != pageLimit {
		t.Errorf("limit %d, want %d", h.b.lastFilter.Limit, pageLimit)
	}

	w = br.get("/ui/logs?user=bob&client=203.0.113.0%2F24&kind=login&result=accepted&since=1h&until=2026-05-01T10%3A00%3A00Z&session=s1&limit=5000")
	if w.Code != http.StatusOK {
		t.Fatalf("search: %d %s", w.Code, w.Body)
	}
	f := h.b.lastFilter
	want := events.Filter{User: "bob", Client: f.Client, SessionID: "s1", Kinds: []events.Kind{events.KindLogin},
		Result: events.Accepted, Since: t0.Add(-time.Hour), Until: t0, Limit: maxPageLimit}
	if f.Client.String() != "203.0.113.0/24" || fmt.Sprint(f) != fmt.Sprint(want) {
		t.Errorf("filter %+v, want %+v", f, want)
	}
	body = w.Body.String()
	for _, want := range []string{`<option value="login" selected>`, `<option value="accepted" selected>`, `value="1h"`, `value="203.0.113.0/24"`} {
		if !strings.Contains(body, want) {
			t.Errorf("search form lost %s", want)
		}
	}
	if body := br.get("/ui/logs?session=s1").Body.String(); strings.Count(body, `<tr class="event`) != 1 {
		t.Error("session link does not select the session's events")
	}
}

func TestEnroll(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	w := br.post("/ui/tokens/enroll", url.Values{"user": {"bob"}, "kind": {"totp"}})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("enroll: %d %s", w.Code, body)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	if !regexp.MustCompile(`<img id="enroll-qr" class="qr" src="data:image/png;base64,iVBORw0KGgpmYWtl"`).MatchString(body) {
		t.Errorf("no QR data URI: %s", body)
	}
	if !strings.Contains(body, `id="enroll-uri"`) || !strings.Contains(body, "otpauth://totp/Gatehouse:bob?secret=JBSWY3DPEHPK3PXP&amp;issuer=Gatehouse") {
		t.Errorf("no key URI: %s", body)
	}
	if got := h.b.changed(); len(got) != 1 || got[0] != "Enroll admin bob totp 6" {
		t.Errorf("calls %v", got)
	}
	// Shown once: no other page has it.
	for _, p := range []string{"/ui/tokens", "/ui/users/bob", "/ui/sessions"} {
		if strings.Contains(br.get(p).Body.String(), "JBSWY3DPEHPK3PXP") {
			t.Errorf("%s shows the key", p)
		}
	}
}

func TestImport(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	send := func(form url.Values, file []byte) *httptest.ResponseRecorder {
		form.Set(csrfField, br.csrf)
		body, ct := multipartBody(t, form, "file", "t.pskc", file)
		return h.do(request{method: "POST", target: "/ui/tokens/import", body: body, contentType: ct, cookie: br.cookie})
	}
	r := send(url.Values{"psk": {"00112233445566778899aabbccddeeff"}}, []byte("<KeyContainer/>"))
	if r.Code != http.StatusSeeOther {
		t.Fatalf("import: %d", r.Code)
	}
	if f := br.flashOf(r); f != `Imported 2 token(s) from &#34;t.pskc&#34;.` {
		t.Errorf("flash %q", f)
	}
	r = send(url.Values{"psk": {"zz"}}, []byte("<KeyContainer/>"))
	if f := br.flashOf(r); !strings.Contains(f, "must be written in hex") {
		t.Errorf("bad PSK flash %q", f)
	}
	r = send(url.Values{}, []byte{})
	if f := br.flashOf(r); !strings.Contains(f, "empty") {
		t.Errorf("empty file flash %q", f)
	}
	// Exactly 1 MiB is taken; more is refused before the back end.
	n := len(h.b.changed())
	r = send(url.Values{}, make([]byte, MaxUpload))
	if r.Code != http.StatusSeeOther || len(h.b.changed()) != n+1 {
		t.Errorf("1 MiB file: %d, calls %v", r.Code, h.b.changed()[n:])
	}
	r = send(url.Values{}, make([]byte, MaxUpload+1))
	if r.Code != http.StatusSeeOther && r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("file over 1 MiB: %d", r.Code)
	}
	r = send(url.Values{}, make([]byte, 2*MaxUpload))
	if r.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB file: %d, want 413", r.Code)
	}
	if len(h.b.changed()) != n+1 {
		t.Errorf("oversize files reached the back end: %v", h.b.changed()[n:])
	}
}

func TestDryRun(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	page := br.get("/ui/policies").Body.String()
	for _, want := range []string{`data-service="vpn"`, `<pre class="explain">policy &lt;tree&gt;`, `Nothing is consumed`} {
		if !strings.Contains(page, want) {
			t.Errorf("policies page lacks %s", want)
		}
	}
	const secret = "s3cret-pa55+123456"
	w := br.post("/ui/policies/dryrun", url.Values{"service": {"vpn"}, "user": {"bob"}, "secret": {secret}, "credential": {"mschapv2"}})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("dry run: %d %s", w.Code, body)
	}
	if strings.Contains(body, secret) {
		t.Error("the secret is echoed into the page")
	}
	for _, want := range []string{`id="dryrun-result"`, `data-accepted="true"`, "accepted by Password and OATH", "with REDACTED (mschapv2)",
		`<input id="dryrun-secret" name="secret" type="password" autocomplete="off">`, `value="bob"`, `<option value="mschapv2" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("dry-run page lacks %s", want)
		}
	}
	w = br.post("/ui/policies/dryrun", url.Values{"service": {"vpn"}, "user": {"bob"}, "credential": {"telepathy"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="dryrun-error"`) {
		t.Errorf("bad credential: %d", w.Code)
	}
}

func TestStatusPage(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("viewer", "viewer-pw")
	body := br.get("/ui/status").Body.String()
	for _, want := range []string{
		`id="status-version">1.2.3<`, `id="status-uptime">2d 0h<`, `2 in use, 250 free`, `id="plugins-table"`,
		`data-plugin="ldap"`, `>4242<`, `exit 1`, `id="frontdoors-table"`, `>:1723<`, `id="metrics-table"`, `logins_total`, `>42<`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %s", want)
		}
	}
}

func TestStatic(t *testing.T) {
	h := newHarness(t)
	for p, ct := range map[string]string{"/ui/static/console.css": "text/css", "/ui/static/console.js": "text/javascript"} {
		w := h.do(request{method: "GET", target: p})
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), ct) || w.Body.Len() == 0 {
			t.Errorf("%s: %d %q", p, w.Code, w.Header().Get("Content-Type"))
		}
	}
	for _, p := range []string{"/ui/static/", "/ui/static/nothing.js", "/ui/static/../templates/layout.html"} {
		if w := h.do(request{method: "GET", target: p}); w.Code == http.StatusOK {
			t.Errorf("%s: 200", p)
		}
	}
	if w := h.do(request{method: "POST", target: "/ui/static/console.js"}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST static: %d", w.Code)
	}
}

func TestNotFound(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	for _, p := range []string{"/ui/nothing", "/ui/users/bob/disable", "/ui/tokens/enroll"} {
		if w := br.get(p); w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
	if w := h.do(request{method: "GET", target: "/elsewhere"}); w.Code != http.StatusNotFound {
		t.Errorf("outside /ui/: %d", w.Code)
	}
	if w := h.do(request{method: "GET", target: "/ui"}); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/ui/" {
		t.Errorf("/ui: %d %q", w.Code, w.Header().Get("Location"))
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("no backend: no error")
	}
	for _, cfg := range []Config{{IdleTimeout: -1}, {MaxAge: -1}, {SignInRate: -1}, {SignInBurst: -1}} {
		if _, err := New(cfg, newFake(), nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	c, err := New(Config{Title: "Branch <office>"}, newFake(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, httptest.NewRequest("GET", "/ui/signin", nil))
	if !strings.Contains(w.Body.String(), "<title>Sign in · Branch &lt;office&gt;</title>") {
		t.Errorf("title not used: %s", w.Body)
	}
}
