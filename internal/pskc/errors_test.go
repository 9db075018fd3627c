package pskc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// edit returns the testdata file with old replaced by new, once.
func edit(t *testing.T, file, old, new string) []byte {
	t.Helper()
	s := string(readTestdata(t, file))
	if strings.Count(s, old) != 1 {
		t.Fatalf("%s: %q occurs %d times, want once", file, old, strings.Count(s, old))
	}
	return []byte(strings.Replace(s, old, new, 1))
}

// TestErrors checks what an operator sees when an import fails. Every
// message is given in full: they are the user interface of
// "gatehouse token import".
func TestErrors(t *testing.T) {
	const (
		fig6 = "rfc6030-figure6.pskcxml"
		fig7 = "rfc6030-figure7.pskcxml"
		// The CipherValue of Figure 6's secret, and the same with its
		// first ciphertext block (after the IV) altered by one bit.
		fig6Cipher   = "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv"
		fig6Tampered = "AAECAwQFBgcICQoLDA0OD+cJHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv"
	)
	tests := []struct {
		name string
		data []byte
		opts Options
		want string // the whole message
		is   error  // errors.Is target, if any
	}{
		{
			name: "wrong pre-shared key",
			data: readTestdata(t, fig6),
			opts: Options{PreSharedKey: unhex("12345678901234567890123456789013")},
			want: "pskc: MACMethod: MAC key: bad padding: the file was altered or the pre-shared key is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "wrong password",
			data: readTestdata(t, fig7),
			opts: Options{Password: []byte("qwertz")},
			want: "pskc: MACMethod: MAC key: bad padding: the file was altered or the password is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "tampered CipherValue",
			data: edit(t, fig6, fig6Cipher, fig6Tampered),
			opts: Options{PreSharedKey: rfcPSK},
			want: "pskc: key package 1 (serial 987654321): decrypt secret: ValueMAC does not match: the file was altered or the pre-shared key is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "tampered ValueMAC",
			data: edit(t, fig7, "LP6xMvjtypbfT9PdkJhBZ+D6O4w=", "LP6xMvjtypbfT9PdkJhBZ+D6O4W="),
			opts: Options{Password: rfcPassword},
			want: "pskc: key package 1 (serial 987654321): decrypt secret: ValueMAC does not match: the file was altered or the password is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "ValueMAC of another value",
			data: edit(t, "aes256-cbc.pskcxml", "<ValueMAC>BCoLfPkV2fxl4OQSgBSkVKbkrOjLPL3DGCkavdTibE0=", "<ValueMAC>AAAAfPkV2fxl4OQSgBSkVKbkrOjLPL3DGCkavdTibE0="),
			opts: Options{PreSharedKey: psk256},
			want: "pskc: key package 1 (serial TOTP-0001): decrypt secret: ValueMAC does not match: the file was altered or the pre-shared key is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "attribute outside the MAC",
			data: edit(t, "aes256-cbc.pskcxml", "<Counter>\n                    <EncryptedValue>", "<Counter>\n                    <EncryptedValue Id=\"x\">"),
			opts: Options{PreSharedKey: psk256},
			// An Id attribute is not covered by the MAC, and changes nothing.
			want: "",
		},
		{
			name: "wrong key-wrap key",
			data: readTestdata(t, "kw-aes128.pskcxml"),
			opts: Options{PreSharedKey: rfcPSK},
			want: "pskc: key package 1 (serial 3394): decrypt secret: kw-aes128 integrity check failed: the file was altered or the pre-shared key is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "pre-shared key missing",
			data: readTestdata(t, fig6),
			want: `pskc: the file is encrypted with a pre-shared key named "Pre-shared-key"; supply it in Options.PreSharedKey`,
		},
		{
			name: "password given, pre-shared key needed",
			data: readTestdata(t, fig6),
			opts: Options{Password: rfcPassword},
			want: `pskc: the file is encrypted with a pre-shared key named "Pre-shared-key"; supply it in Options.PreSharedKey`,
		},
		{
			name: "password missing",
			data: readTestdata(t, fig7),
			opts: Options{PreSharedKey: rfcPSK},
			want: `pskc: the file is encrypted with a password (PBKDF2) named "My Password 1"; supply it in Options.Password`,
		},
		{
			name: "pre-shared key of the wrong length",
			data: readTestdata(t, "aes256-cbc.pskcxml"),
			opts: Options{PreSharedKey: rfcPSK},
			want: "pskc: MACMethod: MAC key: the pre-shared key is 16 bytes; aes256-cbc needs 32",
		},
		{
			name: "no ValueMAC",
			data: edit(t, fig6, "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>", ""),
			opts: Options{PreSharedKey: rfcPSK},
			want: "pskc: key package 1 (serial 987654321): decrypt secret: no ValueMAC, so neither the key nor the value can be checked " +
				"(RFC 6030 section 6.1.1 requires one with aes128-cbc); set Options.AllowUnauthenticated to accept such files",
		},
		{
			name: "no MAC at all, allowed, wrong key",
			data: withoutMAC(t),
			opts: Options{PreSharedKey: unhex("12345678901234567890123456789013"), AllowUnauthenticated: true},
			want: "pskc: key package 1 (serial 987654321): decrypt secret: bad padding: the file was altered or the pre-shared key is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "ValueMAC without MACMethod",
			data: edit(t, "kw-aes128.pskcxml", "</EncryptedValue>", "</EncryptedValue><ValueMAC>AAAA</ValueMAC>"),
			opts: Options{PreSharedKey: kwKEK},
			want: "pskc: key package 1 (serial 3394): decrypt secret: ValueMAC present, but the container has no MACMethod",
		},
		{
			name: "iteration count over the limit",
			data: readTestdata(t, fig7),
			opts: Options{Password: rfcPassword, MaxIterations: 999},
			want: "pskc: EncryptionKey: PBKDF2 IterationCount 1000 exceeds the limit of 999 (Options.MaxIterations)",
		},
		{
			name: "absurd iteration count",
			data: edit(t, fig7, "<IterationCount>1000</IterationCount>", "<IterationCount>4000000000</IterationCount>"),
			opts: Options{Password: rfcPassword},
			want: "pskc: EncryptionKey: PBKDF2 IterationCount 4000000000 exceeds the limit of 10000000 (Options.MaxIterations)",
		},
		{
			name: "KeyLength does not fit the cipher",
			data: edit(t, fig7, "<KeyLength>16</KeyLength>", "<KeyLength>32</KeyLength>"),
			opts: Options{Password: rfcPassword},
			want: "pskc: MACMethod: MAC key: PBKDF2 KeyLength is 32, but aes128-cbc needs a 16-byte key",
		},
		{
			name: "asymmetric key transport (Figure 8)",
			data: readTestdata(t, "rfc6030-figure8.pskcxml"),
			opts: Options{PreSharedKey: rfcPSK},
			want: "pskc: asymmetric key transport (<ds:X509Data>, RFC 6030 section 6.3): not supported",
			is:   ErrUnsupported,
		},
		{
			name: "unsupported cipher",
			data: edit(t, "kw-aes128.pskcxml", "xmlenc#kw-aes128", "xmlenc#tripledes-cbc"),
			opts: Options{PreSharedKey: kwKEK},
			want: `pskc: key package 1 (serial 3394): decrypt secret: encryption algorithm "http://www.w3.org/2001/04/xmlenc#tripledes-cbc": not supported`,
			is:   ErrUnsupported,
		},
		{
			name: "unsupported MAC",
			data: edit(t, fig6, "xmldsig#hmac-sha1", "xmldsig#hmac-md5"),
			opts: Options{PreSharedKey: rfcPSK},
			want: `pskc: MACMethod: MAC algorithm "http://www.w3.org/2000/09/xmldsig#hmac-md5": not supported`,
			is:   ErrUnsupported,
		},
		{
			name: "CipherValue cut short",
			data: edit(t, fig6, fig6Cipher, "AAECAwQFBgcICQoLDA0ODw=="),
			opts: Options{PreSharedKey: rfcPSK, AllowUnauthenticated: true},
			// The MAC is checked first, and the IV alone does not match it.
			want: "pskc: key package 1 (serial 987654321): decrypt secret: ValueMAC does not match: the file was altered or the pre-shared key is wrong",
			is:   ErrIntegrity,
		},
		{
			name: "two secrets",
			data: edit(t, "totp.pskcxml", "</Secret>", "</Secret><Secret><PlainValue>AAAA</PlainValue></Secret>"),
			want: "pskc: key package 1 (serial TOTP-6-30): 2 Secret elements; want at most one",
		},
		{
			name: "two keys",
			data: edit(t, "rfc6030-figure2.pskcxml", "</Key>", "</Key><Key Id=\"2\"/>"),
			want: "pskc: key package 1 (key 12345678): 2 Key elements; a KeyPackage holds at most one",
		},
		{
			name: "bad base64",
			data: edit(t, "rfc6030-figure2.pskcxml", "MTIzNA==", "MTIz*A=="),
			want: "pskc: key package 1 (key 12345678): secret: PlainValue: illegal base64 data at input byte 4",
		},
		{
			name: "negative counter",
			data: edit(t, "hotp8.pskcxml", "<PlainValue>42</PlainValue>", "<PlainValue>-1</PlainValue>"),
			want: `pskc: key package 1 (serial 12345678): invalid Counter "-1": want a non-negative integer`,
		},
		{
			name: "zero time step",
			data: edit(t, "totp.pskcxml", "<PlainValue>30</PlainValue>", "<PlainValue>0</PlainValue>"),
			want: "pskc: key package 1 (serial TOTP-6-30): TimeInterval is 0; a time-based key needs a positive time step",
		},
		{
			name: "bad date",
			data: edit(t, "totp.pskcxml", "2025-01-01T00:00:00Z", "1 January 2025"),
			want: `pskc: key package 1 (serial TOTP-6-30): invalid Policy StartDate "1 January 2025": want an xs:dateTime such as 2006-05-01T00:00:00Z`,
		},
		{
			name: "hostile serial",
			data: []byte(strings.Replace(
				string(edit(t, "hotp8.pskcxml", "<SerialNo>12345678</SerialNo>", "<SerialNo>a\nb"+strings.Repeat("x", 100)+"</SerialNo>")),
				"<PlainValue>42</PlainValue>", "<PlainValue>-1</PlainValue>", 1)),
			// Quoted and clipped to 64 bytes.
			want: `pskc: key package 1 (serial "a\nb` + strings.Repeat("x", 58) + `..."): invalid Counter "-1": want a non-negative integer`,
		},
		{
			name: "not XML",
			data: []byte("serial,secret\n1,31323334\n"),
			want: "pskc: not a PSKC document: EOF",
		},
		{
			name: "other root",
			data: []byte(`<Container xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>`),
			want: "pskc: not a PSKC document: expected element type <KeyContainer> but have <Container>",
		},
		{
			name: "second container appended",
			data: append(readTestdata(t, "rfc6030-figure2.pskcxml"), readTestdata(t, "rfc6030-figure3.pskcxml")[39:]...),
			want: "pskc: not a PSKC document: element <KeyContainer> after </KeyContainer>",
		},
		{
			name: "text after the container",
			data: append(readTestdata(t, "rfc6030-figure2.pskcxml"), "serial,secret\n"...),
			want: "pskc: not a PSKC document: text after </KeyContainer>",
		},
		{
			name: "comment after the container",
			data: append(readTestdata(t, "rfc6030-figure2.pskcxml"), "<!-- signed by nobody -->\n"...),
			want: "",
		},
		{
			name: "pre-RFC namespace",
			data: []byte(`<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc:1.0"><KeyPackage/></KeyContainer>`),
			want: `pskc: KeyContainer is in namespace "urn:ietf:params:xml:ns:keyprov:pskc:1.0"; want "urn:ietf:params:xml:ns:keyprov:pskc" (RFC 6030)`,
		},
		{
			name: "version 2",
			data: []byte(`<KeyContainer Version="2.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage/></KeyContainer>`),
			want: `pskc: PSKC version "2.0": only version 1.x is supported`,
		},
		{
			name: "no key package",
			data: []byte(`<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>`),
			want: "pskc: no KeyPackage: a container must carry at least one (RFC 6030 section 3)",
		},
		{
			name: "too large",
			data: make([]byte, MaxFileSize+1),
			want: fmt.Sprintf("pskc: file is %d bytes; the limit is %d", MaxFileSize+1, MaxFileSize),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := Parse(tt.data, tt.opts)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v; want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded with %d key packages; want %q", len(pkgs), tt.want)
			}
			if pkgs != nil {
				t.Errorf("Parse returned key packages along with the error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false", tt.is)
			}
			for _, leak := range []string{"12345678901234567890", "3132333435363738", "MTIzNDU2Nzg5MDEy"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error contains secret material %q", leak)
				}
			}
		})
	}
}

