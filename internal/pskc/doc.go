// Package pskc reads PSKC files, the Portable Symmetric Key Container of
// RFC 6030: the XML documents in which hardware-token vendors deliver the
// secrets of the tokens they ship. "gatehouse token import --pskc FILE"
// reads token seeds with it.
//
// # What a PSKC file holds
//
// A <KeyContainer> carries one <KeyPackage> per key (section 3). A key
// package names the device (<DeviceInfo>: manufacturer, serial number,
// model), the key (<Key>: its Id and an algorithm profile URI such as
// urn:ietf:params:xml:ns:keyprov:pskc:hotp), how responses look
// (<ResponseFormat Length="6" Encoding="DECIMAL"/>), the key's data
// (<Secret>, <Counter>, <Time>, <TimeInterval>, <TimeDrift>) and a
// <Policy> with validity dates and permitted uses (section 5):
//
//	pkgs, err := pskc.Parse(data, pskc.Options{PreSharedKey: transportKey})
//	if err != nil {
//		return err // names the key package and its serial; never a secret
//	}
//	for _, kp := range pkgs {
//		if kp.Kind() == "" || !kp.PermitsOTP() || kp.Secret == nil {
//			continue // not an OATH key this server can check
//		}
//		store(kp.Serial, kp.Kind(), kp.Secret, kp.Digits, kp.Counter, kp.TimeInterval)
//	}
//
// Parse is pure: it reads bytes, does no I/O and logs nothing. The
// secrets it returns are of type [Secret], a []byte that prints and logs
// as REDACTED; [KeyPackage.LogValue] gives the metadata for logs.
//
// # Encrypted files
//
// Vendors rarely ship plaintext seeds. Values are encrypted one by one
// with the container's key, which is either a pre-shared transport key
// agreed with the vendor (section 6.1, [Options].PreSharedKey) or derived
// from a password with PBKDF2 (section 6.2, [Options].Password). A file
// that needs a key Options lacks fails with a [*KeyRequiredError] that
// says which option to supply, and the name the vendor gave the key.
//
// AES-CBC does not detect a wrong key, so RFC 6030 adds a MAC: the
// container's <MACMethod> carries a MAC key, encrypted under the same key,
// and each encrypted value carries a <ValueMAC>, an HMAC over its
// CipherValue (IV included). Parse checks the MAC before it decrypts, and
// a mismatch fails the whole file with an error that names the key
// package and matches [ErrIntegrity]: either the file was altered or the
// key is wrong. A CBC value without a ValueMAC is refused unless
// [Options].AllowUnauthenticated is set; the padding check is then all
// that stands between a wrong key and a garbage secret, and it is made
// strict (PKCS #7).
//
// Parse refuses files larger than [MaxFileSize] and PBKDF2 iteration
// counts above [Options].MaxIterations ([DefaultMaxIterations] when zero),
// so a hostile file cannot make an import run for minutes.
//
// # What is supported
//
//   - Plaintext values (<PlainValue>), sections 4 and 4.2.
//   - Pre-shared keys (section 6.1): aes128-cbc, aes192-cbc and aes256-cbc
//     with the IV prepended to the CipherValue, and AES key wrap
//     (kw-aes128, kw-aes192, kw-aes256; RFC 3394).
//   - Password-based keys (section 6.2): PBKDF2 from PKCS #5 v2.0, with a
//     specified salt, any HMAC-SHA-1/-224/-256/-384/-512 PRF (HMAC-SHA-1
//     when <PRF> is empty) and an optional KeyLength.
//   - MACs (section 6.1.1): hmac-sha1 (the RFC's recommendation) and
//     hmac-sha224/256/384/512, with the MAC key carried in <MACKey>.
//   - Encrypted <Counter>, <Time>, <TimeInterval> and <TimeDrift>, read as
//     decimal text or as a big-endian integer, since RFC 6030 leaves the
//     encoding open.
//   - <DeviceInfo>, <CryptoModuleInfo>, <AlgorithmParameters>, <UserId>,
//     <KeyProfileId>, <KeyReference> and <Policy> (dates, <KeyUsage>,
//     <PINPolicy>, <NumberOfTransactions>). A policy element or value this
//     package does not know sets [KeyPackage].UnknownPolicy, and
//     [KeyPackage.PermitsOTP] then says no, as section 5 demands.
//
// # What is not
//
//   - Asymmetric key transport (section 6.3, <ds:X509Data> with rsa-1_5 or
//     RSA-OAEP) is not implemented: such files fail with [ErrUnsupported].
//   - Digital signatures (section 7) are not verified. A <Signature>
//     element is ignored, and a signed file is read exactly like an
//     unsigned one: its authenticity rests on how it was delivered.
//     The ValueMACs do not replace a signature. Each covers one value
//     alone, not the key package it sits in, so whoever can edit the file
//     can swap two tokens' encrypted secrets (or drop key packages)
//     without breaking a MAC; they cannot forge a secret without the key.
//   - TripleDES, Camellia, AES key wrap with padding (RFC 5649), MAC keys
//     given by <MACKeyReference>, salts from <OtherSource> and
//     <CipherReference> fail with [ErrUnsupported].
//   - Keys derived from a master key (section 4.4, <KeyReference>) are
//     returned without a Secret; deriving them is the vendor's business.
//   - The pre-RFC drafts of PSKC (namespace …:pskc:1.0, <Device> elements)
//     are not read. The "#hotp" and "#totp" algorithm URIs they used are.
//
// # Token vendors
//
// Any PSKC file of OATH keys (HOTP, RFC 4226; TOTP, RFC 6238) is read the
// same way. OneSpan (VASCO) DIGIPASS tokens are supported only in OATH
// mode, when the vendor delivers them as HOTP or TOTP keys in PSKC; the
// vendor's proprietary DIGIPASS algorithms and its own file formats are
// not implemented, and key packages with any other algorithm profile come
// back with [KeyPackage.Kind] "" for the importer to skip.
package pskc
