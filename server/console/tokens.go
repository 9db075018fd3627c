package console

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// tokensData is the tokens page's data.
type tokensData struct {
	Tokens []Token
	// Unassigned are the serials without a user, for the assign form.
	Unassigned []string
}

// tokensPage lists the tokens, with the enroll, assign, resync and
// import forms.
func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	ts, err := c.b.Tokens(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "tokens", err)
		return
	}
	d := tokensData{Tokens: ts}
	for _, t := range ts {
		if t.User == "" {
			d.Unassigned = append(d.Unassigned, t.Serial)
		}
	}
	c.render(w, r, &s, http.StatusOK, "tokens", "Tokens", d)
}

// enroll makes a new token and shows its QR code and key URI on this
// response only: they are not kept anywhere, so this one answer is not a
// redirect (Post/Redirect/Get would need to keep them for the GET).
// Reloading the page asks the browser to post again, which enrolls
// another token; browsers warn before they do.
func (c *Console) enroll(w http.ResponseWriter, r *http.Request, s signedIn) {
	req := EnrollRequest{
		User: strings.TrimSpace(r.PostFormValue("user")),
		Kind: r.PostFormValue("kind"),
	}
	var err error
	switch d := r.PostFormValue("digits"); d {
	case "", "6":
		req.Digits = 6
	case "8":
		req.Digits = 8
	default:
		err = invalid("a token has 6 or 8 digits")
	}
	switch {
	case err != nil:
	case req.User == "":
		err = invalid("enroll a token for a user: enter the user's name")
	case req.Kind != "totp" && req.Kind != "hotp":
		err = invalid("the token kind must be totp or hotp")
	}
	var e Enrollment
	if err == nil {
		e, err = c.b.Enroll(r.Context(), s.Acct, req)
	}
	if err != nil {
		c.done(w, r, s, "/ui/tokens", "enroll a token for "+quote(req.User), "", err)
		return
	}
	c.log.Info("console enrolled a token", slog.String("operator", s.Acct.Name), slog.String("user", req.User),
		slog.String("serial", e.Token.Serial))
	// Cache-Control: no-store is on every page; it matters most here.
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, &s, http.StatusOK, "enrolled", "Token enrolled", e)
}

// assign gives a token to a user.
func (c *Console) assign(w http.ResponseWriter, r *http.Request, s signedIn) {
	serial, user := strings.TrimSpace(r.PostFormValue("serial")), strings.TrimSpace(r.PostFormValue("user"))
	var err error
	switch {
	case serial == "":
		err = invalid("choose a token")
	case user == "":
		err = invalid("enter the user's name")
	default:
		err = c.b.Assign(r.Context(), s.Acct, serial, user)
	}
	c.done(w, r, s, "/ui/tokens", "assign token "+quote(serial)+" to "+quote(user),
		"Assigned token "+quote(serial)+" to "+quote(user)+".", err)
}

// unassign takes a token from its user.
func (c *Console) unassign(w http.ResponseWriter, r *http.Request, s signedIn) {
	serial := strings.TrimSpace(r.PostFormValue("serial"))
	var err error
	if serial == "" {
		err = invalid("choose a token")
	} else {
		err = c.b.Unassign(r.Context(), s.Acct, serial)
	}
	to := "/ui/tokens"
	if u := r.PostFormValue("back"); u != "" {
		to = userURL(u)
	}
	c.done(w, r, s, to, "unassign token "+quote(serial), "Unassigned token "+quote(serial)+".", err)
}

// resync brings a token's counter or clock back in step from two
// consecutive codes.
func (c *Console) resync(w http.ResponseWriter, r *http.Request, s signedIn) {
	serial := strings.TrimSpace(r.PostFormValue("serial"))
	code1, code2 := strings.TrimSpace(r.PostFormValue("code1")), strings.TrimSpace(r.PostFormValue("code2"))
	var err error
	switch {
	case serial == "":
		err = invalid("choose a token")
	case !digits(code1) || !digits(code2):
		err = invalid("enter two consecutive codes the token shows, digits only")
	default:
		err = c.b.Resync(r.Context(), s.Acct, serial, code1, code2)
	}
	c.done(w, r, s, "/ui/tokens", "resync token "+quote(serial), "Resynchronised token "+quote(serial)+".", err)
}

// digits reports whether s is 6 to 10 decimal digits.
func digits(s string) bool {
	if len(s) < 6 || len(s) > 10 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// importPSKC imports the tokens of an uploaded PSKC file.
func (c *Console) importPSKC(w http.ResponseWriter, r *http.Request, s signedIn) {
	var err error
	n := 0
	name := ""
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	f, fh, ferr := r.FormFile("file")
	switch {
	case errors.Is(ferr, http.ErrMissingFile), errors.Is(ferr, http.ErrNotMultipart):
		err = invalid("choose a PSKC file to import")
	case ferr != nil:
		err = invalid("the file could not be read: " + ferr.Error())
	default:
		defer func() { _ = f.Close() }()
		name = fh.Filename
		var b []byte
		b, err = io.ReadAll(io.LimitReader(f, MaxUpload+1))
		switch {
		case err != nil:
			err = fmt.Errorf("read the upload: %w", err)
		case len(b) > MaxUpload:
			err = invalid("the file is larger than 1 MiB")
		case len(b) == 0:
			err = invalid("the file is empty")
		case !isHex(strings.TrimSpace(r.PostFormValue("psk"))):
			err = invalid("the pre-shared key must be written in hex (0-9, a-f), an even number of digits")
		default:
			psk := strings.TrimSpace(r.PostFormValue("psk"))
			n, err = c.b.ImportPSKC(r.Context(), s.Acct, b, r.PostFormValue("password"), psk)
		}
	}
	c.done(w, r, s, "/ui/tokens", "import "+quote(name),
		"Imported "+strconv.Itoa(n)+" token(s) from "+quote(name)+".", err)
}

// isHex reports whether s is empty or hex bytes.
func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
