package pskc

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The XML schema of RFC 6030 section 11, as far as this package reads it.
// Elements are matched by local name, so that any prefix (or none) works
// and the ds:, xenc:, xenc11: and pkcs5: children need no namespace
// bookkeeping; the root's namespace is checked once, in check. Numbers are
// kept as strings and parsed by hand, for errors that say which element
// was wrong. Elements that may appear once but are read into slices are
// checked for duplicates: two <Secret>s in one key are an error, not a
// silent choice of the last.

// xmlKeyContainer is <KeyContainer> (KeyContainerType).
type xmlKeyContainer struct {
	XMLName       xml.Name          `xml:"KeyContainer"`
	Version       string            `xml:"Version,attr"`
	EncryptionKey *xmlEncryptionKey `xml:"EncryptionKey"`
	MACMethod     *xmlMACMethod     `xml:"MACMethod"`
	KeyPackages   []xmlKeyPackage   `xml:"KeyPackage"`
	// <Signature> is not read: see the package documentation.
}

// xmlEncryptionKey is <EncryptionKey> (ds:KeyInfoType), section 6.
type xmlEncryptionKey struct {
	KeyName    *string        `xml:"KeyName"`    // ds:KeyName: pre-shared key, 6.1
	DerivedKey *xmlDerivedKey `xml:"DerivedKey"` // xenc11:DerivedKey: PBKDF2, 6.2
	X509Data   *struct{}      `xml:"X509Data"`   // ds:X509Data: asymmetric, 6.3
}

// xmlDerivedKey is xenc11:DerivedKey.
type xmlDerivedKey struct {
	KeyDerivationMethod *struct {
		Algorithm    string           `xml:"Algorithm,attr"`
		PBKDF2Params *xmlPBKDF2Params `xml:"PBKDF2-params"`
	} `xml:"KeyDerivationMethod"`
	MasterKeyName string `xml:"MasterKeyName"`
}

// xmlPBKDF2Params is pkcs5:PBKDF2-params (PKCS #5 v2.0 XML schema).
type xmlPBKDF2Params struct {
	Salt *struct {
		Specified   *string   `xml:"Specified"`
		OtherSource *struct{} `xml:"OtherSource"`
	} `xml:"Salt"`
	IterationCount string `xml:"IterationCount"`
	KeyLength      string `xml:"KeyLength"`
	PRF            *struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"PRF"`
}

// xmlMACMethod is <MACMethod> (MACMethodType), section 6.1.1.
type xmlMACMethod struct {
	Algorithm       string            `xml:"Algorithm,attr"`
	MACKey          *xmlEncryptedData `xml:"MACKey"`
	MACKeyReference string            `xml:"MACKeyReference"`
}

// xmlEncryptedData is xenc:EncryptedDataType, as <EncryptedValue> and
// <MACKey> use it.
type xmlEncryptedData struct {
	EncryptionMethod *struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"EncryptionMethod"`
	CipherData *struct {
		CipherValue     *string   `xml:"CipherValue"`
		CipherReference *struct{} `xml:"CipherReference"`
	} `xml:"CipherData"`
}

// xmlKeyPackage is <KeyPackage> (KeyPackageType).
type xmlKeyPackage struct {
	DeviceInfo       *xmlDeviceInfo `xml:"DeviceInfo"`
	CryptoModuleInfo *struct {
		ID string `xml:"Id"`
	} `xml:"CryptoModuleInfo"`
	Keys []xmlKey `xml:"Key"` // at most one
}

// xmlDeviceInfo is <DeviceInfo> (DeviceInfoType), section 4.3.1.
type xmlDeviceInfo struct {
	Manufacturer  string `xml:"Manufacturer"`
	SerialNo      string `xml:"SerialNo"`
	Model         string `xml:"Model"`
	IssueNo       string `xml:"IssueNo"`
	DeviceBinding string `xml:"DeviceBinding"`
	StartDate     string `xml:"StartDate"`
	ExpiryDate    string `xml:"ExpiryDate"`
	UserID        string `xml:"UserId"`
}

// xmlKey is <Key> (KeyType), section 4.1.
type xmlKey struct {
	ID                  string `xml:"Id,attr"`
	Algorithm           string `xml:"Algorithm,attr"`
	Issuer              string `xml:"Issuer"`
	AlgorithmParameters *struct {
		Suite          string             `xml:"Suite"`
		ResponseFormat *xmlResponseFormat `xml:"ResponseFormat"`
	} `xml:"AlgorithmParameters"`
	KeyProfileID string     `xml:"KeyProfileId"`
	KeyReference string     `xml:"KeyReference"`
	FriendlyName string     `xml:"FriendlyName"`
	Data         *xmlData   `xml:"Data"`
	UserID       string     `xml:"UserId"`
	Policy       *xmlPolicy `xml:"Policy"`
}

