package dae

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"time"

	lr "layeh.com/radius"
)

// Attribute types a Disconnect- or CoA-Request may carry (RFC 5176
// section 3.6); the RFC that defines each is named.
const (
	typeUserName           = 1   // RFC 2865 section 5.1
	typeNASIPAddress       = 4   // RFC 2865 section 5.4
	typeServiceType        = 6   // RFC 2865 section 5.6
	typeFramedIPAddress    = 8   // RFC 2865 section 5.8
	typeFilterID           = 11  // RFC 2865 section 5.11
	typeSessionTimeout     = 27  // RFC 2865 section 5.27
	typeState              = 24  // RFC 2865 section 5.24
	typeIdleTimeout        = 28  // RFC 2865 section 5.28
	typeCallingStationID   = 31  // RFC 2865 section 5.31
	typeNASIdentifier      = 32  // RFC 2865 section 5.32
	typeProxyState         = 33  // RFC 2865 section 5.33
	typeAcctSessionID      = 44  // RFC 2866 section 5.5
	typeAcctTerminateCause = 49  // RFC 2866 section 5.10
	typeEventTimestamp     = 55  // RFC 2869 section 5.3
	typeMessageAuth        = 80  // RFC 3579 section 3.2
	typeNASIPv6Address     = 95  // RFC 3162 section 2.1
	typeErrorCause         = 101 // RFC 5176 section 3.5
)

// serviceTypeAuthorizeOnly is the Service-Type of RFC 5176 section 3.2.
const serviceTypeAuthorizeOnly = 17

// Request is a Disconnect-Request or CoA-Request that passed every check
// the server makes; the Handler decides the rest. Absent attributes are
// zero values: the server refuses empty strings and zero timeouts, so a
// zero value always means "not sent".
type Request struct {
	// Code is lr.CodeDisconnectRequest or lr.CodeCoARequest.
	Code lr.Code
	// Source is the sender (the Dynamic Authorization Client, normally a
	// RADIUS server); Client is the configured prefix it matched.
	Source     netip.AddrPort
	Client     netip.Prefix
	Identifier byte

	// Session identification (RFC 5176 section 3): at least one is set.
	// Which sessions they select is the Handler's decision; all that are
	// set must match.
	User           string     // User-Name
	SessionID      string     // Acct-Session-Id
	CallingStation string     // Calling-Station-Id
	FramedIP       netip.Addr // Framed-IP-Address

	// NAS identification (RFC 5176 section 3): the server has checked
	// these against Config.NASIdentifier and Config.NASAddresses.
	NASIP         netip.Addr // NAS-IP-Address
	NASIPv6       netip.Addr // NAS-IPv6-Address
	NASIdentifier string     // NAS-Identifier

	// Authorization changes, CoA-Request only: at least one is set.
	FilterID       string        // Filter-Id: the firewall policy to apply
	SessionTimeout time.Duration // Session-Timeout, whole seconds, >= 1s
	IdleTimeout    time.Duration // Idle-Timeout, whole seconds, >= 1s

	// TerminateCause is the Acct-Terminate-Cause of a Disconnect-Request
	// (RFC 2866 section 5.10), for the session's accounting Stop; 0 when
	// absent.
	TerminateCause uint32
	// EventTime is the Event-Timestamp (RFC 2869 section 5.3), already
	// checked to lie within Config.ReplayWindow of the server's clock.
	EventTime time.Time
}

// LogValue lists the attributes that were sent.
func (r *Request) LogValue() slog.Value {
	as := []slog.Attr{slog.String("code", r.Code.String()), slog.String("from", r.Source.String())}
	str := func(k, v string) {
		if v != "" {
			as = append(as, slog.String(k, v))
		}
	}
	addr := func(k string, v netip.Addr) {
		if v.IsValid() {
			as = append(as, slog.String(k, v.String()))
		}
	}
	dur := func(k string, v time.Duration) {
		if v != 0 {
			as = append(as, slog.Duration(k, v))
		}
	}
	str("user", r.User)
	str("session_id", r.SessionID)
	str("calling_station", r.CallingStation)
	addr("framed_ip", r.FramedIP)
	addr("nas_ip", r.NASIP)
	addr("nas_ipv6", r.NASIPv6)
	str("nas_identifier", r.NASIdentifier)
	str("filter_id", r.FilterID)
	dur("session_timeout", r.SessionTimeout)
	dur("idle_timeout", r.IdleTimeout)
	if r.TerminateCause != 0 {
		as = append(as, slog.Uint64("terminate_cause", uint64(r.TerminateCause)))
	}
	if !r.EventTime.IsZero() {
		as = append(as, slog.Time("event_timestamp", r.EventTime))
	}
	return slog.GroupValue(as...)
}

// identified reports whether r carries any session identification.
func (r *Request) identified() bool {
	return r.User != "" || r.SessionID != "" || r.CallingStation != "" || r.FramedIP.IsValid()
}

