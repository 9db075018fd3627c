package lcp

import (
	"errors"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// CHAP algorithms in the Authentication-Protocol option: RFC 1994
// section 3 (MD5), RFC 2433 section 2 (MS-CHAPv1), RFC 2759 section 2
// (MS-CHAPv2).
const (
	AlgorithmMD5      = 0x05
	AlgorithmMSCHAPv1 = 0x80
	AlgorithmMSCHAPv2 = 0x81
)

// AuthMethod is an authentication method LCP can negotiate.
type AuthMethod uint8

// The methods. Only MS-CHAPv2 is on by default; the others are weaker
// still and must be enabled by the operator.
const (
	MSCHAPv2 AuthMethod = iota + 1
	MSCHAPv1
	CHAPMD5
	PAP
)

func (m AuthMethod) String() string {
	switch m {
	case MSCHAPv2:
		return "MS-CHAPv2"
	case MSCHAPv1:
		return "MS-CHAPv1"
	case CHAPMD5:
		return "CHAP-MD5"
	case PAP:
		return "PAP"
	}
	return fmt.Sprintf("AuthMethod(%d)", uint8(m))
}

// Option returns the Authentication-Protocol option that asks for m.
func (m AuthMethod) Option() AuthProtocol {
	switch m {
	case MSCHAPv2:
		return AuthProtocol{Protocol: ppp.ProtoCHAP, Data: []byte{AlgorithmMSCHAPv2}}
	case MSCHAPv1:
		return AuthProtocol{Protocol: ppp.ProtoCHAP, Data: []byte{AlgorithmMSCHAPv1}}
	case CHAPMD5:
		return AuthProtocol{Protocol: ppp.ProtoCHAP, Data: []byte{AlgorithmMD5}}
	case PAP:
		return AuthProtocol{Protocol: ppp.ProtoPAP}
	}
	panic(fmt.Sprintf("lcp: no option for %v", m))
}

// Setting names the configuration key that enables m for PPTP, or ""
// for MS-CHAPv2, which is always on.
func (m AuthMethod) Setting() string {
	switch m {
	case PAP:
		return "pptp.auth.pap"
	case CHAPMD5:
		return "pptp.auth.chap_md5"
	case MSCHAPv1:
		return "pptp.auth.mschapv1"
	}
	return ""
}

// ErrAuthRejected is the reason LCP closes when the peer Configure-Rejects
// the Authentication-Protocol option: it will not authenticate at all.
var ErrAuthRejected = errors.New("peer refuses every authentication method offered (it rejected the Authentication-Protocol option): a client set to PAP, CHAP-MD5 or MS-CHAPv1 only does this, and those are refused unless enabled")

// ErrLoopedBack is the reason LCP closes when it keeps receiving its own
// Magic-Number (RFC 1661 section 6.4).
var ErrLoopedBack = errors.New("link is looped back: LCP keeps receiving its own Magic-Number")

// AuthRefusedError is the reason LCP closes when the peer kept Naking our
// Authentication-Protocol for Max-Failure rounds, insisting on a method
// the server refuses.
type AuthRefusedError struct {
	// Insisted is what the peer's last Configure-Nak asked for.
	Insisted AuthProtocol
	// Allowed is true when the policy allows that method: the peer
	// Naked the very method it asks for, which no offer can satisfy.
	Allowed bool
	// Rejected is true when the peer ended by Configure-Rejecting the
	// Authentication-Protocol option (as pppd does after its own
	// max-failure) rather than Naking it Max-Failure times; errors.Is
	// then also matches ErrAuthRejected.
	Rejected bool
}

func (e *AuthRefusedError) Error() string {
	m := e.Insisted.Method()
	var s string
	switch {
	case e.Allowed:
		s = fmt.Sprintf("peer keeps refusing %v although it asks for it", m)
	case m.Setting() != "":
		s = fmt.Sprintf("peer insists on %v, which is refused (enable %s to allow it)", m, m.Setting())
	case m != 0:
		s = fmt.Sprintf("peer insists on %v, which is refused", m)
	default:
		s = fmt.Sprintf("peer insists on %v, which is not supported", e.Insisted)
	}
	if e.Rejected {
		s += ", and then rejected the Authentication-Protocol option"
	}
	return s
}

// Unwrap makes a refusal that ended in a Configure-Reject match
// ErrAuthRejected.
func (e *AuthRefusedError) Unwrap() error {
	if e.Rejected {
		return ErrAuthRejected
	}
	return nil
}
