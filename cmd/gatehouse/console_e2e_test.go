package main

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/server/gateway/gatewaytest"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// consoleShotsEnv names the directory TestConsoleBrowser saves a PNG of
// each console page into (make screenshots sets it to docs/console). A
// relative path is taken from the repository's root.
const consoleShotsEnv = "GATEHOUSE_CONSOLE_SCREENSHOTS"

// The people of TestConsoleBrowser.
const (
	uiOperator, uiOperatorPassword = "ops", "operator correct horse"
	uiViewer, uiViewerPassword     = "watcher", "viewer battery staple"
	uiUser, uiUserPassword         = "alice", "alice-Pa55word"
	uiXSSUser                      = `<img src=x onerror=alert(1)>`
)

// TestConsoleBrowser is issue 18's proof: a real "gatehouse serve" with
// the web console and the PPTP front door on (policy "Password and
// OATH" over the local store), inside a fresh network namespace, driven
// by headless Chromium through its pages, and by the project's PPTP
// client (server/gateway/gatewaytest) at the front door.
//
// An operator signs in, creates a user with a password and enrolls a
// TOTP token for it through the pages; the user logs in over PPTP with
// its password followed by the code computed from the key URI the page
// showed (one secret, as a Windows client sends it: MS-CHAPv2 is what
// PPTP speaks, and the policy engine splits password and code itself);
// the session shows up on the open sessions page without a reload, and
// the operator disconnects it there, which the PPTP client sees as a
// Call-Disconnect-Notify. A login with a wrong password is found on the
// logs page with each branch's reason. A viewer, signed in with the
// keyboard only, sees no change form on any page and is refused (403,
// nothing changed) when it posts anyway. And the security properties: a
// user named as HTML markup is shown as text, a POST without the CSRF
// token is refused, the cookie is Secure, HttpOnly and SameSite=Strict,
// every page carries a Content-Security-Policy, and /ui/ signed out is
// the sign-in page.
//
// It needs root (a network namespace, a TUN device, raw GRE sockets) and
// Chromium (test/install-deps installs it): without root it skips; as
// root, a missing Chromium fails it. With GATEHOUSE_CONSOLE_SCREENSHOTS
// set it saves a 1366x768 screenshot of each page there (make
// screenshots).
func TestConsoleBrowser(t *testing.T) {
	if os.Getenv(gatewaytest.NetnsEnv) == "" {
		if _, err := exec.LookPath("chromium"); err != nil {
			if os.Geteuid() == 0 {
				t.Fatalf("chromium is missing (Debian package chromium; test/install-deps installs it): %v", err)
			}
			t.Skip("*** SKIP: needs root (network namespace, TUN device, raw GRE) and chromium; CI runs it as root")
		}
	}
	if !gatewaytest.InNetns(t) {
		return
	}
	started := time.Now()
	shots := os.Getenv(consoleShotsEnv)
	if shots != "" && !filepath.IsAbs(shots) {
		shots = filepath.Join("..", "..", shots)
	}
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The gateway: console and PPTP on, access off unless granted.
	dir := worldDir(t) // plugins run as nobody and must reach the store
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(`state_dir: ./state
admin: {listen: 127.0.0.1:0, console: true}
backends:
  Password: {type: local}
  OATH: {type: oath}
services:
  pptp: {policy: "Password and OATH"}
pptp:
  enabled: true
  listen: 127.0.0.1:1723
  interface: ghui0
  pool: {first: 10.77.0.10, last: 10.77.0.20}
  local_address: 10.77.0.1
  dns: [10.77.0.53]
  max_connections: 10
  access: {default: off}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	logs, stop := startServe(t, path)
	t.Cleanup(func() {
		if out := stop(); t.Failed() {
			t.Logf("--- gatehouse serve log:\n%s", out)
		}
	})
	base := "http://" + waitFor(t, logs, `"msg":"admin listener started","addr":"`)
	waitFor(t, logs, `"msg":"pptp front door started","listen":"`)
	for _, a := range [][3]string{{uiOperator, "operator", uiOperatorPassword}, {uiViewer, "viewer", uiViewerPassword}} {
		if code, out, errOut := gh(t, a[2]+"\n", "admin", "add", a[0], "--role", a[1], "--password-stdin", "--config", path); code != 0 {
			t.Fatalf("gatehouse admin add %s: exit %d\n%s%s", a[0], code, out, errOut)
		}
	}
	// A user whose name is markup, made with the store's CLI.
	if code, out, errOut := gh(t, "whatever-pw\n", "user", "add", uiXSSUser, "--password-stdin", "--config", path); code != 0 {
		t.Fatalf("gatehouse user add %q: exit %d\n%s%s", uiXSSUser, code, out, errOut)
	}
	t.Logf("gatehouse serve up at %s after %v", base, time.Since(started).Round(time.Millisecond))

	// One browser for everything; each person has a tab of their own.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.NoSandbox, chromedp.ExecPath("chromium"), chromedp.WindowSize(1366, 768))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // starts it: no timeout here
		t.Fatalf("starting chromium: %v", err)
	}
	ops := newUITab(t, browser, base, shots)

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	// What the steps find out and pass on.
	var (
		keyURI    string
		sessionID string
		client    *gatewaytest.Client
	)
	server, local := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	top := t // the PPTP client outlives the step that dials it

	step("signed out, /ui/ is the sign-in page", func(t *testing.T) {
		anon := newUITab(t, browser, base, shots, chromedp.WithNewBrowserContext())
		resp := anon.open(t, "/ui/")
		if loc := anon.location(t); loc != base+"/ui/signin" && !strings.HasPrefix(loc, base+"/ui/signin?") {
			t.Errorf("signed out, /ui/ ended at %s; want the sign-in page", loc)
		}
		if resp.Status != 200 || uiJS[int](t, anon, `document.querySelectorAll("form#signin #signin-name, form#signin #signin-password").length`) != 2 ||
			uiJS[int](t, anon, `document.querySelectorAll("#operator, #nav ul").length`) != 0 {
			t.Errorf("status %d; not the sign-in form, or the navigation shows signed out", resp.Status)
		}
		checkHeaders(t, "the sign-in page", resp)
		anon.shot(t, "signin")
	})

	step("operator signs in", func(t *testing.T) {
		ops.open(t, "/ui/signin")
		ops.do(t, "fill the sign-in form",
			chromedp.SendKeys(chromedp.CSS("#signin-name"), uiOperator),
			chromedp.SendKeys(chromedp.CSS("#signin-password"), uiOperatorPassword))
		ops.submit(t, `form#signin button[type="submit"]`)
		if got := ops.text(t, "#operator .operator-name"); got != uiOperator || uiJS[int](t, ops, `document.querySelectorAll("#operator .role-operator").length`) != 1 {
			t.Fatalf("signed in as %q; want %s, an operator", got, uiOperator)
		}
		if c := uiJS[string](t, ops, `document.body.className`); c != "page-sessions" {
			t.Errorf("after sign-in the page is %q; want the sessions page", c)
		}
		cookies, err := chromedp.Call(ops.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/ui/"}})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range cookies.Cookies {
			if c.Name != "gatehouse_console" {
				continue
			}
			found = true
			if !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/ui/" {
				t.Errorf("cookie gatehouse_console: Secure %t HttpOnly %t SameSite %q Path %q; want Secure, HttpOnly, Strict, /ui/", c.Secure, c.HTTPOnly, c.SameSite, c.Path)
			}
		}
		if !found {
			t.Errorf("no gatehouse_console cookie after sign-in: %+v", cookies.Cookies)
		}
		checkHeaders(t, "the sessions page", ops.open(t, "/ui/sessions"))
	})

	step("create a user and a group through the pages", func(t *testing.T) {
		ops.open(t, "/ui/users")
		ops.do(t, "fill the create-user form",
			chromedp.SendKeys(chromedp.CSS("#new-user-name"), uiUser),
			chromedp.SendKeys(chromedp.CSS("#new-user-password"), uiUserPassword),
			chromedp.SetValue(chromedp.CSS("#new-user-vpn"), "on"))
		ops.submit(t, `form#create-user button[type="submit"]`)
		ops.flashOK(t)
		if got := ops.attr(t, "#user-facts", "data-user"); got != uiUser {
			t.Fatalf("after creating, the page is user %q", got)
		}
		if vpn := ops.text(t, "#user-facts .vpn"); vpn != "on" {
			t.Errorf("VPN access %q, want on", vpn)
		}

		ops.open(t, "/ui/groups")
		ops.do(t, "fill the create-group form", chromedp.SendKeys(chromedp.CSS("#new-group-name"), "staff"))
		ops.submit(t, `form#create-group button[type="submit"]`)
		ops.flashOK(t)
		ops.do(t, "fill the add-member form", chromedp.SendKeys(chromedp.CSS(`tr[data-group="staff"] form.member-add input[name="user"]`), uiUser))
		ops.submit(t, `tr[data-group="staff"] form.member-add button[type="submit"]`)
		ops.flashOK(t)
		if n := uiJS[int](t, ops, `document.querySelectorAll('tr[data-group="staff"] li[data-member="alice"]').length`); n != 1 {
			t.Errorf("alice is not listed as a member of staff")
		}
		ops.shot(t, "groups")
	})

	step("enroll a TOTP token through the tokens page", func(t *testing.T) {
		ops.open(t, "/ui/tokens")
		ops.do(t, "fill the enroll form",
			chromedp.SendKeys(chromedp.CSS("#enroll-user"), uiUser),
			chromedp.SetValue(chromedp.CSS("#enroll-kind"), "totp"),
			chromedp.SetValue(chromedp.CSS("#enroll-digits"), "6"))
		ops.submit(t, `form#enroll button[type="submit"]`)
		keyURI = uiRun(t, ops, "read the key URI", chromedp.Value(chromedp.CSS("input#enroll-uri")))
		if !strings.HasPrefix(keyURI, "otpauth://totp/") {
			t.Fatalf("key URI %q", keyURI)
		}
		if src := ops.attr(t, "img#enroll-qr", "src"); !strings.HasPrefix(src, "data:image/png;base64,") {
			t.Errorf("QR code src %.40q, want a PNG data: URI", src)
		}
		if w := uiJS[int](t, ops, `document.querySelector("img#enroll-qr").naturalWidth`); w == 0 {
			t.Error("the QR code image did not load")
		}
		ops.shot(t, "tokens")
		ops.open(t, "/ui/users")
		ops.shot(t, "users")
		ops.open(t, "/ui/users/"+uiUser)
		if n := uiJS[int](t, ops, `document.querySelectorAll("#user-tokens tr[data-serial]").length`); n != 1 {
			t.Errorf("the user's page lists %d tokens, want 1", n)
		}
		ops.shot(t, "user")
	})

	step("dry run on the policies page", func(t *testing.T) {
		ops.open(t, "/ui/policies")
		ops.do(t, "fill the dry-run form",
			chromedp.SetValue(chromedp.CSS("#dryrun-service"), "pptp"),
			chromedp.SendKeys(chromedp.CSS("#dryrun-user"), uiUser),
			chromedp.SendKeys(chromedp.CSS("#dryrun-secret"), uiUserPassword+currentCode(t, keyURI)),
			chromedp.SetValue(chromedp.CSS("#dryrun-credential"), "mschapv2"))
		ops.submit(t, `form#dryrun button[type="submit"]`)
		if got := ops.attr(t, "#dryrun-result", "data-accepted"); got != "true" {
			t.Errorf("dry run of password+code: accepted %q; %s", got, ops.text(t, "#dryrun-result"))
		}
		if v := uiRun(t, ops, "the secret field", chromedp.Value(chromedp.CSS("#dryrun-secret"))); v != "" {
			t.Error("the dry run's secret came back in the form")
		}
		ops.do(t, "scroll to the outcome", chromedp.ScrollIntoView(chromedp.CSS("#dryrun-section")))
		ops.shot(t, "policies")
	})

	step("the session appears on the open sessions page without a reload", func(t *testing.T) {
		ops.open(t, "/ui/sessions")
		if n := uiJS[int](t, ops, `document.querySelectorAll("tr.session").length`); n != 0 {
			t.Fatalf("%d sessions before any login", n)
		}
		uiJS[bool](t, ops, `window.ghNoReload = true`)
		client = gatewaytest.Dial(top, gatewaytest.Options{Server: server, Local: local, User: uiUser, Password: uiUserPassword + currentCode(t, keyURI)})
		client.Start()
		if err := client.WaitDataReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		// A call's row shows from its set-up on, before the login has
		// decided (no user, no address yet): wait for the live update
		// that carries the established session.
		addr, _ := client.PPP.Addresses()
		t0 := time.Now()
		uiRun(t, ops, "wait for the session's row with its user", chromedp.Poll[bool](fmt.Sprintf(
			`(function(){var u=document.querySelector('tr.session[data-session-id] .user'), a=document.querySelector('tr.session[data-session-id] .address');`+
				` return !!u && !!a && u.textContent.trim() === %q && a.textContent.trim() === %q})()`, uiUser, addr.String()),
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
		t.Logf("the row showed the user %v after the data phase", time.Since(t0).Round(time.Millisecond))
		if !uiJS[bool](t, ops, `window.ghNoReload === true`) {
			t.Error("the page was reloaded: the row came with a new page, not the live update")
		}
		sessionID = ops.attr(t, "tr.session[data-session-id]", "data-session-id")
		row := fmt.Sprintf(`tr.session[data-session-id=%q]`, sessionID)
		if u, c, a := ops.text(t, row+" .user"), ops.text(t, row+" .client"), ops.text(t, row+" .address"); u != uiUser || c != "127.0.0.2" || a != addr.String() {
			t.Errorf("row: user %q client %q address %q; want %s, 127.0.0.2, %v", u, c, a, uiUser, addr)
		}
		// Ping the gateway's own address through the tunnel: the kernel
		// answers over the TUN device, and the counters move on the page.
		ping := icmpEcho(addr, netip.MustParseAddr("10.77.0.1"), 1)
		client.PPP.SendIP(ping)
		select {
		case reply := <-client.PPP.GotIP:
			if len(reply) < 28 || reply[9] != 1 || reply[20] != 0 {
				t.Errorf("the answer to the ping is not an echo reply: %x", reply)
			}
		case <-time.After(10 * time.Second):
			t.Error("no answer to a ping of 10.77.0.1 through the tunnel")
		}
		uiRun(t, ops, "wait for the counters", chromedp.Poll[bool](fmt.Sprintf(`(function(){var c=document.querySelector('%s .bytes-in'); return !!c && c.textContent.trim() !== "0 B"})()`, row),
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		ops.shot(t, "sessions")
	})

	step("a viewer, with the keyboard only, changes nothing", func(t *testing.T) {
		viewer := newUITab(t, browser, base, shots, chromedp.WithNewBrowserContext())
		viewer.open(t, "/ui/status")
		if loc := viewer.location(t); !strings.HasPrefix(loc, base+"/ui/signin?next=") {
			t.Fatalf("signed out, /ui/status ended at %s", loc)
		}
		// The name field has autofocus; then Tab to the password and Enter.
		if id := uiJS[string](t, viewer, `document.activeElement.id`); id != "signin-name" {
			viewer.do(t, "focus the name", chromedp.Focus(chromedp.CSS("#signin-name")))
		}
		viewer.do(t, "type the name and password",
			chromedp.KeyEvent(uiViewer), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(uiViewerPassword))
		viewer.keyNavigate(t, kb.Enter)
		if c := uiJS[string](t, viewer, `document.body.className`); c != "page-status" {
			t.Fatalf("keyboard sign-in landed on %q; want the status page it was asked for", c)
		}
		// Tab to the navigation's Sessions link and follow it with Enter.
		reached := false
		for range 20 {
			viewer.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
			if uiJS[bool](t, viewer, `(function(){var a=document.activeElement; return !!a && !!a.closest("#nav") && a.textContent.trim()==="Sessions"})()`) {
				reached = true
				break
			}
		}
		if !reached {
			t.Fatal("20 Tabs did not reach the Sessions link")
		}
		viewer.keyNavigate(t, kb.Enter)
		if c := uiJS[string](t, viewer, `document.body.className`); c != "page-sessions" {
			t.Fatalf("Enter on the Sessions link led to %q", c)
		}
		viewer.do(t, "the viewer sees the session", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr.session[data-session-id=%q]`, sessionID))))
		if n := uiJS[int](t, viewer, `document.querySelectorAll("#operator .role-viewer").length`); n != 1 {
			t.Error("the viewer is not shown as a viewer")
		}

		// No change form or button on any page (the same query finds the
		// operator's on each page but status).
		const changeControls = `Array.from(document.querySelectorAll('form[method="post"]:not(#signout), a.disconnect, #create-user, #create-group, #enroll, #dryrun, form.member-add, form.token-assign')).map(function(e){return e.outerHTML.slice(0,80)})`
		for _, p := range []string{"/ui/sessions", "/ui/logs", "/ui/users", "/ui/users/" + uiUser, "/ui/groups", "/ui/tokens", "/ui/policies", "/ui/status"} {
			viewer.open(t, p)
			if got := uiJS[[]string](t, viewer, changeControls); len(got) > 0 {
				t.Errorf("%s shows the viewer change controls: %q", p, got)
			}
			if p == "/ui/logs" || p == "/ui/status" {
				continue
			}
			ops.open(t, p)
			if got := uiJS[[]string](t, ops, changeControls); len(got) == 0 {
				t.Errorf("%s shows the operator no change control either: the check sees nothing", p)
			}
		}

		// Posts with the page's CSRF token, from the viewer's session.
		got := uiJS[[]int](t, viewer, fmt.Sprintf(`(async function(){
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function post(path, form) {
    form.csrf = csrf;
    var r = await fetch(path, {method: "POST", redirect: "manual", headers: {"X-CSRF-Token": csrf}, body: new URLSearchParams(form)});
    return r.status;
  }
  return [
    await post("/ui/users", {name: "made-by-viewer", password: "pw-pw-pw", vpn: "on"}),
    await post("/ui/users/alice/disable", {}),
    await post("/ui/sessions/disconnect", {id: %q}),
    (await fetch("/ui/sessions/disconnect?id=" + encodeURIComponent(%q))).status,
  ];
})()`, sessionID, sessionID))
		for i, want := range []string{"create a user", "disable alice", "disconnect the session", "the disconnect confirmation page"} {
			if i >= len(got) || got[i] != 403 {
				t.Errorf("viewer: %s: status %v, want 403", want, got)
			}
		}
		viewer.open(t, "/ui/users?q=made-by-viewer")
		if n := uiJS[int](t, viewer, `document.querySelectorAll("#users-table tr[data-user]").length`); n != 0 {
			t.Error("the viewer's POST created a user")
		}
		viewer.open(t, "/ui/users/"+uiUser)
		if s := viewer.text(t, "#user-facts .state"); s != "enabled" {
			t.Errorf("the viewer's POST changed alice: %s", s)
		}
		if !client.DataReady() {
			t.Error("the session went down")
		}
		viewer.open(t, "/ui/sessions")
		viewer.do(t, "the session is still there", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr.session[data-session-id=%q]`, sessionID))))
	})

	step("disconnect the session from the page", func(t *testing.T) {
		ops.open(t, "/ui/sessions")
		row := fmt.Sprintf(`tr.session[data-session-id=%q]`, sessionID)
		ops.submit(t, row+" a.button.disconnect")
		if got := ops.attr(t, "form#disconnect-confirm", "data-session-id"); got != sessionID {
			t.Fatalf("the confirmation is for session %q, want %q", got, sessionID)
		}
		ops.submit(t, `form#disconnect-confirm button[type="submit"]`)
		ops.flashOK(t)
		if loc := ops.location(t); loc != base+"/ui/sessions" {
			t.Errorf("after the disconnect the browser is at %s", loc)
		}
		cdn, err := client.Disconnected(10 * time.Second)
		if err != nil || cdn.ResultCode != pptp.DisconnectAdminShutdown {
			t.Fatalf("the PPTP client got Call-Disconnect-Notify %+v, %v; want one for an administrative shutdown", cdn, err)
		}
		if !client.PPP.GotTerminate() {
			t.Error("the PPTP client got no LCP Terminate-Request")
		}
		ops.do(t, "the row goes", chromedp.WaitNotPresent(chromedp.CSS(row)))
		ops.open(t, "/ui/sessions")
		if n := uiJS[int](t, ops, `document.querySelectorAll("tr.session").length`); n != 0 {
			t.Errorf("%d sessions after the disconnect", n)
		}
		client.Close()
	})

	step("a refused login and its reasons on the logs page", func(t *testing.T) {
		bad := gatewaytest.Dial(t, gatewaytest.Options{Server: server, Local: local, CallID: 78, User: uiUser, Password: "wrong-password" + currentCode(t, keyURI)})
		bad.Start()
		if _, err := bad.Disconnected(15 * time.Second); err != nil {
			t.Fatalf("the refused login got no Call-Disconnect-Notify: %v", err)
		}
		if _, ok := bad.PPP.Failure(); !ok {
			t.Error("the refused login got no CHAP Failure")
		}
		bad.Close()

		ops.open(t, "/ui/logs")
		ops.do(t, "fill the search form",
			chromedp.SendKeys(chromedp.CSS("#logs-user"), uiUser),
			chromedp.SetValue(chromedp.CSS("#logs-result"), "refused"))
		ops.submit(t, `form#logs-filter button[type="submit"]`)
		// The index writes in batches: search again until it is there.
		q := ops.location(t)
		for deadline := time.Now().Add(15 * time.Second); uiJS[int](t, ops, `document.querySelectorAll('tr.event[data-result="refused"] li.branch-outcome .branch-reason').length`) == 0; {
			if time.Now().After(deadline) {
				t.Fatalf("no refused login of %s with branch reasons at %s:\n%s", uiUser, q, ops.text(t, "main"))
			}
			time.Sleep(300 * time.Millisecond)
			ops.open(t, strings.TrimPrefix(q, base))
		}
		if n := uiJS[int](t, ops, `document.querySelectorAll('tr.event:not([data-result="refused"])').length`); n != 0 {
			t.Errorf("the search for refused logins shows %d other events", n)
		}
		if u := ops.text(t, `tr.event[data-result="refused"] .user`); u != uiUser {
			t.Errorf("refused event of %q", u)
		}
		reasons := uiJS[[]string](t, ops, `Array.from(document.querySelectorAll('tr.event[data-result="refused"]')[0].querySelectorAll("li.branch-outcome")).map(function(li){return li.querySelector(".branch-name").textContent + ": " + li.querySelector(".outcome").textContent + " — " + (li.querySelector(".branch-reason")||{textContent:""}).textContent})`)
		t.Logf("branch outcomes of the refused login: %q", reasons)
		if len(reasons) == 0 {
			t.Error("no branch outcomes")
		}
		ops.do(t, "scroll to the event", chromedp.ScrollIntoView(chromedp.CSS(`tr.event[data-result="refused"]`)))
		ops.shot(t, "logs")
	})

	step("security: markup as a name, CSRF, headers", func(t *testing.T) {
		// The dialog watch works: a dialog the test opens is seen (and
		// dismissed).
		ops.open(t, "/ui/users")
		uiJS[int](t, ops, `setTimeout(function(){ alert("probe") }, 0)`)
		for deadline := time.Now().Add(5 * time.Second); ops.dialogs.Load() == 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the dialog watch did not see the probe's alert")
			}
		}
		probed := ops.dialogs.Load()
		ops.open(t, "/ui/users")
		got := uiJS[[]string](t, ops, fmt.Sprintf(`(function(){
  var rows = Array.from(document.querySelectorAll("#users-table tr[data-user]")).filter(function(r){return r.dataset.user === %q});
  return rows.map(function(r){return r.querySelector("th").textContent});
})()`, uiXSSUser))
		if len(got) != 1 || got[0] != uiXSSUser {
			t.Errorf("the user named as markup: row texts %q; want exactly %q as text", got, uiXSSUser)
		}
		ops.open(t, "/ui/users/"+url.PathEscape(uiXSSUser))
		if name := ops.text(t, "#user-facts .name"); name != uiXSSUser {
			t.Errorf("the user's page shows the name as %q", name)
		}
		for _, p := range []string{"/ui/users", "/ui/users/" + url.PathEscape(uiXSSUser), "/ui/logs?user=" + url.QueryEscape(uiXSSUser)} {
			ops.open(t, p)
			if n := uiJS[int](t, ops, `document.querySelectorAll('img[src="x"], img[onerror], [onerror]').length`); n != 0 {
				t.Errorf("%s: the name became %d element(s)", p, n)
			}
		}
		if n := ops.dialogs.Load(); n != probed {
			t.Errorf("%d JavaScript dialog(s) opened", n-probed)
		}

		// A change without the CSRF token, and with a wrong one.
		ops.open(t, "/ui/users")
		codes := uiJS[[]int](t, ops, `(async function(){
  var a = await fetch("/ui/users", {method: "POST", redirect: "manual", body: new URLSearchParams({name: "no-csrf", password: "pw-pw-pw", vpn: "on"})});
  var b = await fetch("/ui/users", {method: "POST", redirect: "manual", body: new URLSearchParams({name: "no-csrf", password: "pw-pw-pw", vpn: "on", csrf: "AAAA"})});
  return [a.status, b.status];
})()`)
		if len(codes) != 2 || codes[0] != 403 || codes[1] != 403 {
			t.Errorf("POST without / with a wrong CSRF token: %v, want 403 403", codes)
		}
		ops.open(t, "/ui/users?q=no-csrf")
		if n := uiJS[int](t, ops, `document.querySelectorAll("#users-table tr[data-user]").length`); n != 0 {
			t.Error("a POST without the CSRF token created a user")
		}
		checkHeaders(t, "the status page", ops.open(t, "/ui/status"))
		ops.shot(t, "status")
	})
	t.Logf("whole run, from serve's start: %v", time.Since(started).Round(time.Millisecond))
}

