package console

import "net/http"

// statusPage shows the gateway's state: version, uptime, plugins, front
// doors, the address pool and a few metrics.
func (c *Console) statusPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	st, err := c.b.Status(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "status", err)
		return
	}
	c.render(w, r, &s, http.StatusOK, "status", "Status", st)
}
