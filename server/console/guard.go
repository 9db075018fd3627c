package console

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// cookieName is the console session cookie.
const cookieName = "gatehouse_console"

// Form field and header that carry the CSRF token.
const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// handler is a page or action for a signed-in operator.
type handler func(w http.ResponseWriter, r *http.Request, s signedIn)

// access is what a route asks of a request before its handler runs.
type access int

const (
	// accessRead: signed in; a POST also needs the CSRF token.
	accessRead access = iota
	// accessPoll: signed in, but the request is not the operator's
	// activity (the live table's poll) and a signed-out request gets
	// 401, not a redirect, so that the script notices.
	accessPoll
	// accessChange: signed in as an account that may change things, with
	// the CSRF token.
	accessChange
)

// public serves h to anyone: the sign-in page.
func (c *Console) public(h http.HandlerFunc) http.Handler { return h }

// read serves h to the signed-in.
func (c *Console) read(h handler) http.Handler { return c.guard(accessRead, h) }

// poll serves h to the signed-in without counting it as activity.
func (c *Console) poll(h handler) http.Handler { return c.guard(accessPoll, h) }

// post serves a POST that any signed-in account may make (sign-out),
// with the CSRF token.
func (c *Console) post(h handler) http.Handler { return c.guard(accessRead, h) }

// change serves a POST that changes something: operators only.
func (c *Console) change(h handler) http.Handler { return c.guard(accessChange, h) }

// anyMethod serves h to the signed-in whatever the method (the 404
// page); a request that is not a GET or HEAD still needs the CSRF token.
func (c *Console) anyMethod(h handler) http.Handler { return c.guard(accessRead, h) }

// guard checks, in order: the session (else 303 to sign-in for a page,
// 401 otherwise), the role (403 for a viewer's change), the form (400,
// 413 when too large) and the CSRF token of every request that is not a
// GET or HEAD (403). The cross-origin check ran before, in ServeHTTP.
func (c *Console) guard(a access, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		s, ok := c.current(w, r, a != accessPoll)
		if !ok {
			if safe && a != accessPoll {
				http.Redirect(w, r, signInURL(r), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, http.StatusUnauthorized, "You are not signed in, or your console session has expired. Sign in again.")
			return
		}
		if a == accessChange && !s.Acct.CanChange() {
			c.log.Warn("console refused a change by a viewer", slog.String("operator", s.Acct.Name),
				slog.String("method", r.Method), slog.String("path", r.URL.Path))
			c.fail(w, r, &s, http.StatusForbidden, "Your account may view the console but not change anything.")
			return
		}
		if !safe {
			if status, msg := parseForm(r); status != 0 {
				c.fail(w, r, &s, status, msg)
				return
			}
			tok := r.Header.Get(csrfHeader)
			if tok == "" {
				tok = r.PostFormValue(csrfField)
			}
			if !s.validCSRF(tok) {
				c.log.Warn("console refused a request without a valid CSRF token", slog.String("operator", s.Acct.Name),
					slog.String("method", r.Method), slog.String("path", r.URL.Path))
				c.fail(w, r, &s, http.StatusForbidden, "The form was stale or did not come from the console (its CSRF token is missing or wrong). Reload the page and try again.")
				return
			}
		}
		h(w, r, s)
	})
}

// current returns the request's console session. A cookie that names no
// live session is cleared.
func (c *Console) current(w http.ResponseWriter, r *http.Request, touch bool) (signedIn, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return signedIn{}, false
	}
	s, ok := c.sessions.get(secret(ck.Value), c.now(), touch)
	if !ok {
		clearCookie(w)
		return s, false
	}
	// The account as it is now: removed since sign-in ends the session,
	// a new role applies at once. A store that cannot answer fails
	// closed for this request, without ending the session.
	acct, ok, err := c.b.Account(r.Context(), s.Acct.Name)
	switch {
	case err != nil:
		c.log.Error("console cannot check the operator account; request refused", slog.String("operator", s.Acct.Name), slog.Any("err", err))
		return signedIn{}, false
	case !ok:
		c.log.Warn("console session ended: the operator account is gone", slog.String("operator", s.Acct.Name))
		c.sessions.delete(s.id)
		clearCookie(w)
		return signedIn{}, false
	case acct.Role != s.Acct.Role:
		c.sessions.setAccount(s.id, acct)
		s.Acct = acct
	}
	return s, true
}

// setCookie gives the browser the session's cookie.
func (c *Console) setCookie(w http.ResponseWriter, s signedIn) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    string(s.id),
		Path:     pathRoot,
		MaxAge:   int(c.cfg.MaxAge.Seconds()),
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// clearCookie tells the browser to forget the session cookie.
func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    "",
		Path:     pathRoot,
		MaxAge:   -1,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// signInURL is the sign-in page, asked to come back to r's page.
func signInURL(r *http.Request) string {
	next := r.URL.RequestURI()
	if !safeNext(next) || r.URL.Path == pathRoot {
		return pathSignIn
	}
	return pathSignIn + "?" + url.Values{"next": {next}}.Encode()
}

// safeNext reports whether next may be redirected to after sign-in: a
// console page on this host, never another site.
func safeNext(next string) bool {
	if !strings.HasPrefix(next, pathRoot) || strings.ContainsAny(next, "\\\r\n\t") || len(next) > 2048 {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil &&
		strings.HasPrefix(u.Path, pathRoot) && !strings.HasPrefix(u.Path, pathSignIn) &&
		!strings.HasPrefix(u.Path, pathSignOut) && !strings.HasPrefix(u.Path, pathStatic) &&
		!strings.HasPrefix(u.Path, pathLive)
}

// parseForm reads a POST's form, multipart or not. It returns 0 when
// the form was read, else the status and message to answer with.
func parseForm(r *http.Request) (int, string) {
	var err error
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		// Everything in memory: the body is capped far below this.
		err = r.ParseMultipartForm(2 * (MaxUpload + uploadOverhead))
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return 0, ""
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, "The form is too large: the console accepts at most 1 MiB."
	}
	return http.StatusBadRequest, "The form could not be read: " + err.Error()
}

// redirect answers a change with 303 See Other to the page to show next
// (Post/Redirect/Get).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// done records the outcome of a change as the session's flash and sends
// the browser to the page to show next. A nil err shows ok; an error
// wrapping ErrNotFound, ErrExists or ErrInvalid is the operator's
// mistake and shows its text; any other error shows as a failure and is
// logged.
func (c *Console) done(w http.ResponseWriter, r *http.Request, s signedIn, to, what, ok string, err error) {
	c.sessions.setFlash(s.id, c.outcome(s, what, ok, err))
	redirect(w, r, to)
}

// outcome is the flash for a change's result.
func (c *Console) outcome(s signedIn, what, ok string, err error) flash {
	switch {
	case err == nil:
		return flash{Text: ok}
	case mistake(err):
		return flash{Error: true, Text: "Not done: " + err.Error()}
	}
	c.log.Error("console change failed", slog.String("operator", s.Acct.Name), slog.String("change", what), slog.Any("err", err))
	return flash{Error: true, Text: "Failed to " + what + ": " + err.Error()}
}

// mistake reports whether err is the operator's mistake rather than a
// failure.
func mistake(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) || errors.Is(err, ErrInvalid)
}

// invalid makes an operator's mistake found by the console itself.
func invalid(msg string) error { return &invalidError{msg} }

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

// quote quotes a name for a message: "bob".
func quote(s string) string { return strconv.Quote(s) }
