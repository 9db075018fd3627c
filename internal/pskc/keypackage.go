package pskc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// keyPackage turns one <KeyPackage> into a KeyPackage, decrypting what is
// encrypted (RFC 6030 sections 4 and 5).
func (d *decrypter) keyPackage(xp *xmlKeyPackage) (KeyPackage, error) {
	var kp KeyPackage
	var devStart, devEnd time.Time
	if di := xp.DeviceInfo; di != nil {
		kp.Serial = strings.TrimSpace(di.SerialNo)
		kp.Manufacturer = strings.TrimSpace(di.Manufacturer)
		kp.Model = strings.TrimSpace(di.Model)
		kp.IssueNo = strings.TrimSpace(di.IssueNo)
		kp.DeviceBinding = strings.TrimSpace(di.DeviceBinding)
		kp.UserID = strings.TrimSpace(di.UserID)
		var err error
		if devStart, err = parseDate("DeviceInfo StartDate", di.StartDate); err != nil {
			return KeyPackage{}, err
		}
		if devEnd, err = parseDate("DeviceInfo ExpiryDate", di.ExpiryDate); err != nil {
			return KeyPackage{}, err
		}
	}
	if cm := xp.CryptoModuleInfo; cm != nil {
		kp.CryptoModuleID = strings.TrimSpace(cm.ID)
	}

	switch len(xp.Keys) {
	case 0: // a device without a key (the schema allows it)
		kp.NotBefore, kp.NotAfter = devStart, devEnd
		return kp, nil
	case 1:
	default:
		return KeyPackage{}, fmt.Errorf("%d Key elements; a KeyPackage holds at most one", len(xp.Keys))
	}
	k := &xp.Keys[0]
	kp.KeyID = strings.TrimSpace(k.ID)
	kp.Algorithm = strings.TrimSpace(k.Algorithm)
	kp.Issuer = strings.TrimSpace(k.Issuer)
	kp.FriendlyName = strings.TrimSpace(k.FriendlyName)
	kp.KeyProfileID = strings.TrimSpace(k.KeyProfileID)
	kp.KeyReference = strings.TrimSpace(k.KeyReference)
	if u := strings.TrimSpace(k.UserID); u != "" {
		kp.UserID = u
	}

	if ap := k.AlgorithmParameters; ap != nil {
		kp.Suite = strings.TrimSpace(ap.Suite)
		if rf := ap.ResponseFormat; rf != nil {
			if err := responseFormat(&kp, rf); err != nil {
				return KeyPackage{}, err
			}
		}
	}

	if k.Data != nil {
		if err := d.data(&kp, k.Data); err != nil {
			clear(kp.Secret)
			return KeyPackage{}, err
		}
	}
	if kp.Kind() == "totp" && kp.TimeInterval == 0 {
		if k.Data != nil && len(k.Data.TimeInterval) > 0 {
			clear(kp.Secret)
			return KeyPackage{}, errors.New("TimeInterval is 0; a time-based key needs a positive time step")
		}
		kp.TimeInterval = 30
	}

	var polStart, polEnd time.Time
	if p := k.Policy; p != nil {
		var err error
		if polStart, polEnd, err = policy(&kp, p); err != nil {
			clear(kp.Secret)
			return KeyPackage{}, err
		}
	}
	kp.NotBefore = later(devStart, polStart)
	kp.NotAfter = earlier(devEnd, polEnd)
	return kp, nil
}

// responseFormat reads <ResponseFormat> (section 4.3.4).
func responseFormat(kp *KeyPackage, rf *xmlResponseFormat) error {
	kp.Encoding = strings.TrimSpace(rf.Encoding)
	if s := strings.TrimSpace(rf.Length); s != "" {
		n, err := strconv.ParseUint(s, 10, 31)
		if err != nil {
			return fmt.Errorf("invalid ResponseFormat Length %q: want a non-negative integer", clip(s))
		}
		kp.Digits = int(n)
	}
	for _, attr := range []struct{ name, v string }{{"CheckDigits", rf.CheckDigits}, {"CheckDigit", rf.CheckDigit}} {
		b, err := parseBool(attr.v)
		if err != nil {
			return fmt.Errorf("ResponseFormat %s: %w", attr.name, err)
		}
		kp.CheckDigits = kp.CheckDigits || b
	}
	return nil
}

