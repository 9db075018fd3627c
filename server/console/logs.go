package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-vpn/gatehouse/server/events"
)

// Events shown on the logs page: the newest pageLimit unless the query
// asks for another limit, and never more than maxPageLimit.
const (
	pageLimit    = 200
	maxPageLimit = 1000
)

// logsForm is the search form as the operator filled it in.
type logsForm struct {
	User, Client, Kind, Result, Since, Until, Session, Service string
}

// logsData is the logs page's data.
type logsData struct {
	Form    logsForm
	Kinds   []string
	Events  []events.Event
	Error   string
	Limit   int
	Limited bool
}

// logsPage searches the event index. The query parameters are those of
// events.ParseFilter (user, client, kind, result, since, until, session,
// service, front_door, limit), so that the page's address is the same
// search the CLI and the admin API make.
func (c *Console) logsPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	d := logsData{}
	for _, k := range events.Kinds() {
		d.Kinds = append(d.Kinds, k.String())
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		d.Error = "The address's query could not be read: " + err.Error()
		c.render(w, r, &s, http.StatusBadRequest, "logs", "Logs", d)
		return
	}
	d.Form = logsForm{
		User: q.Get(events.ParamUser), Client: q.Get(events.ParamClient), Kind: q.Get(events.ParamKind),
		Result: q.Get(events.ParamResult), Since: q.Get(events.ParamSince), Until: q.Get(events.ParamUntil),
		Session: q.Get(events.ParamSession), Service: q.Get(events.ParamService),
	}
	f, err := events.ParseFilter(q, c.now().UTC())
	if err != nil {
		if pe, ok := errors.AsType[*events.ParamError](err); ok {
			d.Error = "Search not understood: " + pe.Error()
		} else {
			d.Error = "Search not understood: " + err.Error()
		}
		c.render(w, r, &s, http.StatusBadRequest, "logs", "Logs", d)
		return
	}
	switch {
	case f.Limit == 0:
		f.Limit = pageLimit
	case f.Limit > maxPageLimit:
		f.Limit = maxPageLimit
	}
	d.Limit = f.Limit
	evs, err := c.b.Events(r.Context(), f)
	if err != nil {
		c.loadFailed(w, r, s, "events", err)
		return
	}
	// Newest first, whatever order the index answered in.
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b events.Event) int { return b.Time.Compare(a.Time) })
	d.Events = evs
	d.Limited = len(evs) >= f.Limit
	c.render(w, r, &s, http.StatusOK, "logs", "Logs", d)
}
