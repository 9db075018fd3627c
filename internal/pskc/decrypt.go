package pskc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Key protection, RFC 6030 section 6. A container has one <EncryptionKey>
// and (optionally) one <MACMethod>; both apply to every encrypted value in
// it. A value is checked and decrypted in this order:
//
//  1. The container's key: the pre-shared key as given (6.1), or PBKDF2
//     of the password (6.2), derived once per key length.
//  2. The MAC key: <MACMethod><MACKey>, decrypted with that key when the
//     container is opened (6.1.1).
//  3. <ValueMAC>: HMAC over the whole CipherValue, IV included, compared
//     in constant time before anything is decrypted.
//  4. The value: AES-CBC with the IV prepended (6.1, XML Encryption 5.2),
//     or AES key wrap (RFC 3394), which checks itself.

// Algorithm URIs of XML Encryption (RFC 6030 section 6.1) and PKCS #5.
const (
	xmlenc = "http://www.w3.org/2001/04/xmlenc#"
	dsig   = "http://www.w3.org/2000/09/xmldsig#"
	dsigMo = "http://www.w3.org/2001/04/xmldsig-more#"
	// RFC 6030 section 6.2 names the PBKDF2 method with the first URI;
	// its Figure 7 uses the second.
	pbkdf2URI     = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5#pbkdf2"
	pbkdf2v20URI  = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
	maxKDFKeySize = 32
)

// cipherSpec is an encryption algorithm this package implements.
type cipherSpec struct {
	name    string // for messages
	keySize int    // octets
	wrap    bool   // RFC 3394 key wrap; otherwise CBC with the IV prepended
}

var ciphers = map[string]cipherSpec{
	xmlenc + "aes128-cbc": {"aes128-cbc", 16, false},
	xmlenc + "aes192-cbc": {"aes192-cbc", 24, false},
	xmlenc + "aes256-cbc": {"aes256-cbc", 32, false},
	xmlenc + "kw-aes128":  {"kw-aes128", 16, true},
	xmlenc + "kw-aes192":  {"kw-aes192", 24, true},
	xmlenc + "kw-aes256":  {"kw-aes256", 32, true},
}

// macAlgorithms are the <MACMethod> algorithms of RFC 6030 section 6.1.1.
var macAlgorithms = map[string]func() hash.Hash{
	dsig + "hmac-sha1":     sha1.New,
	dsigMo + "hmac-sha224": sha256.New224,
	dsigMo + "hmac-sha256": sha256.New,
	dsigMo + "hmac-sha384": sha512.New384,
	dsigMo + "hmac-sha512": sha512.New,
}

// prfs are the PBKDF2 pseudo-random functions, by URI fragment: PKCS #5
// has its own URIs for them and files use the XML Signature ones as well.
var prfs = map[string]func() hash.Hash{
	"hmac-sha1":   sha1.New,
	"hmac-sha224": sha256.New224,
	"hmac-sha256": sha256.New,
	"hmac-sha384": sha512.New384,
	"hmac-sha512": sha512.New,
}

// decrypter holds a container's keys while Parse runs.
type decrypter struct {
	prot     Protection
	psk      []byte         // ProtectionPreSharedKey; a copy of Options.PreSharedKey
	password []byte         // ProtectionPassword; a copy of Options.Password
	kdf      pbkdf2Params   // ProtectionPassword
	derived  map[int][]byte // PBKDF2 output by key length
	mac      *macMethod     // nil when the container has no MACMethod

	allowUnauthenticated bool
}

type pbkdf2Params struct {
	salt   []byte
	iter   int
	keyLen int // 0: whatever the cipher needs
	prf    func() hash.Hash
}

type macMethod struct {
	hash func() hash.Hash
	key  []byte // nil when only a reference is given
	ref  string // <MACKeyReference>
}