// data reads <Data> (section 4.1). Each child may be plain or encrypted.
func (d *decrypter) data(kp *KeyPackage, x *xmlData) error {
	secret, err := one("Secret", x.Secret)
	if err != nil {
		return err
	}
	if secret != nil {
		b, err := d.binary(secret)
		if err != nil {
			if secret.EncryptedValue != nil {
				return fmt.Errorf("decrypt secret: %w", err)
			}
			return fmt.Errorf("secret: %w", err)
		}
		if len(b) == 0 {
			return errors.New("secret is empty")
		}
		kp.Secret = b
	}

	if s, ok, err := d.number("Counter", x.Counter); err != nil {
		return err
	} else if ok {
		if kp.Counter, err = strconv.ParseUint(s, 10, 64); err != nil {
			return fmt.Errorf("invalid Counter %q: want a non-negative integer", clip(s))
		}
	}
	if s, ok, err := d.number("Time", x.Time); err != nil {
		return err
	} else if ok {
		if kp.Time, err = strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Errorf("invalid Time %q: want an integer", clip(s))
		}
	}
	if s, ok, err := d.number("TimeInterval", x.TimeInterval); err != nil {
		return err
	} else if ok {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid TimeInterval %q: want a non-negative number of seconds", clip(s))
		}
		kp.TimeInterval = int(n)
	}
	if s, ok, err := d.number("TimeDrift", x.TimeDrift); err != nil {
		return err
	} else if ok {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return fmt.Errorf("invalid TimeDrift %q: want an integer", clip(s))
		}
		kp.TimeDrift = int(n)
	}
	return nil
}

// one returns the only element of vs, or nil, or an error when the
// element is repeated.
func one(name string, vs []xmlValue) (*xmlValue, error) {
	switch len(vs) {
	case 0:
		return nil, nil
	case 1:
		return &vs[0], nil
	}
	return nil, fmt.Errorf("%d %s elements; want at most one", len(vs), name)
}

// binary returns the octets of a binaryDataType value.
func (d *decrypter) binary(v *xmlValue) ([]byte, error) {
	switch {
	case v.PlainValue != nil && v.EncryptedValue != nil:
		return nil, errors.New("both PlainValue and EncryptedValue")
	case v.PlainValue != nil:
		// A ValueMAC next to a PlainValue has nothing defined to cover
		// (section 4.1 computes it "from the encrypted value"); it is
		// ignored.
		b, err := decodeBase64(*v.PlainValue)
		if err != nil {
			return nil, fmt.Errorf("PlainValue: %w", err)
		}
		return b, nil
	case v.EncryptedValue != nil:
		return d.decryptValue(v)
	}
	return nil, errors.New("neither PlainValue nor EncryptedValue")
}

// number returns an intDataType or longDataType value as decimal text: a
// PlainValue as written, an encrypted value decrypted. RFC 6030 does not
// say how an encrypted integer is encoded; decimal text and a big-endian
// binary integer of up to 8 octets are both read.
func (d *decrypter) number(name string, vs []xmlValue) (string, bool, error) {
	v, err := one(name, vs)
	if err != nil || v == nil {
		return "", false, err
	}
	switch {
	case v.PlainValue != nil && v.EncryptedValue != nil:
		return "", false, fmt.Errorf("%s: both PlainValue and EncryptedValue", name)
	case v.PlainValue != nil:
		return strings.TrimSpace(*v.PlainValue), true, nil
	case v.EncryptedValue == nil:
		return "", false, fmt.Errorf("%s: neither PlainValue nor EncryptedValue", name)
	}
	b, err := d.decryptValue(v)
	if err != nil {
		return "", false, fmt.Errorf("decrypt %s: %w", name, err)
	}
	if isDecimal(b) {
		return string(b), true, nil
	}
	if len(b) == 0 || len(b) > 8 {
		return "", false, fmt.Errorf("decrypted %s is %d octets: neither decimal text nor a binary integer of at most 8 octets", name, len(b))
	}
	var be [8]byte
	copy(be[8-len(b):], b)
	return strconv.FormatUint(binary.BigEndian.Uint64(be[:]), 10), true, nil
}

