package console

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates in templates/ besides the layout; each
// defines "content" (and may define more, such as "rows").
var pageNames = []string{
	"signin", "signout", "error",
	"sessions", "disconnect", "logs",
	"users", "user", "groups",
	"tokens", "enrolled", "policies", "status",
}

// pages are the parsed templates, one set per page.
type pages struct {
	m map[string]*template.Template
}

func loadPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	p := &pages{m: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.m[name] = t
	}
	return p, nil
}

// view is what every page template gets: the layout's fields, and the
// page's own in Data.
type view struct {
	Brand string
	Title string
	// Page is the page's name, for the nav bar's aria-current.
	Page string
	// Acct is nil when no one is signed in.
	Acct  *Account
	CSRF  string
	Flash *flash
	// Now is the time the page was made, UTC.
	Now  time.Time
	Data any
}

// CanChange reports whether the page may show change forms.
func (v view) CanChange() bool { return v.Acct != nil && v.Acct.CanChange() }

// render answers with a whole page. s is nil when no one is signed in.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *signedIn, status int, page, title string, data any) {
	c.renderTemplate(w, r, s, status, page, "layout", title, data)
}

// renderTemplate answers with the template name of page's set.
func (c *Console) renderTemplate(w http.ResponseWriter, r *http.Request, s *signedIn, status int, page, name, title string, data any) {
	v := view{Brand: c.cfg.Title, Title: title, Page: page, Now: c.now().UTC(), Data: data}
	if s != nil {
		acct := s.Acct
		v.Acct = &acct
		v.CSRF = string(s.CSRF)
		if name == "layout" {
			v.Flash = c.sessions.popFlash(s.id)
		}
	}
	t := c.pages.m[page]
	var buf bytes.Buffer
	if t == nil {
		c.log.Error("console has no such page", slog.String("page", page))
		http.Error(w, "internal error: no page "+page, http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		c.log.Error("console page failed", slog.String("page", page), slog.Any("err", err))
		http.Error(w, "internal error: the page could not be made", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// errorPage is the error template's data.
type errorPage struct {
	Status  int
	Message string
}

// fail answers with an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *signedIn, status int, msg string) {
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "GET, HEAD")
	}
	c.render(w, r, s, status, "error", http.StatusText(status), errorPage{Status: status, Message: msg})
}

// loadFailed answers a page whose data the Backend could not give: 404
// for ErrNotFound, 400 for the operator's other mistakes, else 500
// (logged).
func (c *Console) loadFailed(w http.ResponseWriter, r *http.Request, s signedIn, what string, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		c.fail(w, r, &s, http.StatusNotFound, err.Error())
	case mistake(err):
		c.fail(w, r, &s, http.StatusBadRequest, err.Error())
	default:
		c.log.Error("console could not load a page", slog.String("page", what), slog.Any("err", err))
		c.fail(w, r, &s, http.StatusInternalServerError, "Could not load "+what+": "+err.Error())
	}
}

// notFound is the page for the paths the console does not have.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, s signedIn) {
	c.fail(w, r, &s, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
}

// staticHandler serves the embedded style sheet and script, and no
// directory listings.
func staticHandler() (http.Handler, error) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	files := http.StripPrefix(pathStatic, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}), nil
}

// funcs are the template functions.
var funcs = template.FuncMap{
	"rfc3339":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" },
	"since":     since,
	"bytes":     humanBytes,
	"join":      strings.Join,
	"navItem":   navItem,
	"userPath":  userURL,
	"groupPath": groupURL,
	"pngURI": func(b []byte) template.URL {
		// The bytes are encoded here, so the URI cannot be anything but a PNG.
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	},
}

// since is how long ago t was at now, to the second: "3d 4h", "2h 05m",
// "4m 09s", "12s".
func since(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	days, h, m, s := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// humanBytes writes a byte count in binary units: "512 B", "1.5 KiB".
func humanBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= 1024
		if f < 1024 {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f EiB", f/1024)
}

// navLink is one link of the nav bar.
type navLink struct {
	Href, Text string
	Current    bool
}

// navItem is the nav bar's link to page; the users link stands for the
// user and groups pages too.
func navItem(v view, page, href, text string) navLink {
	cur := v.Page == page || page == "users" && (v.Page == "user" || v.Page == "groups")
	return navLink{Href: href, Text: text, Current: cur}
}
