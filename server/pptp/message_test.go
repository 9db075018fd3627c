package pptp_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// samples has one message of every control message type, with every
// field set to something other than zero, so that a field dropped or
// written at the wrong offset shows.
func samples() []pptp.Message {
	return []pptp.Message{
		&pptp.StartControlConnectionRequest{
			ProtocolVersion:     pptp.ProtocolVersion,
			FramingCapabilities: pptp.FramingAsynchronous | pptp.FramingSynchronous,
			BearerCapabilities:  pptp.BearerAnalog,
			MaximumChannels:     7,
			FirmwareRevision:    0x0102,
			HostName:            "client.example",
			VendorString:        "Microsoft Windows NT",
		},
		&pptp.StartControlConnectionReply{
			ProtocolVersion:     pptp.ProtocolVersion,
			ResultCode:          pptp.StartGeneralError,
			ErrorCode:           pptp.GeneralErrorNoResource,
			FramingCapabilities: pptp.FramingSynchronous,
			BearerCapabilities:  pptp.BearerAnalog | pptp.BearerDigital,
			MaximumChannels:     100,
			FirmwareRevision:    0x0203,
			HostName:            strings.Repeat("h", pptp.HostNameSize), // exactly full: no NUL on the wire
			VendorString:        "Gatehouse",
		},
		&pptp.StopControlConnectionRequest{Reason: pptp.StopLocalShutdown},
		&pptp.StopControlConnectionReply{ResultCode: pptp.StopGeneralError, ErrorCode: pptp.GeneralErrorNotConnected},
		&pptp.EchoRequest{Identifier: 0xdeadbeef},
		&pptp.EchoReply{Identifier: 0xfeedface, ResultCode: pptp.EchoGeneralError, ErrorCode: pptp.GeneralErrorBadValue},
		&pptp.OutgoingCallRequest{
			CallID: 0x1111, CallSerialNumber: 0x2222,
			MinimumBPS: 300, MaximumBPS: 100_000_000,
			BearerType: pptp.BearerAnalog | pptp.BearerDigital, FramingType: pptp.FramingAsynchronous,
			PacketRecvWindowSize: 64, PacketProcessingDelay: 3,
			PhoneNumberLength: 7, PhoneNumber: "5551234", Subaddress: "sub",
		},
		&pptp.OutgoingCallReply{
			CallID: 0x3333, PeerCallID: 0x1111,
			ResultCode: pptp.OutgoingBusy, ErrorCode: pptp.GeneralErrorPACError, CauseCode: 17,
			ConnectSpeed: 64000, PacketRecvWindowSize: 16, PacketProcessingDelay: 2, PhysicalChannelID: 0x01020304,
		},
		&pptp.IncomingCallRequest{
			CallID: 0x4444, CallSerialNumber: 9, CallBearerType: pptp.BearerDigital, PhysicalChannelID: 0x0a0b0c0d,
			DialedNumberLength: 4, DialingNumberLength: 5,
			DialedNumber: "1234", DialingNumber: "56789", Subaddress: "x",
		},
		&pptp.IncomingCallReply{
			CallID: 0x5555, PeerCallID: 0x4444, ResultCode: pptp.IncomingDoNotAccept,
			ErrorCode: pptp.GeneralErrorBadCallID, PacketRecvWindowSize: 32, PacketTransmitDelay: 5,
		},
		&pptp.IncomingCallConnected{
			PeerCallID: 0x5555, ConnectSpeed: 115200, PacketRecvWindowSize: 8, PacketTransmitDelay: 1,
			FramingType: pptp.FramingSynchronous,
		},
		&pptp.CallClearRequest{CallID: 0x6666},
		&pptp.CallDisconnectNotify{
			CallID: 0x7777, ResultCode: pptp.DisconnectAdminShutdown, ErrorCode: pptp.GeneralErrorBadFormat,
			CauseCode: 0x10, CallStatistics: "rx 10 tx 20",
		},
		&pptp.WANErrorNotify{
			PeerCallID: 0x8888, CRCErrors: 1, FramingErrors: 2, HardwareOverruns: 3,
			BufferOverruns: 4, TimeoutErrors: 5, AlignmentErrors: 6,
		},
		&pptp.SetLinkInfo{PeerCallID: 0x9999, SendACCM: 0xffffffff, ReceiveACCM: 0x000a0000},
	}
}