// withoutMAC is Figure 6 stripped of its MACMethod and ValueMAC.
func withoutMAC(t *testing.T) []byte {
	s := string(edit(t, "rfc6030-figure6.pskcxml", "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>", ""))
	i, j := strings.Index(s, "<MACMethod"), strings.Index(s, "</MACMethod>")
	return []byte(s[:i] + s[j+len("</MACMethod>"):])
}

// TestKeyRequiredError checks what a caller needs to prompt for a key.
func TestKeyRequiredError(t *testing.T) {
	for file, want := range map[string]KeyRequiredError{
		"rfc6030-figure6.pskcxml": {Protection: ProtectionPreSharedKey, KeyName: "Pre-shared-key"},
		"rfc6030-figure7.pskcxml": {Protection: ProtectionPassword, KeyName: "My Password 1"},
		"aes256-cbc.pskcxml":      {Protection: ProtectionPreSharedKey, KeyName: "Transport key 2024"},
		"pbkdf2-sha256.pskcxml":   {Protection: ProtectionPassword, KeyName: "Batch 7 password"},
	} {
		_, err := Parse(readTestdata(t, file), Options{})
		var kr *KeyRequiredError
		if !errors.As(err, &kr) {
			t.Errorf("%s: error %v is not a *KeyRequiredError", file, err)
			continue
		}
		if *kr != want {
			t.Errorf("%s: %+v, want %+v", file, *kr, want)
		}
	}
	// A plaintext file needs nothing, whatever its EncryptionKey says.
	if _, err := Parse(readTestdata(t, "totp.pskcxml"), Options{}); err != nil {
		t.Errorf("plaintext file: %v", err)
	}
}

