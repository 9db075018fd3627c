package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestSignedOutRedirects(t *testing.T) {
	h := newHarness(t)
	for _, p := range append(getPages, "/ui/no-such-page", "/ui/sessions/disconnect?id=s1") {
		w := h.do(request{method: "GET", target: p})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/signin") {
			t.Errorf("GET %s signed out: %d to %q, want 303 to sign-in", p, w.Code, w.Header().Get("Location"))
		}
		// A stale cookie is the same as none.
		w = h.do(request{method: "GET", target: p, cookie: "stale"})
		if w.Code != http.StatusSeeOther {
			t.Errorf("GET %s with a stale cookie: %d, want 303", p, w.Code)
		}
	}
	if w := h.do(request{method: "GET", target: "/ui/sessions/live"}); w.Code != http.StatusUnauthorized {
		t.Errorf("live rows signed out: %d, want 401", w.Code)
	}
	for _, pr := range append(postRoutes, postRoute{path: "/ui/signout"}) {
		w := pr.send(h, "", "", nil)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("POST %s signed out: %d, want 401", pr.path, w.Code)
		}
	}
	if got := h.b.changed(); len(got) != 0 {
		t.Errorf("signed-out posts made calls: %v", got)
	}
	// The sign-in page and the assets are public.
	for _, p := range []string{"/ui/signin", "/ui/static/console.css", "/ui/static/console.js"} {
		if w := h.do(request{method: "GET", target: p}); w.Code != http.StatusOK {
			t.Errorf("GET %s signed out: %d, want 200", p, w.Code)
		}
	}
}

func checkHeaders(t *testing.T, what string, w http.Header, page bool) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	if page {
		want["Cache-Control"] = "no-store"
	}
	for k, v := range want {
		if got := w.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/ui/signin", "/ui/sessions", "/ui/nothing"} {
		checkHeaders(t, "signed-out "+p, h.do(request{method: "GET", target: p}).Header(), true)
	}
	for _, p := range []string{"/ui/static/console.css", "/ui/static/console.js", "/ui/static/nothing"} {
		checkHeaders(t, p, h.do(request{method: "GET", target: p}).Header(), false)
	}
	br := h.signIn("admin", "admin-pw")
	for _, p := range append(getPages, "/ui/sessions/live", "/ui/nothing", "/ui/users/nobody", "/ui/logs?kind=nope",
		"/ui/sessions/disconnect?id=s1", "/ui/sessions/disconnect?id=gone") {
		w := br.get(p)
		checkHeaders(t, p, w.Header(), true)
		if w.Code >= 500 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	for _, pr := range postRoutes {
		w := pr.send(h, br.cookie, br.csrf, nil)
		checkHeaders(t, "POST "+pr.path, w.Header(), true)
	}
	// 403s and errors too.
	checkHeaders(t, "forbidden", h.postForm("/ui/users", url.Values{}, br.cookie, "").Header(), true)
}

// tagRE finds the tags of a page (escaped text has no "<"), and
// inlineRE what the CSP forbids in one: inline script, inline style,
// event-handler attributes, javascript: URLs.
var (
	tagRE    = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	inlineRE = regexp.MustCompile(`(?i)^<script>|^<script(?:\s[^>]*)?>$|^<style|\sstyle=|\son[a-z]+=`)
	scriptRE = regexp.MustCompile(`(?s)<script[^>]*>(.*?)</script>`)
	quotedRE = regexp.MustCompile(`"[^"]*"`)
)

