package console

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// maxNameLen bounds an account name typed at sign-in.
const maxNameLen = 256

// signInForm is the sign-in template's data.
type signInForm struct {
	Name  string
	Next  string
	Error string
}

// signInPage shows the sign-in form, or sends the signed-in on.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !safeNext(next) {
		next = ""
	}
	if _, ok := c.current(w, r, true); ok {
		redirect(w, r, cmp.Or(next, pathSessions))
		return
	}
	c.render(w, r, nil, http.StatusOK, "signin", "Sign in", signInForm{Next: next})
}

// signIn checks a name and password. Failures are limited per client
// address and per name, and every attempt is recorded through the
// Backend (never the password).
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if status, msg := parseForm(r); status != 0 {
		c.render(w, r, nil, status, "signin", "Sign in", signInForm{Error: msg})
		return
	}
	name := r.PostFormValue("name")
	password := r.PostFormValue("password")
	next := r.PostFormValue("next")
	if !safeNext(next) {
		next = ""
	}
	form := signInForm{Name: name, Next: next}
	if name == "" || password == "" {
		form.Error = "Enter your name and password."
		c.render(w, r, nil, http.StatusBadRequest, "signin", "Sign in", form)
		return
	}
	if len(name) > maxNameLen {
		form.Name = ""
		form.Error = fmt.Sprintf("The name is too long (at most %d bytes).", maxNameLen)
		c.render(w, r, nil, http.StatusBadRequest, "signin", "Sign in", form)
		return
	}
	now := c.now()
	addr, addrKey := clientOf(r)
	nameKey := strings.ToLower(name)
	if wait := max(c.byAddr.wait(addrKey, now), c.byName.wait(nameKey, now)); wait > 0 {
		secs := int64(math.Ceil(wait.Seconds()))
		c.b.RecordSignIn(r.Context(), name, addr, false, "too many failed sign-ins")
		c.log.Warn("console sign-in refused: too many failures", slog.String("name", name),
			slog.String("client", addr), slog.Int64("retry_after_seconds", secs))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		form.Error = fmt.Sprintf("Too many failed sign-ins from your address or for this name. Wait %s and try again.", waitText(secs))
		c.render(w, r, nil, http.StatusTooManyRequests, "signin", "Sign in", form)
		return
	}
	acct, ok, err := c.b.SignIn(r.Context(), name, password)
	switch {
	case err != nil:
		c.b.RecordSignIn(r.Context(), name, addr, false, "could not check: "+err.Error())
		c.log.Error("console sign-in could not be checked", slog.String("name", name), slog.String("client", addr), slog.Any("err", err))
		form.Error = "Sign-in could not be checked just now; try again. (" + err.Error() + ")"
		c.render(w, r, nil, http.StatusServiceUnavailable, "signin", "Sign in", form)
		return
	case !ok:
		c.byAddr.fail(addrKey, now)
		c.byName.fail(nameKey, now)
		c.b.RecordSignIn(r.Context(), name, addr, false, "wrong name or password")
		c.log.Info("console sign-in refused", slog.String("name", name), slog.String("client", addr))
		form.Error = "Wrong name or password."
		c.render(w, r, nil, http.StatusUnauthorized, "signin", "Sign in", form)
		return
	}
	if acct.Name == "" {
		acct.Name = name
	}
	// A new session every time, whatever the browser held before: an id
	// planted before sign-in is never the one signed in.
	if ck, err := r.Cookie(cookieName); err == nil {
		c.sessions.delete(secret(ck.Value))
	}
	s := c.sessions.create(acct, now)
	c.setCookie(w, s)
	c.b.RecordSignIn(r.Context(), acct.Name, addr, true, "")
	c.log.Info("console sign-in", slog.String("operator", acct.Name), slog.String("role", string(acct.Role)), slog.String("client", addr))
	redirect(w, r, cmp.Or(next, pathSessions))
}

// signOutPage offers the sign-out button to one who typed the address.
func (c *Console) signOutPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	c.render(w, r, &s, http.StatusOK, "signout", "Sign out", nil)
}

// signOut ends the session.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s signedIn) {
	c.sessions.delete(s.id)
	clearCookie(w)
	c.log.Info("console sign-out", slog.String("operator", s.Acct.Name))
	redirect(w, r, pathSignIn)
}

// clientOf returns the request's client address as text, and the key
// its failed sign-ins are counted under: the address, or its /64 for
// IPv6 (one host usually holds a whole /64). The address is the TCP
// peer's: the console trusts no forwarding header. A request over the
// Unix socket counts as "local".
func clientOf(r *http.Request) (addr, key string) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
			ap = netip.AddrPortFrom(a, 0)
		} else {
			return "local", "local"
		}
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return a.String(), p.String()
	}
	return a.String(), a.String()
}

// waitText is a wait in words: "42 seconds", "3 minutes".
func waitText(secs int64) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}
