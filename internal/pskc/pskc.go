package pskc

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Namespace is the XML namespace of PSKC version 1.0 (RFC 6030 section 1.3.1).
const Namespace = "urn:ietf:params:xml:ns:keyprov:pskc"

// Algorithm profile URIs. RFC 6030 registers HOTP (section 10.1) and PIN
// (10.2). TOTP has no registered profile: the expired
// draft-hoyer-keyprov-pskc-algorithm-profiles describes it, and files
// write it ":totp" or, like the pre-RFC drafts, "#totp" (and "#hotp").
// [KeyPackage.Kind] accepts both forms.
const (
	AlgorithmHOTP = Namespace + ":hotp"
	AlgorithmTOTP = Namespace + ":totp"
	AlgorithmPIN  = Namespace + ":pin"
)

// Bounds on what Parse accepts.
const (
	// MaxFileSize is the largest document Parse reads: about 3,000
	// encrypted key packages laid out as in RFC 6030's examples. A hostile
	// file of this size costs encoding/xml a few seconds at most.
	MaxFileSize = 4 << 20

	// DefaultMaxIterations caps the PBKDF2 iteration count when
	// Options.MaxIterations is zero. Ten million HMAC-SHA-1 rounds take
	// seconds; a file asking for more is more likely an attempt to stall
	// the importer than a key vendor's choice.
	DefaultMaxIterations = 10_000_000
)

// Options are the keys that unlock an encrypted PSKC file, and the limits
// Parse applies. The zero value reads plaintext files only.
type Options struct {
	// PreSharedKey is the transport key of RFC 6030 section 6.1, agreed
	// with the vendor out of band: 16, 24 or 32 octets for AES-128, -192
	// or -256. The file names it in <EncryptionKey><ds:KeyName>; the
	// name is informational, and one key unlocks the whole container.
	PreSharedKey Secret

	// Password derives the key with PBKDF2 (RFC 6030 section 6.2). The
	// octets are used as given; pass the UTF-8 the vendor specified.
	Password Secret

	// MaxIterations caps the PBKDF2 iteration count a file may ask for.
	// Zero or less means DefaultMaxIterations.
	MaxIterations int

	// AllowUnauthenticated accepts CBC-encrypted values that carry no
	// <ValueMAC>. RFC 6030 section 6.1.1 requires the MAC, and without
	// it the only check on a wrong key is the padding, which a wrong key
	// passes about once in 256 tries. Leave it false unless a vendor's
	// files are known to lack MACs.
	AllowUnauthenticated bool
}

// KeyPackage is one <KeyPackage> of a container: the device, the key and
// its policy (RFC 6030 sections 4 and 5), with every value decrypted.
//
// Secret redacts itself when printed or logged; everything else is
// metadata and prints as is.
type KeyPackage struct {
	// <DeviceInfo> (section 4.3.1).
	Serial        string // <SerialNo>
	Manufacturer  string // "oath.<prefix>" or "iana.<organization>" by the RFC; free text in practice
	Model         string
	IssueNo       string
	DeviceBinding string

	// CryptoModuleID is <CryptoModuleInfo><Id> (section 4.3.2).
	CryptoModuleID string

	// <Key> (section 4.1).
	KeyID        string // the Id attribute
	Algorithm    string // the algorithm profile URI; see Kind
	Issuer       string
	FriendlyName string

	// UserID is <Key><UserId>, or <DeviceInfo><UserId> when the key has
	// none (section 4.3.3). RFC 6030 calls it informational only.
	UserID string

	// KeyProfileID and KeyReference name key material the file does not
	// carry (section 4.4); when KeyReference is set, Secret is usually nil
	// and the key has to be derived by a party that holds the master key.
	KeyProfileID string
	KeyReference string

	// <AlgorithmParameters> (section 4.3.4).
	Suite       string // algorithm-specific, e.g. "HMAC-SHA256"; empty means the profile's default
	Digits      int    // <ResponseFormat Length>; 0 when the file does not say
	Encoding    string // <ResponseFormat Encoding>: DECIMAL, HEXADECIMAL, ALPHANUMERIC, BASE64 or BINARY
	CheckDigits bool   // a Luhn check digit is appended to each response

	// Secret is the key itself, decrypted. It is nil when the file carries
	// no <Secret> (see KeyReference).
	Secret Secret

	// <Data> elements (section 4.1).
	Counter uint64 // <Counter>, the HOTP moving factor; 0 when absent

	// Time is the <Time> element: "the time for time-based OTP
	// algorithms", or the number of time intervals passed since an
	// algorithm-dependent start. TOTP files normally carry 0 here, which
	// reads as T0 = the Unix epoch (RFC 6238 section 4).
	Time int64

	// TimeInterval is the time step in seconds. When the file does not
	// give one, it is 30 for TOTP keys (RFC 6238 section 4's default)
	// and 0 for everything else.
	TimeInterval int

	// TimeDrift is the device's clock drift in time intervals, as the
	// sender's validation server last measured it.
	TimeDrift int

	// NotBefore and NotAfter bound the use of the key: the later of
	// <Policy><StartDate> and <DeviceInfo><StartDate>, and the earlier of
	// the two expiry dates. Both ends are inclusive (section 5). Zero
	// means unbounded. Dates without a time zone are read as UTC.
	NotBefore, NotAfter time.Time

	// <Policy> (section 5).
	KeyUsage             []string   // empty means no usage constraint
	PINPolicy            *PINPolicy // nil when the key has none
	NumberOfTransactions uint64     // 0 means no limit

	// UnknownPolicy reports a <Policy> with elements, attributes or
	// values this package does not understand. Section 5: the recipient
	// "MUST assume that key usage is not permitted".
	UnknownPolicy bool
}