func TestSamplesCoverEveryType(t *testing.T) {
	seen := map[pptp.ControlMessageType]bool{}
	for _, m := range samples() {
		seen[m.ControlMessageType()] = true
	}
	for ty := pptp.TypeStartControlConnectionRequest; ty <= pptp.TypeSetLinkInfo; ty++ {
		if !seen[ty] {
			t.Errorf("no sample of %v", ty)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range samples() {
		ty := m.ControlMessageType()
		t.Run(ty.Abbrev(), func(t *testing.T) {
			b := pptp.Append([]byte("prefix"), m)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatal("Append clobbered the prefix")
			}
			b = b[len("prefix"):]
			if len(b) != ty.Length() {
				t.Fatalf("Append wrote %d octets, want %d", len(b), ty.Length())
			}
			got, err := pptp.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("Parse(Append(m)) =\n %+v\nwant\n %+v", got, m)
			}
			if again := pptp.Append(nil, got); !bytes.Equal(again, b) {
				t.Errorf("Append(Parse(b)) differs from b")
			}
		})
	}
}

func TestControlMessageTypes(t *testing.T) {
	maxLen := 0
	for ty := pptp.TypeStartControlConnectionRequest; ty <= pptp.TypeSetLinkInfo; ty++ {
		if strings.HasPrefix(ty.String(), "ControlMessageType(") {
			t.Errorf("type %d has no name", ty)
		}
		if ty.Length() < pptp.MinMessageLength || ty.Length()%4 != 0 {
			t.Errorf("%v: length %d", ty, ty.Length())
		}
		maxLen = max(maxLen, ty.Length())
	}
	if maxLen != pptp.MaxMessageLength {
		t.Errorf("longest message is %d octets, MaxMessageLength is %d", maxLen, pptp.MaxMessageLength)
	}
	for _, ty := range []pptp.ControlMessageType{0, 16, 0xffff} {
		if ty.Length() != 0 {
			t.Errorf("unknown type %d has length %d", ty, ty.Length())
		}
	}
	if s := pptp.ControlMessageType(16).String(); s != "ControlMessageType(16)" {
		t.Errorf("String of unknown type = %q", s)
	}
	if s := pptp.TypeSetLinkInfo.String(); s != "Set-Link-Info" {
		t.Errorf("String = %q", s)
	}
	if s := pptp.TypeOutgoingCallRequest.Abbrev(); s != "OCRQ" {
		t.Errorf("Abbrev = %q", s)
	}
}

func TestStrings(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "host", "host"},
		{"exactly the field", strings.Repeat("a", pptp.HostNameSize), strings.Repeat("a", pptp.HostNameSize)},
		{"longer than the field is cut", strings.Repeat("b", pptp.HostNameSize+10), strings.Repeat("b", pptp.HostNameSize)},
		{"an embedded NUL ends the string", "left\x00right", "left"},
		{"octets are kept as they are", "caf\xc3\xa9\xff", "caf\xc3\xa9\xff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := pptp.Append(nil, &pptp.StartControlConnectionRequest{HostName: c.in, VendorString: c.in})
			m, err := pptp.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			got := m.(*pptp.StartControlConnectionRequest)
			if got.HostName != c.want || got.VendorString != c.want {
				t.Errorf("HostName %q, VendorString %q; want %q", got.HostName, got.VendorString, c.want)
			}
			field := b[28 : 28+pptp.HostNameSize]
			if n := min(len(c.in), pptp.HostNameSize); !bytes.Equal(field[:n], []byte(c.in[:n])) ||
				!bytes.Equal(field[n:], make([]byte, pptp.HostNameSize-n)) {
				t.Errorf("Host Name field = %q, want the string padded with NULs", field)
			}
		})
	}
}
