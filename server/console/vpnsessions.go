package console

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// sessionsData is the sessions page's data (and the live rows').
type sessionsData struct {
	// Q is the filter: a case-insensitive substring of the user, the
	// client address or the service.
	Q        string
	Sessions []Session
	// Total is how many sessions run, filtered or not.
	Total int
}

// loadSessions returns the running sessions that match q, oldest first.
func (c *Console) loadSessions(r *http.Request) (sessionsData, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	all, err := c.b.Sessions(r.Context())
	if err != nil {
		return sessionsData{}, err
	}
	d := sessionsData{Q: q, Total: len(all)}
	lq := strings.ToLower(q)
	for _, s := range all {
		if lq == "" || strings.Contains(strings.ToLower(s.User), lq) ||
			strings.Contains(strings.ToLower(s.Client), lq) || strings.Contains(strings.ToLower(s.Service), lq) {
			d.Sessions = append(d.Sessions, s)
		}
	}
	slices.SortStableFunc(d.Sessions, func(a, b Session) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return d, nil
}

// sessionsPage lists the running sessions.
func (c *Console) sessionsPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	d, err := c.loadSessions(r)
	if err != nil {
		c.loadFailed(w, r, s, "sessions", err)
		return
	}
	c.render(w, r, &s, http.StatusOK, "sessions", "Sessions", d)
}

// sessionsLive answers the script's poll with the table's rows: an HTML
// fragment of <tr> elements, made by the same template as the page.
func (c *Console) sessionsLive(w http.ResponseWriter, r *http.Request, s signedIn) {
	d, err := c.loadSessions(r)
	if err != nil {
		c.log.Error("console could not list sessions", slog.Any("err", err))
		http.Error(w, "could not list sessions: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Sessions-Total", strconv.Itoa(d.Total))
	c.renderTemplate(w, r, &s, http.StatusOK, "sessions", "rows", "", d)
}

// disconnectData is the confirmation page's data.
type disconnectData struct {
	Session Session
}

// disconnectPage asks an operator to confirm a disconnect: the step that
// works without a script.
func (c *Console) disconnectPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	if !s.Acct.CanChange() {
		c.fail(w, r, &s, http.StatusForbidden, "Your account may view the console but not change anything.")
		return
	}
	id := r.URL.Query().Get("id")
	all, err := c.b.Sessions(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "sessions", err)
		return
	}
	i := slices.IndexFunc(all, func(x Session) bool { return x.ID == id })
	if id == "" || i < 0 {
		c.fail(w, r, &s, http.StatusNotFound, "There is no running session "+quote(id)+"; it may have ended.")
		return
	}
	c.render(w, r, &s, http.StatusOK, "disconnect", "Disconnect a session", disconnectData{Session: all[i]})
}

// disconnect ends a session.
func (c *Console) disconnect(w http.ResponseWriter, r *http.Request, s signedIn) {
	id := r.PostFormValue("id")
	var err error
	if id == "" {
		err = invalid("no session given")
	} else {
		err = c.b.Disconnect(r.Context(), s.Acct, id)
	}
	c.done(w, r, s, pathSessions, "disconnect session "+quote(id), "Disconnected session "+quote(id)+".", err)
}