// newDecrypter works out what protects the container and unlocks it with
// opts. A container without encrypted values needs no key, and its
// <EncryptionKey> and <MACMethod> are not looked at.
func newDecrypter(c *xmlKeyContainer, opts Options) (*decrypter, error) {
	d := &decrypter{allowUnauthenticated: opts.AllowUnauthenticated}
	if !c.encrypted() {
		return d, nil
	}
	d.prot = ProtectionPreSharedKey
	var name string
	if ek := c.EncryptionKey; ek != nil {
		switch {
		case ek.DerivedKey != nil:
			d.prot = ProtectionPassword
			name = strings.TrimSpace(ek.DerivedKey.MasterKeyName)
		case ek.X509Data != nil:
			return nil, unsupported("asymmetric key transport (<ds:X509Data>, RFC 6030 section 6.3)")
		case ek.KeyName != nil:
			name = strings.TrimSpace(*ek.KeyName)
		default:
			return nil, unsupported("EncryptionKey holds none of ds:KeyName, xenc11:DerivedKey, ds:X509Data")
		}
	}
	// Without any <EncryptionKey> the file breaks section 6.1's "MUST
	// set the name", but a pre-shared key still opens it.

	switch d.prot {
	case ProtectionPreSharedKey:
		if len(opts.PreSharedKey) == 0 {
			return nil, &KeyRequiredError{Protection: ProtectionPreSharedKey, KeyName: name}
		}
		d.psk = bytes.Clone(opts.PreSharedKey)
	case ProtectionPassword:
		if len(opts.Password) == 0 {
			return nil, &KeyRequiredError{Protection: ProtectionPassword, KeyName: name}
		}
		maxIter := opts.MaxIterations
		if maxIter <= 0 {
			maxIter = DefaultMaxIterations
		}
		kdf, err := parsePBKDF2(c.EncryptionKey.DerivedKey, maxIter)
		if err != nil {
			return nil, fmt.Errorf("EncryptionKey: %w", err)
		}
		d.kdf = kdf
		d.password = bytes.Clone(opts.Password)
	}

	if c.MACMethod != nil {
		m, err := d.macMethod(c.MACMethod)
		if err != nil {
			d.wipe()
			return nil, fmt.Errorf("MACMethod: %w", err)
		}
		d.mac = m
	}
	return d, nil
}

// parsePBKDF2 reads <xenc11:DerivedKey> (RFC 6030 section 6.2).
func parsePBKDF2(dk *xmlDerivedKey, maxIter int) (pbkdf2Params, error) {
	var p pbkdf2Params
	m := dk.KeyDerivationMethod
	if m == nil {
		return p, errors.New("DerivedKey has no KeyDerivationMethod")
	}
	if alg := strings.TrimSpace(m.Algorithm); alg != pbkdf2URI && alg != pbkdf2v20URI {
		return p, unsupported("key derivation method %q", clip(alg))
	}
	pp := m.PBKDF2Params
	if pp == nil {
		return p, errors.New("KeyDerivationMethod has no PBKDF2-params")
	}

	switch {
	case pp.Salt == nil:
		return p, errors.New("PBKDF2-params has no Salt")
	case pp.Salt.Specified != nil:
		salt, err := decodeBase64(*pp.Salt.Specified)
		if err != nil {
			return p, fmt.Errorf("PBKDF2 Salt: %w", err)
		}
		p.salt = salt
	case pp.Salt.OtherSource != nil:
		return p, unsupported("PBKDF2 salt from OtherSource")
	default:
		return p, errors.New("PBKDF2 Salt has no Specified value")
	}

	s := strings.TrimSpace(pp.IterationCount)
	iter, err := strconv.ParseInt(s, 10, 64)
	if err != nil || iter < 1 {
		return p, fmt.Errorf("invalid PBKDF2 IterationCount %q: want a positive integer", clip(s))
	}
	if iter > int64(maxIter) {
		return p, fmt.Errorf("PBKDF2 IterationCount %d exceeds the limit of %d (Options.MaxIterations)", iter, maxIter)
	}
	p.iter = int(iter)

	if s := strings.TrimSpace(pp.KeyLength); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxKDFKeySize {
			return p, fmt.Errorf("invalid PBKDF2 KeyLength %q: want 16, 24 or 32", clip(s))
		}
		p.keyLen = n
	}

	p.prf = sha1.New // PKCS #5 v2.0 default
	if pp.PRF != nil {
		if alg := strings.TrimSpace(pp.PRF.Algorithm); alg != "" {
			_, frag, _ := strings.Cut(alg, "#")
			h, ok := prfs[strings.ToLower(frag)]
			if !ok {
				return p, unsupported("PBKDF2 PRF %q", clip(alg))
			}
			p.prf = h
		}
	}
	return p, nil
}