// changes reports whether r carries any authorization change.
func (r *Request) changes() bool {
	return r.FilterID != "" || r.SessionTimeout != 0 || r.IdleTimeout != 0
}

// parse decodes the attributes of an authenticated request of code into
// r. It returns the first problem in packet order as an *Error to NAK
// with: an attribute Gatehouse does not act on is 401 Unsupported
// Attribute (RFC 5176 section 3: a NAS that cannot honour every attribute
// refuses the whole request); a second instance of a single-valued one is
// 404 Invalid Request; a value of the wrong size, an empty string or a
// zero timeout is 407 Invalid Attribute Value; any Service-Type
// (Authorize Only, section 3.2, or another) is 405 Unsupported Service.
// Event-Timestamp and Message-Authenticator have been checked by then;
// Proxy-State and State are only echoed (RFC 5176 sections 3.1, 3.3).
func parse(r *Request, code lr.Code, attrs []attr) *Error {
	var seen [256]bool
	for _, a := range attrs {
		if a.typ != typeProxyState {
			if seen[a.typ] {
				return errorf(InvalidRequest, "attribute %d sent more than once", a.typ)
			}
			seen[a.typ] = true
		}
		if err := r.set(code, a); err != nil {
			return err
		}
	}
	return nil
}

// set stores one attribute in r.
func (r *Request) set(code lr.Code, a attr) *Error {
	coa := code == lr.CodeCoARequest
	switch a.typ {
	case typeProxyState, typeMessageAuth, typeEventTimestamp, typeState:
		// Checked before, or echoed in the answer without being
		// interpreted (State, RFC 5176 section 3.3).
		return nil
	case typeUserName:
		return text(&r.User, a, "User-Name")
	case typeAcctSessionID:
		return text(&r.SessionID, a, "Acct-Session-Id")
	case typeCallingStationID:
		return text(&r.CallingStation, a, "Calling-Station-Id")
	case typeNASIdentifier:
		return text(&r.NASIdentifier, a, "NAS-Identifier")
	case typeFramedIPAddress:
		return address(&r.FramedIP, a, 4, "Framed-IP-Address")
	case typeNASIPAddress:
		return address(&r.NASIP, a, 4, "NAS-IP-Address")
	case typeNASIPv6Address:
		return address(&r.NASIPv6, a, 16, "NAS-IPv6-Address")
	case typeServiceType:
		if v, ok := integer(a); ok && v == serviceTypeAuthorizeOnly {
			return errorf(UnsupportedService, "Service-Type Authorize-Only is not supported: send the new authorization in the %s itself", code)
		}
		return errorf(UnsupportedService, "Service-Type is not supported in a %s", code)
	case typeAcctTerminateCause:
		if coa {
			break
		}
		v, ok := integer(a)
		if !ok || v == 0 {
			return errorf(InvalidAttributeValue, "Acct-Terminate-Cause is not a non-zero 4-octet integer")
		}
		r.TerminateCause = v
		return nil
	case typeFilterID:
		if coa {
			return text(&r.FilterID, a, "Filter-Id")
		}
	case typeSessionTimeout:
		if coa {
			return seconds(&r.SessionTimeout, a, "Session-Timeout")
		}
	case typeIdleTimeout:
		if coa {
			return seconds(&r.IdleTimeout, a, "Idle-Timeout")
		}
	}
	return errorf(UnsupportedAttribute, "attribute %d is not supported in a %s", a.typ, code)
}

func text(dst *string, a attr, name string) *Error {
	if len(a.val) == 0 {
		return errorf(InvalidAttributeValue, "%s is empty", name)
	}
	*dst = string(a.val)
	return nil
}

func address(dst *netip.Addr, a attr, size int, name string) *Error {
	ip, ok := netip.AddrFromSlice(a.val)
	if !ok || len(a.val) != size || ip.IsUnspecified() {
		return errorf(InvalidAttributeValue, "%s is not a %d-octet address", name, size)
	}
	*dst = ip
	return nil
}

func seconds(dst *time.Duration, a attr, name string) *Error {
	v, ok := integer(a)
	if !ok || v == 0 {
		return errorf(InvalidAttributeValue, "%s is not a positive 4-octet integer", name)
	}
	*dst = time.Duration(v) * time.Second
	return nil
}

func integer(a attr) (uint32, bool) {
	if len(a.val) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(a.val), true
}

// eventTimestamp finds the Event-Timestamp of a request: ok is false when
// there is none; a second one or one that is not 4 octets is errMalformed.
func eventTimestamp(attrs []attr) (t time.Time, ok bool, err error) {
	for _, a := range attrs {
		if a.typ != typeEventTimestamp {
			continue
		}
		v, good := integer(a)
		if !good || ok {
			return time.Time{}, false, errMalformed
		}
		t, ok = time.Unix(int64(v), 0), true
	}
	return t, ok, nil
}