// TestWrongKeysNeverYieldSecrets tries many wrong keys and passwords: each
// must fail with ErrIntegrity, however the padding happens to fall. With
// a MAC, no wrong key gets through.
func TestWrongKeysNeverYieldSecrets(t *testing.T) {
	fig6 := readTestdata(t, "rfc6030-figure6.pskcxml")
	fig7 := readTestdata(t, "rfc6030-figure7.pskcxml")
	for i := range 300 {
		psk := append([]byte(nil), rfcPSK...)
		psk[i%16] ^= byte(1 + i/16)
		if _, err := Parse(fig6, Options{PreSharedKey: psk}); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("pre-shared key %x: err = %v, want ErrIntegrity", psk, err)
		}
	}
	for i := range 100 {
		pw := []byte(fmt.Sprintf("qwerty%d", i))
		if _, err := Parse(fig7, Options{Password: pw}); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("password %q: err = %v, want ErrIntegrity", pw, err)
		}
	}
}

// TestAllowUnauthenticated reads a CBC value without a ValueMAC when the
// caller allows it, checking the padding strictly.
func TestAllowUnauthenticated(t *testing.T) {
	for name, data := range map[string][]byte{
		"no ValueMAC": edit(t, "rfc6030-figure6.pskcxml", "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>", ""),
		"no MAC":      withoutMAC(t),
	} {
		pkgs, err := Parse(data, Options{PreSharedKey: rfcPSK, AllowUnauthenticated: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(pkgs[0].Secret) != string(rfcSecret) {
			t.Errorf("%s: Secret = %x, want %x", name, []byte(pkgs[0].Secret), []byte(rfcSecret))
		}
	}
}

// TestIterationCapIsFast checks that an absurd iteration count is refused
// before any work is done.
func TestIterationCapIsFast(t *testing.T) {
	data := edit(t, "rfc6030-figure7.pskcxml", "<IterationCount>1000</IterationCount>", "<IterationCount>9999999999</IterationCount>")
	start := time.Now()
	_, err := Parse(data, Options{Password: rfcPassword})
	if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 30*time.Second { // 10^10 iterations would take hours
		t.Errorf("refusing took %v", d)
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte { return append(make([]byte, 16-len(tail)), tail...) }
	tests := []struct {
		p       []byte
		strict  bool
		n       int
		wantOK  bool
		comment string
	}{
		{block(1), true, 15, true, "one octet"},
		{block(3, 3, 3), true, 13, true, "PKCS #7"},
		{block(9, 9, 3), false, 13, true, "XML Encryption: only the last octet counts"},
		{block(9, 9, 3), true, 0, false, "PKCS #7 refuses mixed padding"},
		{block(0), false, 0, false, "zero"},
		{block(17), false, 0, false, "longer than a block"},
		{bytes16(16), true, 0, true, "a whole block of padding"},
		{nil, false, 0, false, "empty"},
	}
	for _, tt := range tests {
		n, ok := unpad(tt.p, 16, tt.strict)
		if n != tt.n || ok != tt.wantOK {
			t.Errorf("%s: unpad = %d, %v; want %d, %v", tt.comment, n, ok, tt.n, tt.wantOK)
		}
	}
}

func bytes16(b byte) []byte {
	p := make([]byte, 16)
	for i := range p {
		p[i] = b
	}
	return p
}