func TestNoInlineScriptOrStyle(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	for _, p := range append(getPages, "/ui/signin") {
		w := br.get(p)
		if w.Code == http.StatusSeeOther {
			w = h.do(request{method: "GET", target: p})
		}
		for _, tag := range tagRE.FindAllString(w.Body.String(), -1) {
			if strings.HasPrefix(tag, `<script src="/ui/static/console.js" defer>`) {
				continue
			}
			// Attribute values are quoted: what is inside is not an attribute.
			if inlineRE.MatchString(quotedRE.ReplaceAllString(tag, `""`)) || strings.Contains(strings.ToLower(tag), `="javascript:`) {
				t.Errorf("%s has %q, which the CSP refuses", p, tag)
			}
		}
		for _, m := range scriptRE.FindAllStringSubmatch(w.Body.String(), -1) {
			if strings.TrimSpace(m[1]) != "" {
				t.Errorf("%s has an inline script", p)
			}
		}
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	other := h.signIn("admin", "admin-pw") // another session's token is wrong here
	for _, pr := range postRoutes {
		cases := []struct {
			name   string
			csrf   string
			header map[string]string
		}{
			{"no token", "", nil},
			{"wrong token", flipFirst(br.csrf), nil},
			{"token prefix", br.csrf[:len(br.csrf)-1], nil},
			{"other session's token", other.csrf, nil},
			{"cross-site Sec-Fetch-Site", br.csrf, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
			{"same-site Sec-Fetch-Site", br.csrf, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://evil.example.com"}},
			{"cross-origin Origin", br.csrf, map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
		}
		for _, tc := range cases {
			w := pr.send(h, br.cookie, tc.csrf, tc.header)
			if w.Code != http.StatusForbidden {
				t.Errorf("POST %s, %s: %d, want 403", pr.path, tc.name, w.Code)
			}
		}
	}
	if got := h.b.changed(); len(got) != 0 {
		t.Fatalf("refused posts made calls: %v", got)
	}
	// The header works as well as the field (for fetch).
	w := h.do(request{method: "POST", target: "/ui/users/bob/unlock", cookie: br.cookie,
		header: map[string]string{csrfHeader: br.csrf, "Sec-Fetch-Site": "same-origin"}})
	if w.Code != http.StatusSeeOther {
		t.Errorf("token in the header: %d, want 303", w.Code)
	}
	// And every route works with the right token.
	for _, pr := range postRoutes {
		before := len(h.b.changed())
		w := pr.send(h, br.cookie, br.csrf, nil)
		if w.Code != http.StatusSeeOther && w.Code != http.StatusOK {
			t.Errorf("POST %s: %d: %s", pr.path, w.Code, w.Body)
			continue
		}
		got := h.b.changed()
		if len(got) != before+1 || got[before] != pr.want {
			t.Errorf("POST %s: calls %v, want %q", pr.path, got[before:], pr.want)
		}
	}
}

// flipFirst returns s with its first character changed.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// changeRE finds a change form or button in a page: any POST form but
// sign-out's, and the change links.
var changeRE = regexp.MustCompile(`<form method="post" action="(/ui/[^"]*)"|>Disconnect<|>Create user<|>Enroll<|>Import<|>Set password<|>Unlock<|>Try<`)

func TestViewer(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("viewer", "viewer-pw")
	for _, p := range getPages {
		w := br.get(p)
		if w.Code != http.StatusOK {
			t.Errorf("viewer GET %s: %d", p, w.Code)
			continue
		}
		for _, m := range changeRE.FindAllStringSubmatch(w.Body.String(), -1) {
			if m[1] != "/ui/signout" {
				t.Errorf("viewer sees a change on %s: %s", p, m[0])
			}
		}
		if !strings.Contains(w.Body.String(), `<span class="role role-viewer">viewer</span>`) {
			t.Errorf("%s does not say the role", p)
		}
	}
	if w := br.get("/ui/sessions/live"); strings.Contains(w.Body.String(), "Disconnect") {
		t.Error("viewer's live rows have Disconnect")
	}
	if w := br.get("/ui/sessions/disconnect?id=s1"); w.Code != http.StatusForbidden {
		t.Errorf("viewer's disconnect page: %d, want 403", w.Code)
	}
	for _, pr := range postRoutes {
		if w := pr.send(h, br.cookie, br.csrf, nil); w.Code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", pr.path, w.Code)
		}
	}
	if got := h.b.changed(); len(got) != 0 {
		t.Fatalf("viewer's posts made calls: %v", got)
	}
	// A viewer may sign out.
	if w := br.post("/ui/signout", nil); w.Code != http.StatusSeeOther {
		t.Errorf("viewer sign-out: %d", w.Code)
	}
}

func TestOperatorSeesChanges(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	for p, hooks := range map[string][]string{
		"/ui/sessions":    {`class="button disconnect" href="/ui/sessions/disconnect?id=s1"`, `>Disconnect<`},
		"/ui/users":       {`id="create-user"`, `>Create user<`, `name="groups" value="ops"`},
		"/ui/users/bob":   {`id="user-disable"`, `id="user-vpn"`, `id="user-password"`, `id="user-group-add"`, `>Remove from staff<`, `>Unassign<`},
		"/ui/users/carol": {`id="user-unlock"`, `>Unlock<`},
		"/ui/groups":      {`id="create-group"`, `>Add member<`, `>Remove bob<`},
		"/ui/tokens":      {`id="enroll"`, `id="resync"`, `id="import"`, `enctype="multipart/form-data"`, `>Assign<`, `>Unassign<`},
		"/ui/policies":    {`id="dryrun"`, `Nothing is consumed`, `name="secret" type="password" autocomplete="off"`},
	} {
		body := br.get(p).Body.String()
		for _, hook := range hooks {
			if !strings.Contains(body, hook) {
				t.Errorf("%s lacks %s", p, hook)
			}
		}
	}
	if body := br.get("/ui/users/bob").Body.String(); strings.Contains(body, `id="user-unlock"`) {
		t.Error("unlock offered for a user who is not locked out")
	}
}

func TestXSS(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	escaped := `&lt;img src=x onerror=alert(1)&gt;`
	for _, p := range []string{
		"/ui/sessions", "/ui/sessions/live", "/ui/logs", "/ui/users", "/ui/users/" + url.PathEscape(xssName),
		"/ui/groups", "/ui/tokens", "/ui/sessions/disconnect?id=s2",
		"/ui/logs?user=" + url.QueryEscape(xssName),
	} {
		w := br.get(p)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", p, w.Code)
		}
		if strings.Contains(body, xssName) || strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>timeout") {
			t.Errorf("%s renders markup from data", p)
		}
		if !strings.Contains(body, escaped) {
			t.Errorf("%s does not show the user's name as text", p)
		}
	}
	body := br.get("/ui/logs").Body.String()
	if !strings.Contains(body, `&lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt;`) {
		t.Error("logs page does not show the reason as text")
	}
	// Links to the user are escaped as URLs.
	if !strings.Contains(br.get("/ui/users").Body.String(), `href="/ui/users/%3Cimg%20src=x%20onerror=alert%281%29%3E"`) {
		t.Errorf("user link not path-escaped")
	}
	// A change's flash that names the user is escaped as well.
	w := br.post("/ui/users/"+url.PathEscape(xssName)+"/disable", nil)
	if f := br.flashOf(w); strings.Contains(f, "<img") || !strings.Contains(f, "&lt;img") {
		t.Errorf("flash %q", f)
	}
	// A search for markup comes back as text in the form.
	w = br.get("/ui/users?q=" + url.QueryEscape(`"><script>x</script>`))
	if strings.Contains(w.Body.String(), `"><script>x`) {
		t.Error("users search reflected unescaped")
	}
}

var (
	controlRE = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE      = regexp.MustCompile(`\sid="([^"]+)"`)
	thRE      = regexp.MustCompile(`<th\b[^>]*>`)
)

// TestLabelsAndHeaders checks the habits a screen reader relies on: every
// form control but hidden ones has a label, every table header a scope,
// ids are unique, and every page has the skip link and a main.
func TestLabelsAndHeaders(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	pages := append(getPages, "/ui/sessions/disconnect?id=s1")
	check := func(p, body string) {
		for _, c := range controlRE.FindAllString(body, -1) {
			if strings.Contains(c, `type="hidden"`) {
				continue
			}
			m := idRE.FindStringSubmatch(c)
			if m == nil {
				t.Errorf("%s: control without id: %s", p, c)
				continue
			}
			if !strings.Contains(body, `<label for="`+m[1]+`"`) {
				t.Errorf("%s: control %s has no label", p, m[1])
			}
		}
		for _, th := range thRE.FindAllString(body, -1) {
			if !strings.Contains(th, `scope="`) {
				t.Errorf("%s: %s without scope", p, th)
			}
		}
		seen := map[string]bool{}
		for _, m := range idRE.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("%s: id %q used twice", p, m[1])
			}
			seen[m[1]] = true
		}
		for _, want := range []string{`<a class="skip" href="#main">`, `<main id="main"`, `<html lang="en">`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", p, want)
			}
		}
	}
	for _, p := range pages {
		check(p, br.get(p).Body.String())
	}
	check("enrolled", br.post("/ui/tokens/enroll", url.Values{"user": {"bob"}, "kind": {"hotp"}}).Body.String())
	check("dry run", br.post("/ui/policies/dryrun", url.Values{"service": {"vpn"}, "user": {"bob"}, "credential": {"plaintext"}}).Body.String())
	check("sign-in", h.do(request{method: "GET", target: "/ui/signin"}).Body.String())
}