// macMethod reads <MACMethod> and decrypts its MAC key.
func (d *decrypter) macMethod(m *xmlMACMethod) (*macMethod, error) {
	alg := strings.TrimSpace(m.Algorithm)
	h, ok := macAlgorithms[alg]
	if !ok {
		return nil, unsupported("MAC algorithm %q", clip(alg))
	}
	mm := &macMethod{hash: h}
	switch {
	case m.MACKey != nil:
		// The MAC key has no MAC of its own; with a wrong key it decrypts
		// to garbage at worst, and every ValueMAC check then fails.
		key, err := d.decrypt(m.MACKey, false)
		if err != nil {
			return nil, fmt.Errorf("MAC key: %w", err)
		}
		if len(key) == 0 {
			return nil, errors.New("MAC key is empty")
		}
		mm.key = key
	case strings.TrimSpace(m.MACKeyReference) != "":
		mm.ref = strings.TrimSpace(m.MACKeyReference)
	default:
		return nil, errors.New("neither MACKey nor MACKeyReference")
	}
	return mm, nil
}

// decryptValue checks and decrypts the <EncryptedValue> of v.
func (d *decrypter) decryptValue(v *xmlValue) ([]byte, error) {
	spec, ct, err := encryptedData(v.EncryptedValue)
	if err != nil {
		return nil, err
	}
	authenticated := false
	switch {
	case v.ValueMAC != nil:
		if err := d.verifyMAC(ct, *v.ValueMAC); err != nil {
			return nil, err
		}
		authenticated = true
	case !spec.wrap && !d.allowUnauthenticated:
		return nil, errors.New("no ValueMAC, so neither the key nor the value can be checked " +
			"(RFC 6030 section 6.1.1 requires one with " + spec.name + "); " +
			"set Options.AllowUnauthenticated to accept such files")
	}
	key, err := d.key(spec)
	if err != nil {
		return nil, err
	}
	return spec.decrypt(key, ct, !authenticated, d.prot)
}

// decrypt decrypts ed without a MAC check (for the MAC key).
func (d *decrypter) decrypt(ed *xmlEncryptedData, strict bool) ([]byte, error) {
	spec, ct, err := encryptedData(ed)
	if err != nil {
		return nil, err
	}
	key, err := d.key(spec)
	if err != nil {
		return nil, err
	}
	return spec.decrypt(key, ct, strict, d.prot)
}

// encryptedData returns the algorithm and the ciphertext of ed.
func encryptedData(ed *xmlEncryptedData) (cipherSpec, []byte, error) {
	if ed.EncryptionMethod == nil {
		return cipherSpec{}, nil, errors.New("no EncryptionMethod")
	}
	alg := strings.TrimSpace(ed.EncryptionMethod.Algorithm)
	spec, ok := ciphers[alg]
	if !ok {
		return cipherSpec{}, nil, unsupported("encryption algorithm %q", clip(alg))
	}
	switch {
	case ed.CipherData == nil:
		return spec, nil, errors.New("no CipherData")
	case ed.CipherData.CipherValue != nil:
		ct, err := decodeBase64(*ed.CipherData.CipherValue)
		if err != nil {
			return spec, nil, fmt.Errorf("CipherValue: %w", err)
		}
		return spec, ct, nil
	case ed.CipherData.CipherReference != nil:
		return spec, nil, unsupported("CipherReference")
	}
	return spec, nil, errors.New("CipherData has no CipherValue")
}

