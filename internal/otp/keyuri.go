package otp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Secret is a token's shared key K (RFC 4226 section 5.1), raw bytes. It
// redacts itself wherever it could leak: fmt verbs, slog, JSON, text.
type Secret []byte

const redacted = "REDACTED"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that no verb prints the key.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Key is a token as an authenticator app enrols it: an otpauth:// URI in
// Google Authenticator's Key URI format,
//
//	otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//	otpauth://hotp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&counter=0
type Key struct {
	Issuer  string // the service, shown by the app; may be empty
	Account string // whose token it is, such as a user name
	Secret  Secret
	Params  Params
	// Counter is the HOTP counter the token starts at; TOTP ignores it.
	Counter uint64
}

// b32URI is base32 as key URIs write it: no padding.
var b32URI = base32.StdEncoding.WithPadding(base32.NoPadding)

// KeyURI writes k as an otpauth:// URI. The URI holds the secret: treat
// it as one (show it as a QR code once, never log it). Issuer and Account
// may not contain ':', which separates them in the label.
func KeyURI(k Key) (string, error) {
	if err := k.Params.Validate(); err != nil {
		return "", err
	}
	if len(k.Secret) == 0 {
		return "", errors.New("key has no secret")
	}
	if k.Account == "" {
		return "", errors.New("key has no account name")
	}
	if err := checkLabel(k.Issuer, k.Account); err != nil {
		return "", err
	}
	if strings.HasPrefix(k.Account, " ") {
		return "", fmt.Errorf("account name %q begins with a space, which apps drop", k.Account)
	}
	label := k.Account
	if k.Issuer != "" {
		label = k.Issuer + ":" + k.Account
	}
	q := []string{"secret=" + b32URI.EncodeToString(k.Secret)}
	if k.Issuer != "" {
		q = append(q, "issuer="+queryEscape(k.Issuer))
	}
	q = append(q, "algorithm="+k.Params.Algorithm.String(), "digits="+strconv.Itoa(k.Params.digits()))
	if k.Params.Kind == TOTP {
		q = append(q, "period="+strconv.FormatInt(k.Params.periodSeconds(), 10))
	} else {
		q = append(q, "counter="+strconv.FormatUint(k.Counter, 10))
	}
	u := url.URL{Scheme: "otpauth", Host: k.Params.Kind.String(), Path: "/" + label, RawQuery: strings.Join(q, "&")}
	return u.String(), nil
}

// checkLabel refuses a ':' in issuer or account: the label
// "Issuer:account" could not be split again.
func checkLabel(issuer, account string) error {
	if strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return fmt.Errorf("issuer %q or account %q contains ':', which the URI label cannot hold", issuer, account)
	}
	return nil
}

// queryEscape escapes a query value with %20 for a space, which every
// authenticator app reads; some show a '+' as it is.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// ParseKeyURI reads an otpauth:// URI. It accepts what apps and
// libraries write: secret in either case, with or without padding;
// algorithm, digits and period optional (SHA1, 6, 30 s, which the Key then
// holds explicitly); counter optional for hotp (0), though the format
// requires it. The issuer parameter wins
// over the label's prefix. It refuses what would compute other codes
// than the URI means: an unknown algorithm, digits outside 6..8, a
// non-default encoder (Steam), a parameter given twice. Errors never
// quote the URI or the secret.
func ParseKeyURI(uri string) (Key, error) {
	u, err := url.Parse(strings.TrimSpace(uri))
	if err != nil {
		return Key{}, errors.New("key URI is not a valid URL")
	}
	if u.Scheme != "otpauth" {
		return Key{}, errors.New("key URI does not start with otpauth://")
	}
	k := Key{Params: Params{Algorithm: SHA1, Digits: DefaultDigits}}
	if k.Params.Kind, err = ParseKind(u.Host); err != nil {
		return Key{}, fmt.Errorf("key URI: %w", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Key{}, errors.New("key URI has a malformed query")
	}
	for name, v := range q {
		if len(v) > 1 {
			return Key{}, fmt.Errorf("key URI gives %q %d times", name, len(v))
		}
	}

	label := strings.TrimPrefix(u.Path, "/")
	if i := strings.Index(label, ":"); i >= 0 {
		k.Issuer, label = label[:i], label[i+1:]
	}
	k.Account = strings.TrimLeft(label, " ")
	if k.Account == "" {
		return Key{}, errors.New("key URI has no account name")
	}
	if q.Has("issuer") {
		k.Issuer = q.Get("issuer")
	}
	if err := checkLabel(k.Issuer, k.Account); err != nil {
		return Key{}, fmt.Errorf("key URI: %w", err)
	}

	s := strings.TrimRight(strings.ToUpper(strings.ReplaceAll(q.Get("secret"), " ", "")), "=")
	if s == "" {
		return Key{}, errors.New("key URI has no secret")
	}
	if k.Secret, err = b32URI.DecodeString(s); err != nil || len(k.Secret) == 0 {
		return Key{}, errors.New("key URI secret is not base32")
	}

	if a := q.Get("algorithm"); a != "" {
		if k.Params.Algorithm, err = ParseAlgorithm(a); err != nil {
			return Key{}, fmt.Errorf("key URI: %w", err)
		}
	}
	if d := q.Get("digits"); d != "" {
		if k.Params.Digits, err = strconv.Atoi(d); err != nil {
			return Key{}, fmt.Errorf("key URI digits %q is not a number", d)
		}
	}
	if e := q.Get("encoder"); e != "" {
		return Key{}, fmt.Errorf("key URI encoder %q: only the RFC 4226 decimal codes are supported", e)
	}
	switch k.Params.Kind {
	case TOTP:
		k.Params.Period = DefaultPeriod
		if p := q.Get("period"); p != "" {
			n, err := strconv.ParseUint(p, 10, 32)
			if err != nil || n == 0 {
				return Key{}, fmt.Errorf("key URI period %q: want a positive number of seconds", p)
			}
			k.Params.Period = time.Duration(n) * time.Second
		}
	case HOTP:
		if c := q.Get("counter"); c != "" {
			if k.Counter, err = strconv.ParseUint(c, 10, 64); err != nil {
				return Key{}, fmt.Errorf("key URI counter %q is not a number", c)
			}
		}
	}
	if err := k.Params.Validate(); err != nil {
		return Key{}, fmt.Errorf("key URI: %w", err)
	}
	return k, nil
}
