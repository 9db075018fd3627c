package pptp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

func TestCodeStrings(t *testing.T) {
	cases := []struct {
		v    fmt.Stringer
		want string
	}{
		{pptp.GeneralErrorNone, "None"},
		{pptp.GeneralErrorNotConnected, "Not-Connected"},
		{pptp.GeneralErrorBadFormat, "Bad-Format"},
		{pptp.GeneralErrorBadValue, "Bad-Value"},
		{pptp.GeneralErrorNoResource, "No-Resource"},
		{pptp.GeneralErrorBadCallID, "Bad-Call ID"},
		{pptp.GeneralErrorPACError, "PAC-Error"},
		{pptp.GeneralError(7), "GeneralError(7)"},

		{pptp.StartSuccess, "Successful channel establishment"},
		{pptp.StartGeneralError, "General error"},
		{pptp.StartChannelExists, "Command channel already exists"},
		{pptp.StartNotAuthorized, "Requester is not authorized"},
		{pptp.StartBadProtocolVersion, "Protocol version not supported"},
		{pptp.StartControlConnectionResult(0), "StartControlConnectionResult(0)"},

		{pptp.StopNone, "None"},
		{pptp.StopProtocol, "Stop-Protocol"},
		{pptp.StopLocalShutdown, "Stop-Local-Shutdown"},
		{pptp.StopControlConnectionReason(4), "StopControlConnectionReason(4)"},

		{pptp.StopOK, "OK"},
		{pptp.StopGeneralError, "General Error"},
		{pptp.StopControlConnectionResult(3), "StopControlConnectionResult(3)"},

		{pptp.EchoOK, "OK"},
		{pptp.EchoGeneralError, "General Error"},
		{pptp.EchoResult(0), "EchoResult(0)"},

		{pptp.OutgoingConnected, "Connected"},
		{pptp.OutgoingGeneralError, "General Error"},
		{pptp.OutgoingNoCarrier, "No Carrier"},
		{pptp.OutgoingBusy, "Busy"},
		{pptp.OutgoingNoDialTone, "No Dial Tone"},
		{pptp.OutgoingTimeout, "Time-out"},
		{pptp.OutgoingDoNotAccept, "Do Not Accept"},
		{pptp.OutgoingCallResult(8), "OutgoingCallResult(8)"},

		{pptp.IncomingConnect, "Connect"},
		{pptp.IncomingGeneralError, "General Error"},
		{pptp.IncomingDoNotAccept, "Do Not Accept"},
		{pptp.IncomingCallResult(4), "IncomingCallResult(4)"},

		{pptp.DisconnectLostCarrier, "Lost Carrier"},
		{pptp.DisconnectGeneralError, "General Error"},
		{pptp.DisconnectAdminShutdown, "Admin Shutdown"},
		{pptp.DisconnectRequest, "Request"},
		{pptp.CallDisconnectResult(5), "CallDisconnectResult(5)"},

		{pptp.FramingCapabilities(0), "none"},
		{pptp.FramingAsynchronous, "async"},
		{pptp.FramingSynchronous, "sync"},
		{pptp.FramingAsynchronous | pptp.FramingSynchronous, "async|sync"},
		{pptp.FramingCapabilities(0x11), "async|0x10"},
		{pptp.BearerAnalog | pptp.BearerDigital, "analog|digital"},
		{pptp.BearerCapabilities(4), "0x4"},
	}
	for _, c := range cases {
		if got := c.v.String(); got != c.want {
			t.Errorf("%T(%v).String() = %q, want %q", c.v, c.v, got, c.want)
		}
	}
}

// The values are the RFC's.
func TestCodeValues(t *testing.T) {
	if pptp.FramingAsynchronous != 1 || pptp.FramingSynchronous != 2 || pptp.BearerAnalog != 1 || pptp.BearerDigital != 2 {
		t.Error("capability bits differ from section 2.1")
	}
	if pptp.GeneralErrorPACError != 6 || pptp.StartBadProtocolVersion != 5 || pptp.OutgoingDoNotAccept != 7 ||
		pptp.IncomingDoNotAccept != 3 || pptp.DisconnectRequest != 4 || pptp.StopLocalShutdown != 3 {
		t.Error("result codes differ from section 2")
	}
	if pptp.TypeSetLinkInfo != 15 || pptp.TypeEchoRequest != 5 || pptp.TypeOutgoingCallRequest != 7 {
		t.Error("control message types differ from section 1.4")
	}
	if !strings.EqualFold(fmt.Sprintf("%#x", pptp.MagicCookie), "0x1a2b3c4d") || pptp.ProtocolVersion != 0x0100 {
		t.Error("header constants differ from section 2")
	}
}