// checkHeaders checks the security headers of a page's response.
func checkHeaders(t *testing.T, what string, resp *network.Response) {
	t.Helper()
	h := map[string]string{}
	for k, v := range resp.Headers {
		h[strings.ToLower(k)] = fmt.Sprint(v)
	}
	csp := h["content-security-policy"]
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", what, csp, want)
		}
	}
	if h["x-frame-options"] != "DENY" || h["x-content-type-options"] != "nosniff" {
		t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q", what, h["x-frame-options"], h["x-content-type-options"])
	}
}

// icmpEcho is an ICMP echo request from src to dst, checksums and all (the
// kernel checks them).
func icmpEcho(src, dst netip.Addr, seq uint16) []byte {
	b := make([]byte, 20+8+16)
	b[0], b[8], b[9] = 0x45, 64, 1
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	b[20] = 8 // echo request
	b[24], b[25], b[26], b[27] = 0x47, 0x48, byte(seq>>8), byte(seq)
	copy(b[28:], "gatehouse console")
	sum := func(p []byte) uint16 {
		var x uint32
		for i := 0; i+1 < len(p); i += 2 {
			x += uint32(p[i])<<8 | uint32(p[i+1])
		}
		if len(p)%2 == 1 {
			x += uint32(p[len(p)-1]) << 8
		}
		for x>>16 != 0 {
			x = x&0xffff + x>>16
		}
		return ^uint16(x)
	}
	c := sum(b[:20])
	b[10], b[11] = byte(c>>8), byte(c)
	c = sum(b[20:])
	b[22], b[23] = byte(c>>8), byte(c)
	return b
}

