package gre

import "strconv"

// ParseErrorCode says why Parse rejected a packet. Callers that count or
// log rejected packets branch on it.
type ParseErrorCode uint8

// The reasons Parse rejects a packet, in the order it checks them.
const (
	// ParseTruncated: fewer octets than the header the flags announce
	// (8, 12 or 16).
	ParseTruncated ParseErrorCode = iota + 1
	// ParseBadVersion: Ver is not 1. Version 0 is plain GRE (RFC 2784),
	// not PPTP.
	ParseBadVersion
	// ParseBadProtocolType: Protocol Type is not 0x880B (PPP).
	ParseBadProtocolType
	// ParseNoKey: the K bit is clear, so there is no Call ID.
	ParseNoKey
	// ParseBadFlags: one of C, R, s, Recur or the reserved Flags bits is
	// set; PPTP requires them all zero.
	ParseBadFlags
	// ParsePayloadWithoutSequence: Payload Length is not zero but the S
	// bit is clear; the RFC sends a sequence number with every payload.
	ParsePayloadWithoutSequence
	// ParsePayloadTruncated: Payload Length is larger than the octets
	// after the header.
	ParsePayloadTruncated
)

var parseErrorCodeNames = [...]string{
	ParseTruncated:              "truncated header",
	ParseBadVersion:             "version is not 1",
	ParseBadProtocolType:        "protocol type is not PPP (0x880B)",
	ParseNoKey:                  "key bit not set",
	ParseBadFlags:               "C, R, s, Recur or reserved flag bits set",
	ParsePayloadWithoutSequence: "payload without sequence number",
	ParsePayloadTruncated:       "payload length exceeds packet",
}

// String returns a short description of c.
func (c ParseErrorCode) String() string {
	if int(c) < len(parseErrorCodeNames) && parseErrorCodeNames[c] != "" {
		return parseErrorCodeNames[c]
	}
	return "ParseErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// ParseError is the error Parse returns. Use errors.As to get the Code.
type ParseError struct {
	Code ParseErrorCode
}

func (e ParseError) Error() string { return "gre: " + e.Code.String() }

// The errors Parse returns, made once so that a rejected packet costs no
// allocation either.
var (
	errTruncated              error = ParseError{ParseTruncated}
	errBadVersion             error = ParseError{ParseBadVersion}
	errBadProtocolType        error = ParseError{ParseBadProtocolType}
	errNoKey                  error = ParseError{ParseNoKey}
	errBadFlags               error = ParseError{ParseBadFlags}
	errPayloadWithoutSequence error = ParseError{ParsePayloadWithoutSequence}
	errPayloadTruncated       error = ParseError{ParsePayloadTruncated}
)