// xmlResponseFormat is <ResponseFormat>, section 4.3.4. The schema calls
// the Luhn attribute CheckDigits and the prose CheckDigit; both are read.
type xmlResponseFormat struct {
	Encoding    string `xml:"Encoding,attr"`
	Length      string `xml:"Length,attr"`
	CheckDigits string `xml:"CheckDigits,attr"`
	CheckDigit  string `xml:"CheckDigit,attr"`
}

// xmlData is <Data> (KeyDataType). Each child may appear once.
type xmlData struct {
	Secret       []xmlValue `xml:"Secret"`
	Counter      []xmlValue `xml:"Counter"`
	Time         []xmlValue `xml:"Time"`
	TimeInterval []xmlValue `xml:"TimeInterval"`
	TimeDrift    []xmlValue `xml:"TimeDrift"`
}

// xmlValue is the shape every <Data> child shares (binaryDataType,
// intDataType, longDataType): a plain or an encrypted value, and a MAC.
type xmlValue struct {
	PlainValue     *string           `xml:"PlainValue"`
	EncryptedValue *xmlEncryptedData `xml:"EncryptedValue"`
	ValueMAC       *string           `xml:"ValueMAC"`
}

// xmlPolicy is <Policy> (PolicyType), section 5. Unknown collects every
// child element the other fields do not match.
type xmlPolicy struct {
	StartDate            string        `xml:"StartDate"`
	ExpiryDate           string        `xml:"ExpiryDate"`
	PINPolicy            *xmlPINPolicy `xml:"PINPolicy"`
	KeyUsage             []string      `xml:"KeyUsage"`
	NumberOfTransactions string        `xml:"NumberOfTransactions"`
	Unknown              []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// xmlPINPolicy is <PINPolicy> (PINPolicyType). Other collects every
// attribute the named fields do not match, namespace declarations
// included.
type xmlPINPolicy struct {
	PINKeyID          string     `xml:"PINKeyId,attr"`
	PINUsageMode      string     `xml:"PINUsageMode,attr"`
	MaxFailedAttempts string     `xml:"MaxFailedAttempts,attr"`
	MinLength         string     `xml:"MinLength,attr"`
	MaxLength         string     `xml:"MaxLength,attr"`
	PINEncoding       string     `xml:"PINEncoding,attr"`
	Other             []xml.Attr `xml:",any,attr"`
}

// check applies the container-level rules of RFC 6030 sections 1.2, 1.3
// and 3.
func (c *xmlKeyContainer) check() error {
	// Pre-RFC drafts used other namespaces (…:pskc:1.0) and another
	// structure; documents without a namespace are read as PSKC.
	if ns := c.XMLName.Space; ns != Namespace && ns != "" {
		return fmt.Errorf("KeyContainer is in namespace %q; want %q (RFC 6030)", clip(ns), Namespace)
	}
	if v := strings.TrimSpace(c.Version); v != "" {
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err != nil || n != 1 {
			return fmt.Errorf("PSKC version %q: only version 1.x is supported", clip(v))
		}
	}
	if len(c.KeyPackages) == 0 {
		return fmt.Errorf("no KeyPackage: a container must carry at least one (RFC 6030 section 3)")
	}
	return nil
}

// encrypted reports whether any value in the container is encrypted, and
// so whether a key is needed at all.
func (c *xmlKeyContainer) encrypted() bool {
	for i := range c.KeyPackages {
		for j := range c.KeyPackages[i].Keys {
			d := c.KeyPackages[i].Keys[j].Data
			if d == nil {
				continue
			}
			for _, vs := range [][]xmlValue{d.Secret, d.Counter, d.Time, d.TimeInterval, d.TimeDrift} {
				for _, v := range vs {
					if v.EncryptedValue != nil {
						return true
					}
				}
			}
		}
	}
	return false
}

// label is how errors name a key package: by serial number, else by key
// Id, else not at all.
func (p *xmlKeyPackage) label() string {
	if p.DeviceInfo != nil {
		if s := strings.TrimSpace(p.DeviceInfo.SerialNo); s != "" {
			return " (serial " + printable(s) + ")"
		}
	}
	if len(p.Keys) > 0 {
		if s := strings.TrimSpace(p.Keys[0].ID); s != "" {
			return " (key " + printable(s) + ")"
		}
	}
	return ""
}

// printable returns s as is when it is short and plain, and quoted and
// clipped otherwise, so that a hostile file cannot put newlines or a
// megabyte of text into an error message.
func printable(s string) string {
	if len(s) <= 64 && strings.IndexFunc(s, func(r rune) bool {
		return r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' || r == '"'
	}) < 0 {
		return s
	}
	return strconv.Quote(clip(s))
}

// clip shortens s to at most 64 bytes for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:61] + "..."
}
