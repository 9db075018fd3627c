package pptp

import (
	"strconv"
	"strings"
)

// FramingCapabilities is a set of framing bits (section 2.1). The same
// bits fill the Framing Type fields of the Outgoing-Call-Request and the
// Incoming-Call-Connected, where both bits mean "either".
type FramingCapabilities uint32

// Framing bits.
const (
	FramingAsynchronous FramingCapabilities = 1 << iota
	FramingSynchronous
)

// String lists the bits of f, such as "async|sync", or "none".
func (f FramingCapabilities) String() string {
	return bitsString(uint32(f), []string{"async", "sync"})
}

// BearerCapabilities is a set of bearer bits (section 2.1). The same bits
// fill the Bearer Type of the Outgoing-Call-Request and the Call Bearer
// Type of the Incoming-Call-Request, where both bits mean "either".
type BearerCapabilities uint32

// Bearer bits.
const (
	BearerAnalog BearerCapabilities = 1 << iota
	BearerDigital
)

// String lists the bits of b, such as "analog|digital", or "none".
func (b BearerCapabilities) String() string {
	return bitsString(uint32(b), []string{"analog", "digital"})
}

func bitsString(v uint32, names []string) string {
	if v == 0 {
		return "none"
	}
	var parts []string
	for i, n := range names {
		if v&(1<<i) != 0 {
			parts = append(parts, n)
			v &^= 1 << i
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(v), 16))
	}
	return strings.Join(parts, "|")
}

// GeneralError is the Error Code field of replies, meaningful when the
// Result Code says General Error (section 2.16).
type GeneralError uint8

const (
	GeneralErrorNone         GeneralError = 0 // No general error
	GeneralErrorNotConnected GeneralError = 1 // No control connection exists yet for this PAC-PNS pair
	GeneralErrorBadFormat    GeneralError = 2 // Length is wrong or Magic Cookie value is incorrect
	GeneralErrorBadValue     GeneralError = 3 // One of the field values was out of range or reserved field was non-zero
	GeneralErrorNoResource   GeneralError = 4 // Insufficient resources to handle this command now
	GeneralErrorBadCallID    GeneralError = 5 // The Call ID is invalid in this context
	GeneralErrorPACError     GeneralError = 6 // A generic vendor-specific error occurred in the PAC
)

var generalErrorNames = [...]string{
	"None", "Not-Connected", "Bad-Format", "Bad-Value", "No-Resource", "Bad-Call ID", "PAC-Error",
}

// String returns the RFC's name of e, such as "Bad-Format".
func (e GeneralError) String() string { return enumString(e, generalErrorNames[:], "GeneralError") }

// StartControlConnectionResult is the Result Code of the
// Start-Control-Connection-Reply (section 2.2).
type StartControlConnectionResult uint8

const (
	StartSuccess            StartControlConnectionResult = 1 // Successful channel establishment
	StartGeneralError       StartControlConnectionResult = 2 // General error -- Error Code indicates the problem
	StartChannelExists      StartControlConnectionResult = 3 // Command channel already exists
	StartNotAuthorized      StartControlConnectionResult = 4 // Requester is not authorized to establish a command channel
	StartBadProtocolVersion StartControlConnectionResult = 5 // The protocol version of the requester is not supported
)

var startResultNames = [...]string{
	1: "Successful channel establishment",
	2: "General error",
	3: "Command channel already exists",
	4: "Requester is not authorized",
	5: "Protocol version not supported",
}

// String returns the RFC's wording of r.
func (r StartControlConnectionResult) String() string {
	return enumString(r, startResultNames[:], "StartControlConnectionResult")
}

// StopControlConnectionReason is the Reason of the
// Stop-Control-Connection-Request (section 2.3).
type StopControlConnectionReason uint8

const (
	StopNone          StopControlConnectionReason = 1 // General request to clear control connection
	StopProtocol      StopControlConnectionReason = 2 // Can't support peer's version of the protocol
	StopLocalShutdown StopControlConnectionReason = 3 // Requester is being shut down
)

var stopReasonNames = [...]string{1: "None", 2: "Stop-Protocol", 3: "Stop-Local-Shutdown"}

