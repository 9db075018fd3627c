package pptp_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
	"github.com/gatehouse-vpn/gatehouse/server/pptp/pptptest"
)

var (
	client = netip.MustParseAddrPort("192.0.2.10:50123")
	server = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), pptp.ControlPort)
)

// wireshark returns the fields Wireshark's PPTP dissector should show for
// m, by its field names, with the values we encoded: numbers as uint64,
// strings as string.
func wireshark(m pptp.Message) map[string]any {
	f := map[string]any{
		"pptp.length":               uint64(m.ControlMessageType().Length()),
		"pptp.type":                 uint64(pptp.MessageTypeControl),
		"pptp.magic_cookie":         uint64(pptp.MagicCookie),
		"pptp.control_message_type": uint64(m.ControlMessageType()),
	}
	u := func(name string, v any) {
		switch v := v.(type) {
		case uint8:
			f[name] = uint64(v)
		case uint16:
			f[name] = uint64(v)
		case uint32:
			f[name] = uint64(v)
		case string:
			f[name] = v
		default:
			panic(fmt.Sprintf("%s: %T", name, v))
		}
	}
	switch m := m.(type) {
	case *pptp.StartControlConnectionRequest:
		u("pptp.protocol_version", m.ProtocolVersion)
		u("pptp.framing_capabilities", uint32(m.FramingCapabilities))
		u("pptp.bearer_capabilities", uint32(m.BearerCapabilities))
		u("pptp.maximum_channels", m.MaximumChannels)
		u("pptp.firmware_revision", m.FirmwareRevision)
		u("pptp.host_name", m.HostName)
		u("pptp.vendor_name", m.VendorString)
	case *pptp.StartControlConnectionReply:
		u("pptp.protocol_version", m.ProtocolVersion)
		u("pptp.control_result", uint8(m.ResultCode))
		u("pptp.error", uint8(m.ErrorCode))
		u("pptp.framing_capabilities", uint32(m.FramingCapabilities))
		u("pptp.bearer_capabilities", uint32(m.BearerCapabilities))
		u("pptp.maximum_channels", m.MaximumChannels)
		u("pptp.firmware_revision", m.FirmwareRevision)
		u("pptp.host_name", m.HostName)
		u("pptp.vendor_name", m.VendorString)
	case *pptp.StopControlConnectionRequest:
		u("pptp.reason", uint8(m.Reason))
	case *pptp.StopControlConnectionReply:
		u("pptp.stop_result", uint8(m.ResultCode))
		u("pptp.error", uint8(m.ErrorCode))
	case *pptp.EchoRequest:
		u("pptp.identifier", m.Identifier)
	case *pptp.EchoReply:
		u("pptp.identifier", m.Identifier)
		u("pptp.echo_result", uint8(m.ResultCode))
		u("pptp.error", uint8(m.ErrorCode))
	case *pptp.OutgoingCallRequest:
		u("pptp.call_id", m.CallID)
		u("pptp.call_serial_number", m.CallSerialNumber)
		u("pptp.minimum_bps", m.MinimumBPS)
		u("pptp.maximum_bps", m.MaximumBPS)
		u("pptp.bearer_type", uint32(m.BearerType))
		u("pptp.framing_type", uint32(m.FramingType))
		u("pptp.packet_receive_window_size", m.PacketRecvWindowSize)
		u("pptp.packet_processing_delay", m.PacketProcessingDelay)
		u("pptp.phone_number_length", m.PhoneNumberLength)
		u("pptp.phone_number", m.PhoneNumber)
		u("pptp.subaddress", m.Subaddress)
	case *pptp.OutgoingCallReply:
		u("pptp.call_id", m.CallID)
		u("pptp.peer_call_id", m.PeerCallID)
		u("pptp.out_result", uint8(m.ResultCode))
		u("pptp.error", uint8(m.ErrorCode))
		u("pptp.cause", m.CauseCode)
		u("pptp.connect_speed", m.ConnectSpeed)
		u("pptp.packet_receive_window_size", m.PacketRecvWindowSize)
		u("pptp.packet_processing_delay", m.PacketProcessingDelay)
		u("pptp.physical_channel_id", m.PhysicalChannelID)
	case *pptp.IncomingCallRequest:
		u("pptp.call_id", m.CallID)
		u("pptp.call_serial_number", m.CallSerialNumber)
		u("pptp.bearer_type", uint32(m.CallBearerType))
		u("pptp.physical_channel_id", m.PhysicalChannelID)
		u("pptp.dialed_number_length", m.DialedNumberLength)
		u("pptp.dialing_number_length", m.DialingNumberLength)
		u("pptp.dialed_number", m.DialedNumber)
		u("pptp.dialing_number", m.DialingNumber)
		u("pptp.subaddress", m.Subaddress)
	case *pptp.IncomingCallReply:
		u("pptp.call_id", m.CallID)
		u("pptp.peer_call_id", m.PeerCallID)
		u("pptp.in_result", uint8(m.ResultCode))
		u("pptp.error", uint8(m.ErrorCode))
		u("pptp.packet_receive_window_size", m.PacketRecvWindowSize)
		// Wireshark shows Packet Transmit Delay under this name.
		u("pptp.packet_processing_delay", m.PacketTransmitDelay)
	case *pptp.IncomingCallConnected:
		u("pptp.peer_call_id", m.PeerCallID)
		u("pptp.connect_speed", m.ConnectSpeed)
		u("pptp.packet_receive_window_size", m.PacketRecvWindowSize)
		u("pptp.packet_processing_delay", m.PacketTransmitDelay)
		u("pptp.framing_type", uint32(m.FramingType))
	case *pptp.CallClearRequest:
		u("pptp.call_id", m.CallID)
	case *pptp.CallDisconnectNotify:
		u("pptp.call_id", m.CallID)
		u("pptp.disc_result", uint8(m.ResultCode))
		u("pptp.error", uint8(m.ErrorCode))
		u("pptp.cause", m.CauseCode)
		u("pptp.call_Statistics", m.CallStatistics)
	case *pptp.WANErrorNotify:
		u("pptp.peer_call_id", m.PeerCallID)
		u("pptp.crc_errors", m.CRCErrors)
		u("pptp.framing_errors", m.FramingErrors)
		u("pptp.hardware_overruns", m.HardwareOverruns)
		u("pptp.buffer_overruns", m.BufferOverruns)
		u("pptp.timeout_errors", m.TimeoutErrors)
		u("pptp.alignment_errors", m.AlignmentErrors)
	case *pptp.SetLinkInfo:
		u("pptp.peer_call_id", m.PeerCallID)
		u("pptp.send_accm", m.SendACCM)
		u("pptp.receive_accm", m.ReceiveACCM)
	default:
		panic(fmt.Sprintf("no Wireshark fields for %T", m))
	}
	return f
}