// currentCode is the TOTP code of the key URI for now.
func currentCode(t *testing.T, uri string) string {
	t.Helper()
	key, err := otp.ParseKeyURI(uri)
	if err != nil {
		t.Fatalf("key URI %q: %v", uri, err)
	}
	return otp.Code(key.Secret, key.Params, uint64(otp.Step(key.Params, time.Now())))
}

// uiTab is one browser tab on the console at base.
type uiTab struct {
	ctx     context.Context
	base    string
	shots   string        // where shot saves screenshots; "" for nowhere
	dialogs *atomic.Int32 // JavaScript dialogs that opened
}

// uiStepTimeout bounds each browser step.
const uiStepTimeout = 20 * time.Second

// newUITab opens a tab (in a new browser context with
// chromedp.WithNewBrowserContext: its own cookies) with a 1366x768
// viewport, counting and dismissing JavaScript dialogs.
func newUITab(t *testing.T, browser context.Context, base, shots string, opts ...chromedp.ContextOption) *uiTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, opts...)
	t.Cleanup(cancel)
	// The first Run opens the tab and binds it to its context: no
	// timeout on that one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	b := &uiTab{ctx: ctx, base: base, shots: shots, dialogs: new(atomic.Int32)}
	b.do(t, "set the viewport", chromedp.EmulateViewport(1366, 768))
	dialog := make(chan struct{}, 1)
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.dialogs.Add(1)
			select {
			case dialog <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() { // a dialog blocks the page: dismiss it (and fail later)
		for {
			select {
			case <-ctx.Done():
				return
			case <-dialog:
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}
	}()
	return b
}

func (b *uiTab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (at %s)", what, err, b.where())
	}
}

