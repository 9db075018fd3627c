// Package console is the gateway's web console for operators:
// server-rendered pages over a [Backend] that cmd/gatehouse implements
// over the running gateway, the local store and the event index.
//
// [New] returns a [Console], an http.Handler for the paths under /ui/.
// cmd/gatehouse mounts it on the admin listener (mux.Handle("/ui/", c))
// without the admin API's bearer-token check: the console has its own
// sign-in. It needs nothing from outside: the pages are html/template,
// the style sheet and the one small script are embedded (go:embed), and
// no page loads anything from another origin, so it works air-gapped.
//
// # Pages and actions
//
// Every change is a POST that answers 303 See Other to the page to show
// next (Post/Redirect/Get), with the outcome as a flash message on that
// page. The two POSTs that answer with a page are marked below.
//
//	GET  /ui/ , /ui/sessions         running sessions; ?q= filters by a
//	                                 case-insensitive substring of user,
//	                                 client address or service
//	GET  /ui/sessions/live           the table's rows only (an HTML
//	                                 fragment of <tr>s), for the script;
//	                                 same ?q=; header X-Sessions-Total
//	GET  /ui/sessions/disconnect?id= confirm a disconnect (operators)
//	POST /ui/sessions/disconnect     id                  → /ui/sessions
//	GET  /ui/logs                    event search; the parameters are
//	                                 events.ParseFilter's: user, client
//	                                 (address or prefix), kind, result,
//	                                 since, until, session, service,
//	                                 front_door, limit (default 200,
//	                                 at most 1000); newest first
//	GET  /ui/users                   users, ?q= search; create form
//	POST /ui/users                   name, password, groups (repeated),
//	                                 vpn                 → the user's page
//	GET  /ui/users/{name}            one user, with its forms
//	POST /ui/users/{name}/disable
//	POST /ui/users/{name}/enable
//	POST /ui/users/{name}/vpn        vpn: use_group, on or off
//	POST /ui/users/{name}/password   password (not empty)
//	POST /ui/users/{name}/unlock
//	POST /ui/users/{name}/groups/add     group
//	POST /ui/users/{name}/groups/remove  group
//	GET  /ui/groups                  groups and members; create form
//	POST /ui/groups                  name
//	POST /ui/groups/{name}/members/add     user
//	POST /ui/groups/{name}/members/remove  user
//	GET  /ui/tokens                  tokens; enroll, assign, resync, import
//	POST /ui/tokens/enroll           user, kind (totp/hotp), digits (6/8);
//	                                 answers with the enrollment page
//	POST /ui/tokens/assign           serial, user
//	POST /ui/tokens/unassign         serial (back: a user, to return to
//	                                 that user's page)
//	POST /ui/tokens/resync           serial, code1, code2
//	POST /ui/tokens/import           multipart: file, password, psk (hex)
//	GET  /ui/policies                each service's policy, explained
//	POST /ui/policies/dryrun         service, user, secret, credential
//	                                 (mschapv2/plaintext); answers with
//	                                 the policies page and the outcome
//	GET  /ui/status                  version, uptime, plugins, front
//	                                 doors, pool, metrics
//	GET  /ui/signin, POST /ui/signin name, password, next
//	GET  /ui/signout, POST /ui/signout
//	GET  /ui/static/console.css, /ui/static/console.js
//
// User and group names go into paths escaped (url.PathEscape), so a name
// with "/" or "?" still has its page. Any other path under /ui/ is a 404
// page, for the signed-in only.
//
// # Signing in
//
// An operator signs in with a name and password that [Backend.SignIn]
// checks. A console session lives in memory only (a restart signs
// everyone out): its id is 256 bits from crypto/rand and is only ever
// looked up as a map key. The cookie gatehouse_console is Secure,
// HttpOnly, SameSite=Strict, Path=/ui/, and its Max-Age is MaxAge.
// Browsers keep Secure cookies over plain http only for localhost; an
// admin listener reached by another name needs TLS in front of it.
//
// Every sign-in makes a new session with a new id and ends the one the
// browser held before, so an id planted before sign-in is never the one
// in use. A session ends after IdleTimeout without a request (the live
// table's poll does not count, so an open, unattended sessions page still
// signs itself out: its next poll gets 401 and the script goes to the
// sign-in page), MaxAge after sign-in however busy, and at sign-out
// (POST, with the CSRF token; GET /ui/signout only shows the button). At
// most 1024 sessions are kept; past that, a sign-in drops the one idle
// the longest.
//
// Failed sign-ins are limited per client address and per account name
// (case-folded): token buckets of SignInRate a minute in bursts of
// SignInBurst, that only failures take from. When either bucket is empty
// the name and password are not even checked: the answer is 429 with
// Retry-After and a message that says how long to wait. The client
// address is the TCP peer's (no forwarding header is trusted); an IPv6
// client counts by its /64; a request over the Unix socket counts as
// "local". Every attempt with a name and password (ok, wrong,
// rate-limited, or not checked because the Backend failed) goes to
// [Backend.RecordSignIn] with its reason and never the password; an empty
// form is not an attempt. The per-name limit lets someone who knows an
// operator's name keep that operator out for as long as they keep
// failing; that is the price of stopping guessing at one account from
// many addresses.
//
// Signed out, a GET of any page but the sign-in page and the static
// files answers 303 to /ui/signin?next=<the page> (next is honoured only
// for a console page on the same host, and left out for /ui/ itself,
// where a sign-in lands anyway); any other request, and the live rows,
// answer 401.
//
// # Roles
//
// An [Account] whose CanChange is false (a viewer) sees every page but
// no change form or button: the templates leave them out. Server-side,
// every POST but sign-out from a viewer is refused with 403 before its
// form is read, and so is the disconnect confirmation page. The dry run
// is operator-only too: with nothing consumed and no lockout it would let
// a viewer guess passwords at leisure.
//
// # Cross-site requests
//
// Three checks, in this order, guard every POST:
// net/http.CrossOriginProtection (Sec-Fetch-Site must be same-origin or
// none when sent, else the Origin's host must be the Host: a cross-site
// or same-site request is 403), also on sign-in against login CSRF; the
// session cookie (SameSite=Strict); and a CSRF token, 256 random bits
// per session, sent in the hidden form field csrf or the X-CSRF-Token
// header and compared in constant time (missing or wrong: 403, nothing
// done). Pages carry it in <meta name="csrf-token"> for scripts. GETs
// change nothing.
//
// # Outcomes and errors
//
// A change's outcome is kept in the server-side session as a flash and
// shown once, on the next full page (not in the URL, not eaten by the
// poll), as #flash. An error that wraps [ErrNotFound], [ErrExists] or
// [ErrInvalid] is the operator's mistake: "Not done: <the error>". Any
// other error is "Failed to <what>: <the error>" and is logged. The
// console checks the obvious mistakes itself first (empty names, vpn
// not one of the three values, digits not 6 or 8, codes not digits, PSK
// not hex, empty password on the set-password form) and reports them
// the same way. A page whose data the Backend cannot give answers 404
// for ErrNotFound, 400 for the other mistakes and 500 otherwise, with
// the text. All text goes through html/template: data from users,
// events or errors is always shown as text.
//
// Two POSTs answer with a page instead of a redirect. The token
// enrollment page shows the QR code (PNG, as a data: URI) and the key
// URI on that response only: nothing keeps them for a later GET, so a
// redirect could not show them. Reloading it asks the browser to post
// again, which enrolls another token (browsers warn first). The dry run
// changes nothing and its secret must not be kept, so it shows its
// outcome on the policies page it was posted from; the secret field
// comes back empty, and any outcome line or error that holds the secret
// (four characters or more) has it replaced by REDACTED.
//
// # Headers
//
// Every response carries Content-Security-Policy: default-src 'none';
// script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src
// 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none' —
// so the pages have no inline script, no inline style and no style
// attribute, and a test checks it — as well as X-Content-Type-Options:
// nosniff, Referrer-Policy: no-referrer and X-Frame-Options: DENY. Pages
// have Cache-Control: no-store; the static files no-cache.
//
// # Limits
//
// Request bodies are capped at 1 MiB (MaxBody); the PSKC upload route
// allows MaxUpload (1 MiB) for the file plus 64 KiB for the rest of the
// form, and the file itself must be at most 1 MiB. A form that cannot be
// read is 400; one too large is 413. Bad search parameters on the logs
// page (a bad date, an unknown kind, an unknown parameter) are 400 with
// events.ParseFilter's message and the form kept. Sign-in names are at
// most 256 bytes.
//
// # The script
//
// static/console.js is the only script, and every page works without
// it. It rewrites each <time datetime="RFC 3339"> (rendered with UTC text
// by the server) into the browser's time zone with toLocaleString(),
// keeping the UTC text as the title. On the sessions page it fetches
// /ui/sessions/live (with the page's ?q=) every 2 seconds while the page
// is visible and changes only the rows and cells that differ, so
// keyboard focus survives an update; without the script, a reload shows
// the same. The disconnect button is a link to the confirmation page,
// with or without the script (no window.confirm dialog).
//
// # Hooks for browser tests
//
// The pages keep these ids, classes and attributes stable:
//
//	all pages        nav#nav (a[aria-current="page"] on the current
//	                 page), a.skip to main#main, h1 (the page title),
//	                 p#flash (.flash-ok / .flash-error; role status or
//	                 alert), form#signout with button "Sign out",
//	                 #operator with .operator-name and .role (.role-viewer,
//	                 .role-operator), <meta name="csrf-token">,
//	                 input[name=csrf] in each POST form
//	error pages      p#error[data-status]
//	sign-in          form#signin, input[name=name] (#signin-name),
//	                 input[name=password] (#signin-password), button
//	                 "Sign in", p#signin-error
//	sessions         form#sessions-filter with input#sessions-q[name=q];
//	                 table#sessions-table[data-live]; each row
//	                 tr.session[data-session-id] with cells .user .client
//	                 .address .service .branch .encryption .started .up
//	                 .bytes-in .bytes-out .actions; a.events (to
//	                 /ui/logs?session=ID); a.button.disconnect "Disconnect"
//	                 (operators); tr.empty when none; #sessions-count,
//	                 #sessions-updated (the script's status)
//	disconnect       form#disconnect-confirm[data-session-id], button
//	                 "Disconnect", link "Cancel"
//	logs             form#logs-filter with #logs-user, #logs-client,
//	                 select#logs-kind, select#logs-result, #logs-since,
//	                 #logs-until, #logs-session, button "Search";
//	                 p#logs-error; p#logs-count; table#logs-table, rows
//	                 tr.event[data-kind][data-result] with .time .title
//	                 .user .client .service .session .details; in
//	                 .details: p.reason, p.branch, p.message,
//	                 p.by-operator, and ul.branches > li.branch-outcome
//	                 (.outcome-<outcome>) with .branch-name, .outcome,
//	                 .branch-reason
//	users            nav.subnav; form#users-search (#users-q);
//	                 table#users-table, rows tr[data-user]; form#create-user
//	                 (#new-user-name, #new-user-password, #new-user-vpn,
//	                 checkboxes input[name=groups]), button "Create user"
//	user             dl#user-facts[data-user] (.state .vpn .locked);
//	                 a#user-events; form#user-disable / #user-enable,
//	                 form#user-unlock (only when locked out), form#user-vpn
//	                 (#user-vpn-select, "Set VPN access"),
//	                 form#user-password (#user-password-input, "Set
//	                 password"), ul#user-groups > li[data-group] with
//	                 button "Remove from <group>", form#user-group-add
//	                 (#user-group-add-select, "Add to group"),
//	                 table#user-tokens rows tr[data-serial], "Unassign"
//	groups           table#groups-table, rows tr[data-group] with
//	                 li[data-member] and button "Remove <user>",
//	                 form.member-add ("Add member"); form#create-group
//	                 (#new-group-name, "Create group")
//	tokens           table#tokens-table, rows tr[data-serial] (and
//	                 data-user when assigned);
//	                 "Unassign" / form.token-assign ("Assign");
//	                 form#enroll (#enroll-user, #enroll-kind,
//	                 #enroll-digits, "Enroll"); form#resync
//	                 (#resync-serial, #resync-code1, #resync-code2,
//	                 "Resync"); form#import (#import-file,
//	                 #import-password, #import-psk, "Import")
//	enrolled         section#enrollment[data-serial], img#enroll-qr
//	                 (data:image/png), input#enroll-uri (the key URI)
//	policies         section.service[data-service] with code.policy and
//	                 pre.explain; form#dryrun (#dryrun-service,
//	                 #dryrun-user, #dryrun-secret, #dryrun-credential,
//	                 "Try"); div#dryrun-result[data-accepted] with
//	                 p.decision and pre.lines; p#dryrun-error
//	status           dl#status-facts (#status-version, #status-uptime,
//	                 #status-pool); table#plugins-table rows
//	                 tr[data-plugin]; table#frontdoors-table rows
//	                 tr[data-frontdoor]; table#metrics-table
//
// # Accessibility
//
// Semantic HTML: a skip link, nav, main, tables with captions and th
// scope, a label for every control, fieldsets for checkbox groups,
// role=alert for errors and role=status for outcomes, aria-current in
// the nav bar, scrollable table regions that take keyboard focus. Focus
// is always visible (a thick outline), every action is a link or a
// button, and the layout fits a 1366x768 screen without horizontal
// scrolling of the page.
package console
