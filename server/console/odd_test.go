package console

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestOddInputs(t *testing.T) {
	h := newHarness(t)
	br := h.signIn("admin", "admin-pw")
	for _, tc := range []struct {
		name   string
		target string
		want   int
		text   string
	}{
		{"bad since", "/ui/logs?since=yesterday-ish", http.StatusBadRequest, "since"},
		{"bad until", "/ui/logs?until=2024-13-45", http.StatusBadRequest, "until"},
		{"until before since", "/ui/logs?since=2026-05-01&until=2026-04-01", http.StatusBadRequest, "is not after since"},
		{"unknown kind", "/ui/logs?kind=nope", http.StatusBadRequest, "not a kind"},
		{"bad result", "/ui/logs?result=maybe", http.StatusBadRequest, "accepted or refused"},
		{"bad client", "/ui/logs?client=300.1.2.3", http.StatusBadRequest, "client"},
		{"bad limit", "/ui/logs?limit=-3", http.StatusBadRequest, "limit"},
		{"unknown parameter", "/ui/logs?usr=bob", http.StatusBadRequest, "did you mean user"},
		{"repeated parameter", "/ui/logs?user=a&user=b", http.StatusBadRequest, "more than once"},
		{"bad escape", "/ui/logs?user=%zz", http.StatusBadRequest, "could not be read"},
		{"huge search", "/ui/users?q=" + strings.Repeat("a", 100000), http.StatusOK, ""},
		{"odd session filter", "/ui/sessions?q=%00%ff", http.StatusOK, ""},
		{"no session to disconnect", "/ui/sessions/disconnect", http.StatusNotFound, ""},
	} {
		w := br.get(tc.target)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
		if tc.text != "" && !strings.Contains(w.Body.String(), tc.text) {
			t.Errorf("%s: the page does not say %q", tc.name, tc.text)
		}
		if tc.want == http.StatusBadRequest && !strings.Contains(w.Body.String(), `id="logs-filter"`) {
			t.Errorf("%s: the search form is gone", tc.name)
		}
	}

	post := func(target, ct string, body []byte) *http.Response {
		return h.do(request{method: "POST", target: target, body: bytes.NewReader(body), contentType: ct, cookie: br.cookie,
			header: map[string]string{csrfHeader: br.csrf}}).Result()
	}
	huge := []byte("name=" + strings.Repeat("a", 2<<20))
	if r := post("/ui/groups", "application/x-www-form-urlencoded", huge); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("huge form: %d, want 413", r.StatusCode)
	}
	if r := post("/ui/signin", "application/x-www-form-urlencoded", huge); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("huge sign-in: %d, want 413", r.StatusCode)
	}
	for name, body := range map[string]string{
		"no boundary":  "",
		"garbage":      "not multipart at all",
		"cut short":    "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc",
		"bad header":   "--XYZ\r\nbroken\r\n\r\n--XYZ--\r\n",
		"empty":        "--XYZ--\r\n",
		"no file part": "--XYZ\r\nContent-Disposition: form-data; name=\"psk\"\r\n\r\n00\r\n--XYZ--\r\n",
	} {
		ct := "multipart/form-data; boundary=XYZ"
		if name == "no boundary" {
			ct = "multipart/form-data"
		}
		r := post("/ui/tokens/import", ct, []byte(body))
		if r.StatusCode >= 500 || r.StatusCode == http.StatusOK {
			t.Errorf("multipart %s: %d", name, r.StatusCode)
		}
		if name != "empty" && name != "no file part" && r.StatusCode != http.StatusBadRequest {
			t.Errorf("multipart %s: %d, want 400", name, r.StatusCode)
		}
	}
	if r := post("/ui/groups", "application/x-www-form-urlencoded", []byte("name=%zz&a=%")); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad urlencoding: %d, want 400", r.StatusCode)
	}
	if got := h.b.changed(); len(got) != 0 {
		t.Errorf("odd posts made calls: %v", got)
	}
	// Odd values reach no call, or reach the back end as given.
	for _, form := range []url.Values{
		{"id": {"\x00"}}, {"id": {strings.Repeat("x", 10000)}}, {},
	} {
		if w := br.post("/ui/sessions/disconnect", form); w.Code != http.StatusSeeOther {
			t.Errorf("disconnect %q: %d", form, w.Code)
		}
	}
	if w := br.post("/ui/signin", url.Values{"name": {strings.Repeat("n", 300)}, "password": {"x"}}); w.Code != http.StatusBadRequest {
		t.Errorf("long name: %d, want 400", w.Code)
	}
}

// FuzzConsole sends odd requests from a signed-in operator and checks
// that none is answered 5xx or panics.
func FuzzConsole(f *testing.F) {
	paths := []string{"/ui/", "/ui/logs", "/ui/users", "/ui/users/bob", "/ui/tokens/import", "/ui/users/bob/vpn",
		"/ui/tokens/enroll", "/ui/policies/dryrun", "/ui/sessions/live", "/ui/sessions/disconnect", "/ui/signin"}
	for i, p := range paths {
		f.Add(uint8(i%3), p, "user=bob&since=1h", "vpn=on&id=s1", "application/x-www-form-urlencoded")
	}
	f.Add(uint8(1), "/ui/tokens/import", "", "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\nabc\r\n--B--\r\n", "multipart/form-data; boundary=B")
	f.Add(uint8(0), "/ui/logs", "kind=login,nope&client=::1/200&until=9999-12-31", "", "")
	f.Add(uint8(1), "/ui/users/%2e%2e", "", "%%%", "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, method uint8, path, query, body, ct string) {
		h := newHarness(t)
		br := h.signIn("admin", "admin-pw")
		m := []string{"GET", "POST", "HEAD"}[method%3]
		u := &url.URL{Path: path, RawQuery: query}
		if !strings.HasPrefix(u.Path, "/") {
			return
		}
		r, err := http.NewRequest(m, u.String(), strings.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Content-Type", ct)
		r.Header.Set(csrfHeader, br.csrf)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: br.cookie})
		r.RemoteAddr = "192.0.2.1:1"
		w := httptest.NewRecorder()
		h.c.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Errorf("%s %s?%s: %d: %s", m, path, query, w.Code, w.Body)
		}
	})
}