// uiRun runs an action that returns a value.
func uiRun[T any](t *testing.T, b *uiTab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (at %s)", what, err, b.where())
	}
	return v
}

// uiJS evaluates a JavaScript expression (awaiting a promise) in the tab.
func uiJS[T any](t *testing.T, b *uiTab, expr string) T {
	t.Helper()
	return uiRun(t, b, "evaluate "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// where is the tab's address, for error messages.
func (b *uiTab) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

func (b *uiTab) state() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.readyState + ' ' + document.body.className"))
	if err != nil {
		return err.Error()
	}
	return s
}

func (b *uiTab) location(t *testing.T) string {
	t.Helper()
	return uiRun(t, b, "location", chromedp.Location())
}

// open loads a console page and returns its response.
func (b *uiTab) open(t *testing.T, path string) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(b.base+path))
	if err != nil {
		t.Fatalf("open %s: %v (at %s, %s)", path, err, b.where(), b.state())
	}
	if resp.Status != 200 {
		t.Fatalf("open %s: status %d", path, resp.Status)
	}
	return resp
}

// submit clicks a link or a form's button and waits for the page it
// leads to (after any redirect).
func (b *uiTab) submit(t *testing.T, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s: %v (at %s)", sel, err, b.where())
	}
	if resp.Status != 200 {
		t.Fatalf("click %s: status %d at %s", sel, resp.Status, resp.URL)
	}
}