// verifyMAC checks a <ValueMAC> against the ciphertext it covers: the
// CipherValue as transmitted, IV included.
func (d *decrypter) verifyMAC(ct []byte, valueMAC string) error {
	switch {
	case d.mac == nil:
		return errors.New("ValueMAC present, but the container has no MACMethod")
	case d.mac.key == nil:
		return unsupported("MAC key given by reference (MACKeyReference %q)", clip(d.mac.ref))
	}
	want, err := decodeBase64(valueMAC)
	if err != nil {
		return fmt.Errorf("ValueMAC: %w", err)
	}
	h := hmac.New(d.mac.hash, d.mac.key)
	h.Write(ct)
	if !hmac.Equal(h.Sum(nil), want) {
		return &integrityError{check: "ValueMAC does not match", key: d.prot}
	}
	return nil
}

// key returns the container's key for spec.
func (d *decrypter) key(spec cipherSpec) ([]byte, error) {
	if d.prot == ProtectionPreSharedKey {
		if len(d.psk) != spec.keySize {
			return nil, fmt.Errorf("the pre-shared key is %d bytes; %s needs %d", len(d.psk), spec.name, spec.keySize)
		}
		return d.psk, nil
	}
	if k, ok := d.derived[spec.keySize]; ok {
		return k, nil
	}
	if d.kdf.keyLen != 0 && d.kdf.keyLen != spec.keySize {
		return nil, fmt.Errorf("PBKDF2 KeyLength is %d, but %s needs a %d-byte key", d.kdf.keyLen, spec.name, spec.keySize)
	}
	k, err := pbkdf2.Key(d.kdf.prf, string(d.password), d.kdf.salt, d.kdf.iter, spec.keySize)
	if err != nil {
		return nil, fmt.Errorf("PBKDF2: %w", err)
	}
	if d.derived == nil {
		d.derived = make(map[int][]byte, 1)
	}
	d.derived[spec.keySize] = k
	return k, nil
}

// decrypt decrypts ct under key. strict asks for full PKCS #7 padding
// (RFC 6030 section 6.4), the check that stands in for a MAC; a
// MAC-checked value needs only the XML Encryption rule, where the last
// octet alone gives the padding length.
func (spec cipherSpec) decrypt(key, ct []byte, strict bool, prot Protection) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if spec.wrap {
		pt, err := unwrap(block, ct)
		if errors.Is(err, errUnwrapCheck) {
			return nil, &integrityError{check: spec.name + " integrity check failed", key: prot}
		}
		return pt, err
	}
	bs := block.BlockSize()
	if len(ct) < 2*bs || len(ct)%bs != 0 {
		return nil, fmt.Errorf("CipherValue is %d bytes; %s needs a %d-byte IV and whole %d-byte blocks", len(ct), spec.name, bs, bs)
	}
	pt := make([]byte, len(ct)-bs)
	cipher.NewCBCDecrypter(block, ct[:bs]).CryptBlocks(pt, ct[bs:])
	n, ok := unpad(pt, bs, strict)
	if !ok {
		clear(pt)
		return nil, &integrityError{check: "bad padding", key: prot}
	}
	clear(pt[n:])
	return pt[:n:n], nil
}

// unpad returns the length of the padded block-cipher plaintext p without
// its padding.
func unpad(p []byte, blockSize int, strict bool) (int, bool) {
	if len(p) == 0 {
		return 0, false
	}
	n := int(p[len(p)-1])
	if n == 0 || n > blockSize || n > len(p) {
		return 0, false
	}
	if strict {
		for _, b := range p[len(p)-n:] {
			if int(b) != n {
				return 0, false
			}
		}
	}
	return len(p) - n, true
}

// decodeBase64 decodes xs:base64Binary, which may be broken over lines.
// Unpadded input is tolerated.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil && len(s)%4 != 0 {
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
	}
	return b, err
}

// wipe clears the keys the decrypter holds. The secrets handed to the
// caller are the caller's.
func (d *decrypter) wipe() {
	clear(d.psk)
	clear(d.password)
	for _, k := range d.derived {
		clear(k)
	}
	if d.mac != nil {
		clear(d.mac.key)
	}
}
