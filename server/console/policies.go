package console

import (
	"log/slog"
	"net/http"
	"strings"
)

// credentialChoices are the credential kinds a dry run can try.
var credentialChoices = []string{"mschapv2", "plaintext"}

// policiesData is the policies page's data.
type policiesData struct {
	Services    []Service
	Credentials []string
	// Try is the dry-run form as sent (never its secret) and Result its
	// outcome, after a dry run.
	Try    dryRunForm
	Result *DryRun
	Error  string
}

// dryRunForm is the dry-run form without its secret.
type dryRunForm struct {
	Service, User, Credential string
}

// policiesPage shows each service's policy, explained.
func (c *Console) policiesPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	svcs, err := c.b.Services(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "services", err)
		return
	}
	c.render(w, r, &s, http.StatusOK, "policies", "Policies", policiesData{Services: svcs, Credentials: credentialChoices})
}

// dryRun tries a login with nothing consumed, and shows the outcome on
// the policies page itself: there is nothing to redirect after (nothing
// changed), and the secret must not be kept for a later page. The secret
// is never written back into the page: the form comes back empty, and a
// result line that holds the secret has it replaced.
//
// Only operators may dry-run: with nothing consumed, no failure counted
// and no lockout, a dry run would let a viewer guess passwords at leisure.
func (c *Console) dryRun(w http.ResponseWriter, r *http.Request, s signedIn) {
	svcs, err := c.b.Services(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "services", err)
		return
	}
	d := policiesData{Services: svcs, Credentials: credentialChoices}
	d.Try = dryRunForm{
		Service:    r.PostFormValue("service"),
		User:       strings.TrimSpace(r.PostFormValue("user")),
		Credential: r.PostFormValue("credential"),
	}
	secret := r.PostFormValue("secret")
	status := http.StatusOK
	switch {
	case d.Try.Service == "":
		d.Error, status = "Choose a service.", http.StatusBadRequest
	case d.Try.User == "":
		d.Error, status = "Enter a user name.", http.StatusBadRequest
	case d.Try.Credential != "mschapv2" && d.Try.Credential != "plaintext":
		d.Error, status = "The credential must be mschapv2 or plaintext.", http.StatusBadRequest
	default:
		res, err := c.b.DryRun(r.Context(), s.Acct, d.Try.Service, d.Try.User, secret, d.Try.Credential)
		switch {
		case err == nil:
			res.Lines = redactLines(res.Lines, secret)
			res.Branch = redact(res.Branch, secret)
			d.Result = &res
		case mistake(err):
			d.Error, status = "Not tried: "+redact(err.Error(), secret), http.StatusBadRequest
		default:
			c.log.Error("console dry run failed", slog.String("operator", s.Acct.Name), slog.String("service", d.Try.Service),
				slog.String("err", redact(err.Error(), secret)))
			d.Error, status = "The dry run failed: "+redact(err.Error(), secret), http.StatusInternalServerError
		}
	}
	c.render(w, r, &s, status, "policies", "Policies", d)
}

// redact replaces the secret in s, when it is long enough to be told from
// ordinary words.
func redact(s, secret string) string {
	if len(secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, secret, "REDACTED")
}

func redactLines(lines []string, secret string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = redact(l, secret)
	}
	return out
}