// keyNavigate presses a key that loads a page (Enter on a link or in a
// form) and waits for it.
func (b *uiTab) keyNavigate(t *testing.T, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, uiStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(key))
	if err != nil {
		t.Fatalf("key %q: %v (at %s)", key, err, b.where())
	}
	if resp.Status != 200 {
		t.Fatalf("key %q: status %d at %s", key, resp.Status, resp.URL)
	}
}

func (b *uiTab) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(uiRun(t, b, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

func (b *uiTab) attr(t *testing.T, sel, name string) string {
	t.Helper()
	v := uiRun(t, b, "attribute "+name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name))
	return v.Value
}

// flashOK checks the page shows a success flash.
func (b *uiTab) flashOK(t *testing.T) {
	t.Helper()
	if n := uiJS[int](t, b, `document.querySelectorAll("#flash.flash-ok").length`); n != 1 {
		t.Fatalf("no success message: %s", uiJS[string](t, b, `(document.querySelector("#flash, #error, main")||{textContent:""}).textContent.trim().slice(0,400)`))
	}
}

// shot saves a screenshot of the viewport as name.png, when asked to.
func (b *uiTab) shot(t *testing.T, name string) {
	t.Helper()
	if b.shots == "" {
		return
	}
	png := uiRun(t, b, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s.png (%d KB)", name, len(png)/1024)
}