// String returns the RFC's wording of r.
func (r StopControlConnectionReason) String() string {
	return enumString(r, stopReasonNames[:], "StopControlConnectionReason")
}

// StopControlConnectionResult is the Result Code of the
// Stop-Control-Connection-Reply (section 2.4).
type StopControlConnectionResult uint8

const (
	StopOK           StopControlConnectionResult = 1 // Control connection closed
	StopGeneralError StopControlConnectionResult = 2 // Control connection not closed for reason indicated in Error Code
)

var okGeneralErrorNames = [...]string{1: "OK", 2: "General Error"}

// String returns the RFC's wording of r.
func (r StopControlConnectionResult) String() string {
	return enumString(r, okGeneralErrorNames[:], "StopControlConnectionResult")
}

// EchoResult is the Result Code of the Echo-Reply (section 2.6).
type EchoResult uint8

const (
	EchoOK           EchoResult = 1 // The Echo-Reply is valid
	EchoGeneralError EchoResult = 2 // Echo-Request not accepted for the reason indicated in Error Code
)

// String returns the RFC's wording of r.
func (r EchoResult) String() string { return enumString(r, okGeneralErrorNames[:], "EchoResult") }

// OutgoingCallResult is the Result Code of the Outgoing-Call-Reply
// (section 2.8).
type OutgoingCallResult uint8

const (
	OutgoingConnected    OutgoingCallResult = 1 // Call established with no errors
	OutgoingGeneralError OutgoingCallResult = 2 // Outgoing Call not established for the reason indicated in Error Code
	OutgoingNoCarrier    OutgoingCallResult = 3 // Outgoing Call failed due to no carrier detected
	OutgoingBusy         OutgoingCallResult = 4 // Outgoing Call failed due to detection of a busy signal
	OutgoingNoDialTone   OutgoingCallResult = 5 // Outgoing Call failed due to lack of a dial tone
	OutgoingTimeout      OutgoingCallResult = 6 // Outgoing Call was not established within time allotted by PAC
	OutgoingDoNotAccept  OutgoingCallResult = 7 // Outgoing Call administratively prohibited
)

var outgoingResultNames = [...]string{
	1: "Connected", 2: "General Error", 3: "No Carrier", 4: "Busy",
	5: "No Dial Tone", 6: "Time-out", 7: "Do Not Accept",
}

// String returns the RFC's wording of r.
func (r OutgoingCallResult) String() string {
	return enumString(r, outgoingResultNames[:], "OutgoingCallResult")
}

// IncomingCallResult is the Result Code of the Incoming-Call-Reply
// (section 2.10).
type IncomingCallResult uint8

const (
	IncomingConnect      IncomingCallResult = 1 // The PAC should answer the incoming call
	IncomingGeneralError IncomingCallResult = 2 // The Incoming Call should not be established due to the reason indicated in Error Code
	IncomingDoNotAccept  IncomingCallResult = 3 // The PAC should not accept the incoming call
)

var incomingResultNames = [...]string{1: "Connect", 2: "General Error", 3: "Do Not Accept"}

// String returns the RFC's wording of r.
func (r IncomingCallResult) String() string {
	return enumString(r, incomingResultNames[:], "IncomingCallResult")
}

// CallDisconnectResult is the Result Code of the Call-Disconnect-Notify
// (section 2.13).
type CallDisconnectResult uint8

const (
	DisconnectLostCarrier   CallDisconnectResult = 1 // Call disconnected due to loss of carrier
	DisconnectGeneralError  CallDisconnectResult = 2 // Call disconnected for the reason indicated in Error Code
	DisconnectAdminShutdown CallDisconnectResult = 3 // Call disconnected for administrative reasons
	DisconnectRequest       CallDisconnectResult = 4 // Call disconnected due to received Call-Clear-Request
)

var disconnectResultNames = [...]string{1: "Lost Carrier", 2: "General Error", 3: "Admin Shutdown", 4: "Request"}

// String returns the RFC's wording of r.
func (r CallDisconnectResult) String() string {
	return enumString(r, disconnectResultNames[:], "CallDisconnectResult")
}
