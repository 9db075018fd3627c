package dae

import (
	"fmt"

	lr "layeh.com/radius"
)

//go:generate go run golang.org/x/tools/cmd/stringer@v0.52.0 -type=ErrorCause -linecomment

// ErrorCause is the value of the Error-Cause attribute (RFC 5176 section
// 3.5). Values 200 to 299 are successes and go into an ACK; 400 to 499
// are errors in the request (the sender should fix it, not retry it as
// is); 500 to 599 are errors on this side. String returns the name that
// FreeRADIUS's dictionary (and so radclient) prints.
type ErrorCause uint32

// Error-Cause values, RFC 5176 section 3.5.
const (
	ResidualSessionContextRemoved       ErrorCause = 201 // Residual-Context-Removed
	InvalidEAPPacket                    ErrorCause = 202 // Invalid-EAP-Packet
	UnsupportedAttribute                ErrorCause = 401 // Unsupported-Attribute
	MissingAttribute                    ErrorCause = 402 // Missing-Attribute
	NASIdentificationMismatch           ErrorCause = 403 // NAS-Identification-Mismatch
	InvalidRequest                      ErrorCause = 404 // Invalid-Request
	UnsupportedService                  ErrorCause = 405 // Unsupported-Service
	UnsupportedExtension                ErrorCause = 406 // Unsupported-Extension
	InvalidAttributeValue               ErrorCause = 407 // Invalid-Attribute-Value
	AdministrativelyProhibited          ErrorCause = 501 // Administratively-Prohibited
	RequestNotRoutable                  ErrorCause = 502 // Proxy-Request-Not-Routable
	SessionContextNotFound              ErrorCause = 503 // Session-Context-Not-Found
	SessionContextNotRemovable          ErrorCause = 504 // Session-Context-Not-Removable
	OtherProxyProcessingError           ErrorCause = 505 // Proxy-Processing-Error
	ResourcesUnavailable                ErrorCause = 506 // Resources-Unavailable
	RequestInitiated                    ErrorCause = 507 // Request-Initiated
	MultipleSessionSelectionUnsupported ErrorCause = 508 // Multiple-Session-Selection-Unsupported
)

// success reports whether c belongs in an ACK (2xx) rather than a NAK.
func (c ErrorCause) success() bool { return c >= 200 && c < 300 }

// allowed reports whether a NAS may send c in the answer to a request of
// code (RFC 5176 section 3.5): 0-199 and 300-399 are reserved; 202
// Invalid EAP Packet is never sent; 502 and 505 are for proxies, and 507
// answers an Authorize Only request, which Gatehouse does not support;
// 201 Residual Session Context Removed and 504 Session Context Not
// Removable only answer a Disconnect-Request.
func (c ErrorCause) allowed(code lr.Code) bool {
	switch c {
	case InvalidEAPPacket, RequestNotRoutable, OtherProxyProcessingError, RequestInitiated:
		return false
	case ResidualSessionContextRemoved, SessionContextNotRemovable:
		return code == lr.CodeDisconnectRequest
	}
	return c.success() || c >= 400 && c < 600
}

// Error is what a Handler returns to refuse a request: the server answers
// with a NAK carrying Cause (or, for a 2xx Cause, an ACK carrying it).
// Msg is for the gateway's log only; it is not sent.
type Error struct {
	Cause ErrorCause
	Msg   string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("dae: %s (%d)", e.Cause, uint32(e.Cause))
	}
	return fmt.Sprintf("dae: %s (%d): %s", e.Cause, uint32(e.Cause), e.Msg)
}

// errorf is an *Error with a formatted message.
func errorf(c ErrorCause, format string, args ...any) *Error {
	return &Error{Cause: c, Msg: fmt.Sprintf(format, args...)}
}
