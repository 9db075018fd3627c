package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/internal/pskc"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

func newTokenCmd() *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "token",
		Short: "Enroll OATH tokens, import DIGIPASS tokens, assign and resynchronise them",
		Long: `Tokens live in the local store with their secrets sealed. OATH soft tokens
(authenticator apps) are enrolled with "token enroll"; DIGIPASS hardware
tokens in OATH mode (HOTP or TOTP) are imported from the vendor's PSKC file
(RFC 6030) and then assigned to users. The vendor's proprietary DIGIPASS
algorithms are not supported.`,
		Example: `  gatehouse token enroll alice --type totp --png alice.png
  gatehouse token import --pskc tokens.pskc --psk-file transport.key
  gatehouse token assign 12345678 bob
  gatehouse token resync 12345678 123456 654321`,
	}
	sf.register(c)
	c.AddCommand(newTokenEnrollCmd(&sf), newTokenImportCmd(&sf), newTokenAssignCmd(&sf), newTokenUnassignCmd(&sf),
		newTokenListCmd(&sf), newTokenResyncCmd(&sf), newTokenDeleteCmd(&sf))
	return c
}

func newTokenEnrollCmd(sf *storeFlags) *cobra.Command {
	var (
		kind, algorithm, issuer, pngPath, serial string
		digits                                   int
		period                                   time.Duration
		noQR                                     bool
	)
	c := &cobra.Command{
		Use:   "enroll USER",
		Short: "Create an OATH soft token for a user and show its QR code",
		Long: `Enroll creates a token with a fresh 20-byte random secret, assigns it to
USER and prints the otpauth:// URI and a QR code for an authenticator app.
The URI carries the secret: show it only to the user it belongs to.`,
		Example: `  gatehouse token enroll alice --type totp
  gatehouse token enroll bob --type hotp --digits 8 --png bob.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			r := enrollRequest{user: args[0], kind: kind, algorithm: algorithm, digits: digits, period: period, issuer: issuer, serial: serial}
			if _, err := r.params(); err != nil {
				return &usageError{err}
			}
			st, cfg, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			e, err := enroll(c.Context(), st, r)
			if err != nil {
				return err
			}
			t := e.token
			w := c.OutOrStdout()
			fmt.Fprintf(w, "token %s (%s, %s, %d digits) enrolled for %s\n%s\n", t.Serial, t.Kind, t.Algorithm, t.Digits, t.User, e.uri)
			if !noQR {
				writeTerminalQR(w, e.qr)
			}
			if pngPath != "" {
				if err := writePNG(pngPath, e.qr); err != nil {
					return err
				}
				fmt.Fprintf(w, "QR code written to %s\n", pngPath)
			}
			if w := unusedStoreWarning(cfg, "token "+t.Serial+" is in", config.BackendOATH); w != "" {
				fmt.Fprintln(c.ErrOrStderr(), w)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&kind, "type", "totp", "totp (time-based) or hotp (event-based)")
	f.StringVar(&algorithm, "algorithm", "SHA1", "SHA1, SHA256 or SHA512 (most apps support only SHA1)")
	f.IntVar(&digits, "digits", 6, "code length, 6 to 8")
	f.DurationVar(&period, "period", 30*time.Second, "TOTP time step")
	f.StringVar(&issuer, "issuer", "Gatehouse", "issuer shown in the authenticator app")
	f.StringVar(&serial, "serial", "", "serial for the token (default: oath-<random>)")
	f.StringVar(&pngPath, "png", "", "also write the QR code as a PNG file")
	f.BoolVar(&noQR, "no-qr", false, "do not print the QR code in the terminal")
	return c
}

// enrollRequest is a token to enroll, as "token enroll" and the
// console's form ask: the user, then the kind ("totp" or "hotp"), the
// algorithm ("" is SHA1), digits (0 is 6), the TOTP period (0 is 30s),
// the issuer the app shows and the serial ("" is oath-<random>).
type enrollRequest struct {
	user, kind, algorithm, issuer, serial string
	digits                                int
	period                                time.Duration
}

// params checks the request's token parameters; an error is the asker's
// mistake (a usage error for the CLI).
func (r enrollRequest) params() (otp.Params, error) {
	k, err := otp.ParseKind(r.kind)
	if err != nil {
		return otp.Params{}, fmt.Errorf("--type: %w", err)
	}
	alg := otp.SHA1
	if r.algorithm != "" {
		if alg, err = otp.ParseAlgorithm(r.algorithm); err != nil {
			return otp.Params{}, fmt.Errorf("--algorithm: %w", err)
		}
	}
	p := otp.Params{Kind: k, Algorithm: alg, Digits: r.digits}
	if p.Digits == 0 {
		p.Digits = otp.DefaultDigits
	}
	if k == otp.TOTP {
		p.Period = r.period
		if p.Period == 0 {
			p.Period = otp.DefaultPeriod
		}
	}
	if err := p.Validate(); err != nil {
		return otp.Params{}, err
	}
	return p, nil
}

// enrolled is a token just enrolled: its row (secret cleared), and the
// key URI and QR code that carry the secret, to show once.
type enrolled struct {
	token store.Token
	uri   string
	qr    barcode.Barcode
}

// enroll creates an OATH soft token for r.user with a fresh 20-byte random
// secret, assigned to the user, and returns it with its otpauth:// URI and
// QR code. Nothing is stored when the user does not exist or the URI
// cannot be written.
func enroll(ctx context.Context, st *store.Store, r enrollRequest) (enrolled, error) {
	p, err := r.params()
	if err != nil {
		return enrolled{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	issuer := r.issuer
	if issuer == "" {
		issuer = "Gatehouse"
	}
	secret := make([]byte, 20)
	if _, err := rand.Read(secret); err != nil {
		return enrolled{}, err
	}
	defer clear(secret)
	serial := r.serial
	if serial == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		serial = "oath-" + hex.EncodeToString(b)
	}
	if _, err := st.User(ctx, r.user); err != nil {
		return enrolled{}, err
	}
	uri, err := otp.KeyURI(otp.Key{Issuer: issuer, Account: r.user, Secret: secret, Params: p})
	if err != nil {
		return enrolled{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return enrolled{}, fmt.Errorf("QR code: %w", err)
	}
	tok := store.Token{Serial: serial, Kind: p.Kind.String(), Algorithm: p.Algorithm.String(), Digits: p.Digits,
		Period: p.Period, LastStep: -1, Secret: secret, User: r.user, Source: store.SourceOATH}
	if err := st.AddToken(ctx, tok); err != nil {
		return enrolled{}, err
	}
	tok.Secret = nil
	return enrolled{token: tok, uri: uri, qr: code}, nil
}

// writeTerminalQR draws the code with half-block characters, two modules a
// character cell vertically, dark on light, with a quiet zone.
func writeTerminalQR(w io.Writer, code barcode.Barcode) {
	b := code.Bounds()
	const quiet = 2
	dark := func(x, y int) bool {
		if x < b.Min.X || y < b.Min.Y || x >= b.Max.X || y >= b.Max.Y {
			return false
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r < 0x8000
	}
	var sb strings.Builder
	for y := b.Min.Y - quiet; y < b.Max.Y+quiet; y += 2 {
		for x := b.Min.X - quiet; x < b.Max.X+quiet; x++ {
			top, bottom := dark(x, y), dark(x, y+1)
			switch {
			case top && bottom:
				sb.WriteRune(' ')
			case top:
				sb.WriteRune('▄')
			case bottom:
				sb.WriteRune('▀')
			default:
				sb.WriteRune('█')
			}
		}
		sb.WriteByte('\n')
	}
	io.WriteString(w, sb.String())
}

// writePNG writes the code as qrPNG draws it to path (mode 0600: it
// carries the secret).
func writePNG(path string, code barcode.Barcode) error {
	b, err := qrPNG(code)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// qrPNG draws the code as a PNG 300 pixels wide with a white quiet zone
// of four modules around it, as scanners expect.
func qrPNG(code barcode.Barcode) ([]byte, error) {
	scaled, err := barcode.Scale(code, 300, 300)
	if err != nil {
		return nil, err
	}
	margin := 4 * 300 / code.Bounds().Dx()
	img := image.NewGray(image.Rect(0, 0, 300+2*margin, 300+2*margin))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, scaled.Bounds().Add(image.Pt(margin, margin)), scaled, scaled.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func newTokenImportCmd(sf *storeFlags) *cobra.Command {
	var (
		file, pskFile string
		passwordStdin bool
	)
	c := &cobra.Command{
		Use:   "import --pskc FILE",
		Short: "Import DIGIPASS (OATH mode) tokens from a PSKC file",
		Long: `Import reads a PSKC file (RFC 6030) from the token vendor, decrypts the
token secrets with the pre-shared transport key (--psk-file, hex) or the
password the vendor gave (--password-stdin, PBKDF2), checks every MAC, and
stores each token sealed, unassigned, with its serial number. Assign tokens
to users with "token assign". Nothing is stored unless the whole file
decrypts and verifies.`,
		Example: `  gatehouse token import --pskc tokens.pskc --psk-file transport.key
  echo 'qwerty' | gatehouse token import --pskc tokens.pskc --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlag("pskc", file); err != nil {
				return err
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			var opts pskc.Options
			if pskFile != "" {
				raw, err := os.ReadFile(pskFile)
				if err != nil {
					return err
				}
				key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
				if err != nil {
					return fmt.Errorf("%s: the pre-shared key must be written in hex", pskFile)
				}
				opts.PreSharedKey = key
			}
			if passwordStdin {
				pw, err := readNewPassword(c, true)
				if err != nil {
					return err
				}
				opts.Password = pskc.Secret(pw)
			}
			tokens, err := parsePSKC(data, opts)
			var kr *pskc.KeyRequiredError
			if errors.As(err, &kr) {
				flag := "--psk-file FILE (the transport key in hex)"
				if kr.Protection == pskc.ProtectionPassword {
					flag = "--password-stdin (the password the vendor gave you)"
				}
				name := ""
				if kr.KeyName != "" {
					name = fmt.Sprintf(" (the vendor calls it %q)", kr.KeyName)
				}
				return fmt.Errorf("%s: the secrets are encrypted: pass %s%s", file, flag, name)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			defer clearTokens(tokens)
			st, cfg, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			w := c.OutOrStdout()
			added, err := addTokens(c.Context(), st, tokens, func(t store.Token, added bool) {
				if added {
					fmt.Fprintf(w, "token %s: %s %s, %d digits imported\n", t.Serial, t.Kind, t.Algorithm, t.Digits)
				} else {
					fmt.Fprintf(w, "token %s: already in the store, skipped\n", t.Serial)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%d of %d tokens imported\n", added, len(tokens))
			if w := unusedStoreWarning(cfg, "the tokens are in", config.BackendOATH, config.BackendDigipass); w != "" {
				fmt.Fprintln(c.ErrOrStderr(), w)
			}
			return nil
		},
	}
	c.Flags().StringVar(&file, "pskc", "", "PSKC file from the token vendor (required)")
	c.Flags().StringVar(&pskFile, "psk-file", "", "file holding the pre-shared transport key in hex")
	c.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the PSKC password (PBKDF2) from standard input")
	return c
}

// parsePSKC decrypts and checks every MAC of a PSKC file and turns its key
// packages into store tokens, unassigned. A file whose secrets need a key
// that opts lacks is a *pskc.KeyRequiredError.
func parsePSKC(data []byte, opts pskc.Options) ([]store.Token, error) {
	kps, err := pskc.Parse(data, opts)
	if err != nil {
		return nil, err
	}
	return tokensFromPSKC(kps)
}

// addTokens adds tokens to the store, skipping the serials it has already;
// report hears of each (added false: skipped). It returns how many were
// added.
func addTokens(ctx context.Context, st *store.Store, tokens []store.Token, report func(t store.Token, added bool)) (int, error) {
	added := 0
	for _, t := range tokens {
		if err := st.AddToken(ctx, t); err != nil {
			if errors.Is(err, store.ErrExists) {
				report(t, false)
				continue
			}
			return added, err
		}
		added++
		report(t, true)
	}
	return added, nil
}

// clearTokens overwrites the tokens' secrets.
func clearTokens(tokens []store.Token) {
	for _, t := range tokens {
		clear(t.Secret)
	}
}

// tokensFromPSKC turns key packages into store tokens; a package that is not
// an OATH HOTP or TOTP key is an error naming it.
func tokensFromPSKC(kps []pskc.KeyPackage) ([]store.Token, error) {
	var out []store.Token
	for i, kp := range kps {
		name := kp.Serial
		if name == "" {
			name = kp.KeyID
		}
		if name == "" {
			return nil, fmt.Errorf("key package %d has neither a serial number nor a key id", i+1)
		}
		kind := kp.Kind()
		if kind != "hotp" && kind != "totp" {
			return nil, fmt.Errorf("token %s: algorithm %s is not OATH HOTP or TOTP (only OATH-mode devices are supported)", name, kp.Algorithm)
		}
		if !kp.PermitsOTP() {
			return nil, fmt.Errorf("token %s: its policy does not permit one-time passwords", name)
		}
		alg := "SHA1"
		switch strings.ToUpper(strings.TrimPrefix(strings.ToUpper(kp.Suite), "HMAC-")) {
		case "", "SHA1":
		case "SHA256":
			alg = "SHA256"
		case "SHA512":
			alg = "SHA512"
		default:
			return nil, fmt.Errorf("token %s: suite %s is not supported", name, kp.Suite)
		}
		digits := kp.Digits
		if digits == 0 {
			digits = 6
		}
		t := store.Token{Serial: name, Kind: kind, Algorithm: alg, Digits: digits, Secret: kp.Secret,
			Source: store.SourceDIGIPASS, Manufacturer: kp.Manufacturer, Model: kp.Model, LastStep: -1}
		if kind == "hotp" {
			t.Counter = kp.Counter
		} else {
			interval := kp.TimeInterval
			if interval == 0 {
				interval = 30
			}
			t.Period = time.Duration(interval) * time.Second
			t.T0 = kp.Time
			t.Drift = int64(kp.TimeDrift)
		}
		out = append(out, t)
	}
	return out, nil
}

func newTokenListCmd(sf *storeFlags) *cobra.Command {
	var user string
	c := &cobra.Command{
		Use:     "list",
		Short:   "List tokens (never their secrets)",
		Example: `  gatehouse token list --user alice`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, _, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			tokens, err := st.Tokens(c.Context(), store.TokenFilter{User: user})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tSOURCE\tTYPE\tALGORITHM\tDIGITS\tUSER\tSTATE")
			for _, t := range tokens {
				clear(t.Secret)
				u := t.User
				if u == "" {
					u = "-"
				}
				stateText := fmt.Sprintf("counter %d", t.Counter)
				if t.Kind == store.KindTOTP {
					stateText = fmt.Sprintf("period %s, drift %d", t.Period, t.Drift)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", t.Serial, t.Source, t.Kind, t.Algorithm, t.Digits, u, stateText)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&user, "user", "", "only this user's tokens")
	return c
}

func newTokenResyncCmd(sf *storeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "resync SERIAL CODE1 CODE2",
		Short: "Resynchronise a token from two consecutive codes",
		Long: `Resync finds two consecutive codes far outside the normal window (up to 1000
counters ahead for HOTP, or 100 time steps either way for TOTP, about 50
minutes at 30 s) and moves the token's state there. Both codes count as
used.`,
		Example: `  gatehouse token resync 12345678 123456 654321`,
		Args:    cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			st, _, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			return resync(c.Context(), c.OutOrStdout(), st, args[0], args[1], args[2], time.Now())
		},
	}
}

// errNotConsecutive: the codes given to resync are not two consecutive
// codes of the token near its state (the asker's mistake, not a failure).
var errNotConsecutive = errors.New("the two codes are not consecutive codes")

// resync resynchronises a token from two consecutive codes and says so on
// w.
func resync(ctx context.Context, w io.Writer, st *store.Store, serial, code1, code2 string, now time.Time) error {
	t, err := st.Token(ctx, serial)
	if err != nil {
		return err
	}
	defer clear(t.Secret)
	kind, err := otp.ParseKind(t.Kind)
	if err != nil {
		return err
	}
	alg, err := otp.ParseAlgorithm(t.Algorithm)
	if err != nil {
		return err
	}
	p := otp.Params{Kind: kind, Algorithm: alg, Digits: t.Digits, Period: t.Period, T0: t.T0}
	s := otp.State{Counter: t.Counter, LastStep: t.LastStep, Drift: t.Drift}
	if kind == otp.HOTP {
		next, ok := otp.ResyncHOTP(t.Secret, p, s, code1, code2, 1000)
		if !ok {
			return fmt.Errorf("token %s: %w within 1000 counters", serial, errNotConsecutive)
		}
		if err := st.ResyncHOTP(ctx, serial, next.Counter); err != nil {
			return err
		}
		fmt.Fprintf(w, "token %s resynchronised: next counter %d\n", serial, next.Counter)
		return nil
	}
	next, ok := otp.ResyncTOTP(t.Secret, p, s, code1, code2, now, 100)
	if !ok {
		return fmt.Errorf("token %s: %w within 100 time steps of now", serial, errNotConsecutive)
	}
	if err := st.CommitTOTP(ctx, serial, next.LastStep, next.Drift); err != nil {
		return err
	}
	fmt.Fprintf(w, "token %s resynchronised: clock drift %d steps\n", serial, next.Drift)
	return nil
}

func newTokenAssignCmd(sf *storeFlags) *cobra.Command {
	return storeOp(sf, "assign SERIAL USER", "Assign a token to a user", "  gatehouse token assign 12345678 bob", 2,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "token " + a[0] + " assigned to " + a[1], st.AssignToken(c.Context(), a[0], a[1])
		})
}

func newTokenUnassignCmd(sf *storeFlags) *cobra.Command {
	return storeOp(sf, "unassign SERIAL", "Take a token from its user (it keeps its secret and counters)", "  gatehouse token unassign 12345678", 1,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "token " + a[0] + " unassigned", st.UnassignToken(c.Context(), a[0])
		})
}

func newTokenDeleteCmd(sf *storeFlags) *cobra.Command {
	return storeOp(sf, "delete SERIAL", "Delete a token", "  gatehouse token delete oath-1a2b3c4d", 1,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "token " + a[0] + " deleted", st.DeleteToken(c.Context(), a[0])
		})
}
