package lcp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
)

// Option layouts from RFC 1661 section 6 and RFC 1662 section 7.1.
func TestOptionVectors(t *testing.T) {
	tests := []struct {
		name string
		enc  []byte
		opt  lcp.Option
		str  string
	}{
		{"MRU 1400", []byte{0x01, 0x04, 0x05, 0x78}, lcp.MRU(1400), "MRU 1400"},
		{"ACCM", []byte{0x02, 0x06, 0x00, 0x0a, 0x00, 0x00}, lcp.ACCM(0x000a0000), "ACCM 0x000a0000"},
		{"MS-CHAPv2", []byte{0x03, 0x05, 0xc2, 0x23, 0x81}, lcp.MSCHAPv2.Option(), "Authentication-Protocol MS-CHAPv2"},
		{"MS-CHAPv1", []byte{0x03, 0x05, 0xc2, 0x23, 0x80}, lcp.MSCHAPv1.Option(), "Authentication-Protocol MS-CHAPv1"},
		{"CHAP-MD5", []byte{0x03, 0x05, 0xc2, 0x23, 0x05}, lcp.CHAPMD5.Option(), "Authentication-Protocol CHAP-MD5"},
		{"PAP", []byte{0x03, 0x04, 0xc0, 0x23}, lcp.PAP.Option(), "Authentication-Protocol PAP"},
		{"EAP", []byte{0x03, 0x04, 0xc2, 0x27}, lcp.AuthProtocol{Protocol: ppp.ProtoEAP, Data: []byte{}}, "Authentication-Protocol EAP"},
		{"CHAP unknown algorithm", []byte{0x03, 0x05, 0xc2, 0x23, 0x06}, lcp.AuthProtocol{Protocol: ppp.ProtoCHAP, Data: []byte{6}}, "Authentication-Protocol CHAP algorithm 0x06"},
		{"Magic", []byte{0x05, 0x06, 0x12, 0x34, 0x56, 0x78}, lcp.MagicNumber(0x12345678), "Magic-Number 0x12345678"},
		{"PFC", []byte{0x07, 0x02}, lcp.PFC{}, "PFC"},
		{"ACFC", []byte{0x08, 0x02}, lcp.ACFC{}, "ACFC"},
		{"Callback CBCP", []byte{0x0d, 0x03, 0x06}, lcp.Unknown{Option: ppp.Option{Type: 13, Data: []byte{6}}}, "Callback [06]"},
		{"Endpoint", []byte{0x13, 0x03, 0x00}, lcp.Unknown{Option: ppp.Option{Type: 19, Data: []byte{0}}}, "Multilink-Endpoint-Discriminator [00]"},
		{"unnamed", []byte{0x42, 0x02}, lcp.Unknown{Option: ppp.Option{Type: 0x42, Data: []byte{}}}, "option 66 []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.opt.Append(nil); !bytes.Equal(got, tt.enc) {
				t.Errorf("Append = [% x], want [% x]", got, tt.enc)
			}
			opts, err := lcp.ParseOptions(tt.enc)
			if err != nil || len(opts) != 1 {
				t.Fatalf("ParseOptions = %v, %v", opts, err)
			}
			if got := opts[0].Append(nil); !bytes.Equal(got, tt.enc) {
				t.Errorf("round trip [% x]", got)
			}
			if got := opts[0].String(); got != tt.str {
				t.Errorf("String = %q, want %q", got, tt.str)
			}
			if opts[0].Type() != tt.opt.Type() {
				t.Errorf("Type = %v", opts[0].Type())
			}
		})
	}
}

func TestOptionMalformed(t *testing.T) {
	for _, b := range [][]byte{
		{0x01, 0x03, 0x05},                   // MRU too short
		{0x01, 0x05, 0x05, 0x78, 0x00},       // MRU too long
		{0x02, 0x04, 0x00, 0x00},             // ACCM too short
		{0x03, 0x03, 0xc2},                   // Auth without full protocol
		{0x03, 0x02},                         // Auth empty
		{0x05, 0x05, 0x01, 0x02, 0x03},       // Magic too short
		{0x05, 0x07, 0x01, 0x02, 0x03, 4, 5}, // Magic too long
		{0x07, 0x03, 0x00},                   // PFC with data
		{0x08, 0x03, 0x00},                   // ACFC with data
	} {
		if _, err := lcp.ParseOptions(b); !errors.Is(err, lcp.ErrOptionLength) {
			t.Errorf("[% x]: err = %v", b, err)
		}
	}
	if _, err := lcp.ParseOptions([]byte{0x01, 0x04, 0x05}); !errors.Is(err, ppp.ErrOptionLength) {
		t.Errorf("overrun: %v", err)
	}
}

func TestAuthMethods(t *testing.T) {
	for _, m := range []lcp.AuthMethod{lcp.MSCHAPv2, lcp.MSCHAPv1, lcp.CHAPMD5, lcp.PAP} {
		if got := m.Option().Method(); got != m {
			t.Errorf("%v: Option().Method() = %v", m, got)
		}
	}
	if lcp.MSCHAPv2.Setting() != "" || lcp.PAP.Setting() != "pptp.auth.pap" ||
		lcp.CHAPMD5.Setting() != "pptp.auth.chap_md5" || lcp.MSCHAPv1.Setting() != "pptp.auth.mschapv1" {
		t.Error("settings")
	}
	for _, a := range []lcp.AuthProtocol{
		{Protocol: ppp.ProtoPAP, Data: []byte{0}},
		{Protocol: ppp.ProtoCHAP},
		{Protocol: ppp.ProtoCHAP, Data: []byte{0x81, 0}},
		{Protocol: ppp.ProtoEAP},
	} {
		if m := a.Method(); m != 0 {
			t.Errorf("%v: Method = %v", a, m)
		}
	}
}