// PINPolicy is <Policy><PINPolicy> (RFC 6030 section 5).
type PINPolicy struct {
	PINKeyID          string // Id of the key package that holds the PIN
	PINUsageMode      string // Local, Prepend, Append or Algorithmic
	MaxFailedAttempts int
	MinLength         int
	MaxLength         int
	PINEncoding       string
}

// Kind names the one-time-password algorithm of the key: "hotp", "totp",
// or "" for any other profile (PIN, OCRA, a vendor's own algorithm).
func (k KeyPackage) Kind() string {
	switch strings.ToLower(k.Algorithm) {
	case AlgorithmHOTP, Namespace + "#hotp":
		return "hotp"
	case AlgorithmTOTP, Namespace + "#totp":
		return "totp"
	}
	return ""
}

// PermitsOTP reports whether the key's policy allows one-time-password
// use: no usage constraint, or "OTP" among the listed usages, and nothing
// in the policy this package does not understand (RFC 6030 section 5).
// It does not look at the dates or at NumberOfTransactions.
func (k KeyPackage) PermitsOTP() bool {
	if k.UnknownPolicy {
		return false
	}
	if len(k.KeyUsage) == 0 {
		return true
	}
	for _, u := range k.KeyUsage {
		if u == "OTP" {
			return true
		}
	}
	return false
}

// LogValue implements slog.LogValuer: the identifying metadata, never the
// secret.
func (k KeyPackage) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("serial", k.Serial),
		slog.String("manufacturer", k.Manufacturer),
		slog.String("key_id", k.KeyID),
		slog.String("algorithm", k.Algorithm),
		slog.Int("digits", k.Digits),
		slog.Any("secret", k.Secret),
	)
}

// decode unmarshals the document and makes sure nothing follows the
// container: a second <KeyContainer> appended to a file would otherwise
// be dropped without a word.
func decode(data []byte) (*xmlKeyContainer, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var c xmlKeyContainer
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return &c, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return nil, fmt.Errorf("element <%s> after </KeyContainer>", clip(t.Name.Local))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text after </KeyContainer>")
			}
		}
	}
}

// Parse reads a PSKC document and returns its key packages in document
// order, with every encrypted value checked and decrypted.
//
// It fails as a whole: a single key package that cannot be decrypted, or
// whose MAC does not match, fails the file, and no keys are returned.
// Errors begin "pskc: " and name the key package (by its position and
// serial number), never any secret material. errors.As finds a
// [*KeyRequiredError] when the file needs a key or password that opts
// lacks; errors.Is finds [ErrIntegrity] when a key is wrong or the file
// was altered, and [ErrUnsupported] for features this package does not
// implement.
func Parse(data []byte, opts Options) ([]KeyPackage, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("pskc: file is %d bytes; the limit is %d", len(data), MaxFileSize)
	}
	c, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("pskc: not a PSKC document: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("pskc: %w", err)
	}
	d, err := newDecrypter(c, opts)
	if err != nil {
		var kr *KeyRequiredError
		if errors.As(err, &kr) {
			return nil, err // already says "pskc: "
		}
		return nil, fmt.Errorf("pskc: %w", err)
	}
	defer d.wipe()

	pkgs := make([]KeyPackage, 0, len(c.KeyPackages))
	for i := range c.KeyPackages {
		xp := &c.KeyPackages[i]
		kp, err := d.keyPackage(xp)
		if err != nil {
			for _, p := range pkgs {
				clear(p.Secret)
			}
			return nil, fmt.Errorf("pskc: key package %d%s: %w", i+1, xp.label(), err)
		}
		pkgs = append(pkgs, kp)
	}
	return pkgs, nil
}