// fromPNS says which side sends each type: the client (PNS) or the
// server (PAC).
var fromPNS = map[pptp.ControlMessageType]bool{
	pptp.TypeStartControlConnectionRequest: true,
	pptp.TypeStopControlConnectionRequest:  true,
	pptp.TypeEchoRequest:                   true,
	pptp.TypeOutgoingCallRequest:           true,
	pptp.TypeIncomingCallReply:             true,
	pptp.TypeCallClearRequest:              true,
	pptp.TypeSetLinkInfo:                   true,
}

// TestTshark puts every control message type, as Append encodes it, into
// a TCP connection to port 1723 and checks that Wireshark's PPTP
// dissector finds nothing malformed and reads back every field we wrote.
//
// Each message has a segment of its own: Wireshark's PPTP dissector (4.0)
// reads only the first message of a segment and shows the rest as
// nothing at all, so a segment with two messages would check only one.
// Reader's own tests cover streams cut anywhere.
func TestTshark(t *testing.T) {
	pptptest.TsharkPath(t) // skip or fail before building anything
	msgs := samples()
	p := pptptest.NewPcap()
	conn := p.OpenTCP(client, server)
	first := p.Records()
	for _, m := range msgs {
		if fromPNS[m.ControlMessageType()] {
			conn.FromClient(pptp.Append(nil, m))
		} else {
			conn.FromServer(pptp.Append(nil, m))
		}
	}
	conn.Close()

	packets := pptptest.Tshark(t, p.Bytes())
	if len(packets) != p.Records() {
		t.Fatalf("tshark shows %d packets, the capture has %d", len(packets), p.Records())
	}
	for i, d := range packets {
		for _, problem := range d.Problems() {
			t.Errorf("packet %d: tshark: %s", i+1, problem)
		}
	}
	for i, m := range msgs {
		d := packets[first+i]
		t.Run(m.ControlMessageType().Abbrev(), func(t *testing.T) {
			if got := d.Protocols(); got != "ip:tcp:pptp" {
				t.Errorf("frame.protocols = %q, want ip:tcp:pptp", got)
			}
			if n := len(d["pptp.magic_cookie"]); n != 1 {
				t.Errorf("%d PPTP messages in the segment, want 1", n)
			}
			checkFields(t, d, wireshark(m))
		})
	}
}

func checkFields(t *testing.T, d pptptest.Packet, want map[string]any) {
	t.Helper()
	for name, w := range want {
		switch w := w.(type) {
		case uint64:
			if v, ok := d.Uint(name); !ok || v != w {
				s, _ := d.Get(name)
				t.Errorf("%s = %q, want %d", name, s, w)
			}
		case string:
			if v, ok := d.Get(name); !ok || v != w {
				t.Errorf("%s = %q (shown %v), want %q", name, v, ok, w)
			}
		}
	}
}

// TestTsharkSeesBrokenBytes is the control experiment: the same check on
// a message with a wrong Magic Cookie must report a problem, or a passing
// TestTshark proves nothing.
func TestTsharkSeesBrokenBytes(t *testing.T) {
	pptptest.TsharkPath(t)
	b := pptp.Append(nil, &pptp.EchoRequest{Identifier: 1})
	b[7] ^= 0xff
	p := pptptest.NewPcap()
	conn := p.OpenTCP(client, server)
	conn.FromClient(b)
	packets := pptptest.Tshark(t, p.Bytes())
	last := packets[len(packets)-1]
	problems := last.Problems()
	if len(problems) == 0 {
		t.Fatalf("tshark found nothing wrong with a bad magic cookie: %v", last)
	}
	if !strings.Contains(strings.Join(problems, "; "), "Magic Cookie") {
		t.Errorf("tshark's problems do not name the magic cookie: %q", problems)
	}
}