// isDecimal reports whether b is ASCII decimal text, optionally signed.
func isDecimal(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// knownUsages is the Key Usage registry of RFC 6030 section 12.6.
var knownUsages = map[string]bool{
	"OTP": true, "CR": true, "Encrypt": true, "Integrity": true, "Verify": true, "Unlock": true,
	"Decrypt": true, "KeyWrap": true, "Unwrap": true, "Derive": true, "Generate": true,
}

// pinUsageModes are the PINUsageMode values of RFC 6030 section 5.
var pinUsageModes = map[string]bool{"Local": true, "Prepend": true, "Append": true, "Algorithmic": true}

// policy reads <Policy> (section 5) into kp and returns its dates.
// Anything not understood sets kp.UnknownPolicy rather than failing: the
// key is still imported, and PermitsOTP refuses it.
func policy(kp *KeyPackage, p *xmlPolicy) (start, end time.Time, err error) {
	if start, err = parseDate("Policy StartDate", p.StartDate); err != nil {
		return
	}
	if end, err = parseDate("Policy ExpiryDate", p.ExpiryDate); err != nil {
		return
	}
	if len(p.Unknown) > 0 {
		kp.UnknownPolicy = true
	}
	for _, u := range p.KeyUsage {
		u = strings.TrimSpace(u)
		kp.KeyUsage = append(kp.KeyUsage, u)
		if !knownUsages[u] {
			kp.UnknownPolicy = true
		}
	}
	if s := strings.TrimSpace(p.NumberOfTransactions); s != "" {
		if kp.NumberOfTransactions, err = strconv.ParseUint(s, 10, 64); err != nil {
			err = fmt.Errorf("invalid Policy NumberOfTransactions %q: want a non-negative integer", clip(s))
			return
		}
	}
	if pp := p.PINPolicy; pp != nil {
		pin := &PINPolicy{
			PINKeyID:     strings.TrimSpace(pp.PINKeyID),
			PINUsageMode: strings.TrimSpace(pp.PINUsageMode),
			PINEncoding:  strings.TrimSpace(pp.PINEncoding),
		}
		if pin.PINUsageMode != "" && !pinUsageModes[pin.PINUsageMode] {
			kp.UnknownPolicy = true
		}
		for _, f := range []struct {
			name string
			v    string
			dst  *int
		}{
			{"MaxFailedAttempts", pp.MaxFailedAttempts, &pin.MaxFailedAttempts},
			{"MinLength", pp.MinLength, &pin.MinLength},
			{"MaxLength", pp.MaxLength, &pin.MaxLength},
		} {
			if s := strings.TrimSpace(f.v); s != "" {
				n, perr := strconv.ParseUint(s, 10, 31)
				if perr != nil {
					err = fmt.Errorf("invalid PINPolicy %s %q: want a non-negative integer", f.name, clip(s))
					return
				}
				*f.dst = int(n)
			}
		}
		for _, a := range pp.Other {
			if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
				continue
			}
			kp.UnknownPolicy = true
		}
		kp.PINPolicy = pin
	}
	return
}

// parseDate reads an xs:dateTime. Without a time zone it is taken as UTC.
func parseDate(name, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s %q: want an xs:dateTime such as 2006-05-01T00:00:00Z", name, clip(s))
	}
	return t.UTC(), nil
}

// parseBool reads an xs:boolean; empty is false.
func parseBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("invalid value %q: want true or false", clip(s))
}

// later returns the later of two times, treating zero as unbounded.
func later(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.After(a)) {
		return b
	}
	return a
}

// earlier returns the earlier of two times, treating zero as unbounded.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
