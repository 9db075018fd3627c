package console

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a console over a fake backend, with a settable clock.
type harness struct {
	t     *testing.T
	c     *Console
	b     *fakeBackend
	clock *clock
}

func newHarness(t *testing.T) *harness {
	return newHarnessConfig(t, Config{})
}

func newHarnessConfig(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, b: newFake(), clock: &clock{t: t0}}
	cfg.Now = h.clock.now
	c, err := New(cfg, h.b, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

// request is one request to make.
type request struct {
	method, target string
	body           io.Reader
	contentType    string
	cookie         string
	remote         string
	header         map[string]string
}

func (h *harness) do(q request) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(q.method, q.target, q.body)
	if q.contentType != "" {
		r.Header.Set("Content-Type", q.contentType)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: cookieName, Value: q.cookie})
	}
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.c.ServeHTTP(w, r)
	return w
}

// postForm posts a urlencoded form.
func (h *harness) postForm(target string, form url.Values, cookie, remote string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(request{method: "POST", target: target, body: strings.NewReader(form.Encode()),
		contentType: "application/x-www-form-urlencoded", cookie: cookie, remote: remote,
		header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}})
}

// browser is a signed-in operator.
type browser struct {
	h      *harness
	cookie string
	csrf   string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// signIn signs name in and returns the browser, failing the test if the
// sign-in fails.
func (h *harness) signIn(name, password string) *browser {
	h.t.Helper()
	w := h.postForm("/ui/signin", url.Values{"name": {name}, "password": {password}}, "", "")
	if w.Code != http.StatusSeeOther {
		h.t.Fatalf("sign-in as %s: %d %s", name, w.Code, w.Body)
	}
	ck := sessionCookie(w)
	if ck == nil || ck.Value == "" {
		h.t.Fatalf("sign-in as %s set no cookie", name)
	}
	br := &browser{h: h, cookie: ck.Value}
	page := br.get("/ui/status")
	m := csrfMeta.FindStringSubmatch(page.Body.String())
	if m == nil {
		h.t.Fatalf("no CSRF token on the status page: %s", page.Body)
	}
	br.csrf = m[1]
	return br
}

func sessionCookie(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

func (br *browser) get(target string) *httptest.ResponseRecorder {
	br.h.t.Helper()
	return br.h.do(request{method: "GET", target: target, cookie: br.cookie})
}

// post posts form with the CSRF token, as the console's own page does.
func (br *browser) post(target string, form url.Values) *httptest.ResponseRecorder {
	br.h.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set(csrfField, br.csrf)
	return br.h.postForm(target, f, br.cookie, "")
}

// multipartBody encodes form and a file field as multipart/form-data.
func multipartBody(t *testing.T, form url.Values, fileField, fileName string, file []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, fileName)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// flashOf follows a change's redirect and returns the flash shown there.
func (br *browser) flashOf(w *httptest.ResponseRecorder) string {
	br.h.t.Helper()
	if w.Code != http.StatusSeeOther {
		br.h.t.Fatalf("change answered %d, want 303: %s", w.Code, w.Body)
	}
	page := br.get(w.Header().Get("Location"))
	m := flashRE.FindStringSubmatch(page.Body.String())
	if m == nil {
		return ""
	}
	return m[1]
}

var flashRE = regexp.MustCompile(`(?s)<p id="flash"[^>]*>(.*?)</p>`)

// postRoute is a change and the call the fake should see for it when an
// operator makes it.
type postRoute struct {
	path string
	form url.Values
	// file, when set, makes the form multipart with a "file" field.
	file []byte
	want string
}

var postRoutes = []postRoute{
	{path: "/ui/sessions/disconnect", form: url.Values{"id": {"s1"}}, want: "Disconnect admin s1"},
	{path: "/ui/users", form: url.Values{"name": {"dave"}, "password": {"pw"}, "vpn": {"on"}, "groups": {"staff", "ops"}},
		want: "CreateUser admin dave groups=staff,ops vpn=on pw=true"},
	{path: "/ui/users/bob/disable", want: "SetDisabled admin bob true"},
	{path: "/ui/users/bob/enable", want: "SetDisabled admin bob false"},
	{path: "/ui/users/bob/vpn", form: url.Values{"vpn": {"off"}}, want: "SetVPN admin bob off"},
	{path: "/ui/users/bob/password", form: url.Values{"password": {"n3w"}}, want: "SetPassword admin bob"},
	{path: "/ui/users/carol/unlock", want: "Unlock admin carol"},
	{path: "/ui/users/bob/groups/add", form: url.Values{"group": {"ops"}}, want: "AddMember admin ops bob"},
	{path: "/ui/users/bob/groups/remove", form: url.Values{"group": {"staff"}}, want: "RemoveMember admin staff bob"},
	{path: "/ui/groups", form: url.Values{"name": {"new"}}, want: "CreateGroup admin new"},
	{path: "/ui/groups/ops/members/add", form: url.Values{"user": {"bob"}}, want: "AddMember admin ops bob"},
	{path: "/ui/groups/staff/members/remove", form: url.Values{"user": {"bob"}}, want: "RemoveMember admin staff bob"},
	{path: "/ui/tokens/enroll", form: url.Values{"user": {"bob"}, "kind": {"totp"}, "digits": {"8"}}, want: "Enroll admin bob totp 8"},
	{path: "/ui/tokens/assign", form: url.Values{"serial": {"T2"}, "user": {"bob"}}, want: "Assign admin T2 bob"},
	{path: "/ui/tokens/unassign", form: url.Values{"serial": {"T1"}}, want: "Unassign admin T1"},
	{path: "/ui/tokens/resync", form: url.Values{"serial": {"T1"}, "code1": {"123456"}, "code2": {"654321"}}, want: "Resync admin T1 123456 654321"},
	{path: "/ui/tokens/import", form: url.Values{"password": {"pskc-pw"}, "psk": {""}}, file: []byte("<KeyContainer/>"),
		want: "ImportPSKC admin 15 bytes pw=true psk="},
	{path: "/ui/policies/dryrun", form: url.Values{"service": {"vpn"}, "user": {"bob"}, "secret": {"hunter22"}, "credential": {"plaintext"}},
		want: "DryRun vpn bob plaintext"},
}

// send makes the route's request with csrf as the token ("" for none)
// and the extra headers.
func (pr postRoute) send(h *harness, cookie, csrf string, header map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	form := url.Values{}
	for k, v := range pr.form {
		form[k] = v
	}
	if csrf != "" {
		form.Set(csrfField, csrf)
	}
	q := request{method: "POST", target: pr.path, cookie: cookie,
		header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}}
	for k, v := range header {
		q.header[k] = v
	}
	if pr.file != nil {
		q.body, q.contentType = multipartBody(h.t, form, "file", "tokens.pskc", pr.file)
	} else {
		q.body, q.contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	return h.do(q)
}

// getPages are the pages a signed-in operator can open.
var getPages = []string{
	"/ui/", "/ui/sessions", "/ui/sessions?q=bob", "/ui/logs", "/ui/logs?result=refused", "/ui/users", "/ui/users?q=b",
	"/ui/users/bob", "/ui/users/carol", "/ui/users/" + url.PathEscape(xssName), "/ui/groups", "/ui/tokens",
	"/ui/policies", "/ui/status", "/ui/signout",
}
