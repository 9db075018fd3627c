package ppp

import (
	"errors"
	"fmt"
)

// ErrAdministrativeClose is the reason recorded when Close is called
// without one.
var ErrAdministrativeClose = errors.New("closed by the gateway")

// TimeoutError says that the peer answered none of Count packets of the
// given code (Configure-Request or Terminate-Request).
type TimeoutError struct {
	Protocol Protocol
	Code     Code
	Count    int
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%v: peer answered none of %d %vs", e.Protocol, e.Count, e.Code)
}

// TerminatedError says that the peer closed the layer with a
// Terminate-Request. Data is what the peer put in it, often a reason in
// text ("User request").
type TerminatedError struct {
	Protocol Protocol
	Data     []byte
}

func (e *TerminatedError) Error() string {
	if len(e.Data) == 0 {
		return fmt.Sprintf("%v: peer sent Terminate-Request", e.Protocol)
	}
	return fmt.Sprintf("%v: peer sent Terminate-Request %q", e.Protocol, e.Data)
}

// RejectedError says that the peer refused something essential: a code
// the protocol cannot work without (Code-Reject, RFC 1661 section 5.6),
// or the protocol itself (Protocol-Reject, section 5.7).
type RejectedError struct {
	Protocol Protocol
	// By is CodeReject or ProtocolReject.
	By Code
	// Code is the rejected code when By is CodeReject.
	Code Code
}

func (e *RejectedError) Error() string {
	if e.By == ProtocolReject {
		return fmt.Sprintf("%v: peer sent Protocol-Reject: it does not speak %v", e.Protocol, e.Protocol)
	}
	return fmt.Sprintf("%v: peer sent Code-Reject for %v", e.Protocol, e.Code)
}

// maxTerminateData bounds the Terminate-Request text kept for logs.
const maxTerminateData = 64
