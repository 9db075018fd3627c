package pptp

// Call management and error reporting messages (RFC 2637 sections 2.7 to
// 2.15): setting calls up, clearing them, and telling the other side about
// a call's link.
//
// A Call ID is chosen by each side for its end of a call; the peer puts
// it in the GRE header of every data packet it sends for that call (the
// "Peer's Call ID" from the receiver's point of view).

// OutgoingCallRequest (OCRQ, section 2.7) asks the PAC to place a call.
// A Linux or Windows client, acting as PNS, sends it to the server after
// the control connection is up; the server answers with an
// OutgoingCallReply.
//
//	12 Call ID (2)                   14 Call Serial Number (2)
//	16 Minimum BPS (4)
//	20 Maximum BPS (4)
//	24 Bearer Type (4)
//	28 Framing Type (4)
//	32 Packet Recv. Window Size (2)  34 Packet Processing Delay (2)
//	36 Phone Number Length (2)       38 Reserved1 (2)
//	40 Phone Number (64)
//	104 Subaddress (64)              168
type OutgoingCallRequest struct {
	CallID                uint16 // the sender's Call ID for this call
	CallSerialNumber      uint16
	MinimumBPS            uint32
	MaximumBPS            uint32
	BearerType            BearerCapabilities  // both bits: either
	FramingType           FramingCapabilities // both bits: either
	PacketRecvWindowSize  uint16              // data packets the sender can buffer for this call
	PacketProcessingDelay uint16              // in 1/10 s
	PhoneNumberLength     uint16              // as sent; not derived from PhoneNumber
	PhoneNumber           string
	Subaddress            string
}

func (*OutgoingCallRequest) ControlMessageType() ControlMessageType { return TypeOutgoingCallRequest }

func (m *OutgoingCallRequest) appendBody(b []byte) []byte {
	b = appendU16(b, m.CallID)
	b = appendU16(b, m.CallSerialNumber)
	b = appendU32(b, m.MinimumBPS)
	b = appendU32(b, m.MaximumBPS)
	b = appendU32(b, uint32(m.BearerType))
	b = appendU32(b, uint32(m.FramingType))
	b = appendU16(b, m.PacketRecvWindowSize)
	b = appendU16(b, m.PacketProcessingDelay)
	b = appendU16(b, m.PhoneNumberLength)
	b = appendU16(b, 0) // Reserved1
	b = appendStr(b, m.PhoneNumber, PhoneNumberSize)
	return appendStr(b, m.Subaddress, SubaddressSize)
}

func (m *OutgoingCallRequest) decode(w []byte) {
	m.CallID = u16(w, 12)
	m.CallSerialNumber = u16(w, 14)
	m.MinimumBPS = u32(w, 16)
	m.MaximumBPS = u32(w, 20)
	m.BearerType = BearerCapabilities(u32(w, 24))
	m.FramingType = FramingCapabilities(u32(w, 28))
	m.PacketRecvWindowSize = u16(w, 32)
	m.PacketProcessingDelay = u16(w, 34)
	m.PhoneNumberLength = u16(w, 36)
	m.PhoneNumber = str(w, 40, PhoneNumberSize)
	m.Subaddress = str(w, 104, SubaddressSize)
}

// OutgoingCallReply (OCRP, section 2.8) answers an OutgoingCallRequest.
//
//	12 Call ID (2)                   14 Peer's Call ID (2)
//	16 Result Code (1)  17 Error Code (1)  18 Cause Code (2)
//	20 Connect Speed (4)
//	24 Packet Recv. Window Size (2)  26 Packet Processing Delay (2)
//	28 Physical Channel ID (4)       32
type OutgoingCallReply struct {
	CallID                uint16 // the sender's Call ID for this call
	PeerCallID            uint16 // the Call ID from the OutgoingCallRequest
	ResultCode            OutgoingCallResult
	ErrorCode             GeneralError
	CauseCode             uint16 // Q.931 cause, 0 when there is none
	ConnectSpeed          uint32 // bits per second
	PacketRecvWindowSize  uint16
	PacketProcessingDelay uint16
	PhysicalChannelID     uint32
}

func (*OutgoingCallReply) ControlMessageType() ControlMessageType { return TypeOutgoingCallReply }

func (m *OutgoingCallReply) appendBody(b []byte) []byte {
	b = appendU16(b, m.CallID)
	b = appendU16(b, m.PeerCallID)
	b = append(b, byte(m.ResultCode), byte(m.ErrorCode))
	b = appendU16(b, m.CauseCode)
	b = appendU32(b, m.ConnectSpeed)
	b = appendU16(b, m.PacketRecvWindowSize)
	b = appendU16(b, m.PacketProcessingDelay)
	return appendU32(b, m.PhysicalChannelID)
}

func (m *OutgoingCallReply) decode(w []byte) {
	m.CallID = u16(w, 12)
	m.PeerCallID = u16(w, 14)
	m.ResultCode = OutgoingCallResult(w[16])
	m.ErrorCode = GeneralError(w[17])
	m.CauseCode = u16(w, 18)
	m.ConnectSpeed = u32(w, 20)
	m.PacketRecvWindowSize = u16(w, 24)
	m.PacketProcessingDelay = u16(w, 26)
	m.PhysicalChannelID = u32(w, 28)
}

// IncomingCallRequest (ICRQ, section 2.9) tells the PNS that a call came
// in at the PAC. It is the longest control message.
//
//	12 Call ID (2)                   14 Call Serial Number (2)
//	16 Call Bearer Type (4)
//	20 Physical Channel ID (4)
//	24 Dialed Number Length (2)      26 Dialing Number Length (2)
//	28 Dialed Number (64)
//	92 Dialing Number (64)
//	156 Subaddress (64)              220
type IncomingCallRequest struct {
	CallID              uint16
	CallSerialNumber    uint16
	CallBearerType      BearerCapabilities
	PhysicalChannelID   uint32
	DialedNumberLength  uint16 // as sent; not derived from DialedNumber
	DialingNumberLength uint16 // as sent; not derived from DialingNumber
	DialedNumber        string
	DialingNumber       string
	Subaddress          string
}

func (*IncomingCallRequest) ControlMessageType() ControlMessageType { return TypeIncomingCallRequest }

func (m *IncomingCallRequest) appendBody(b []byte) []byte {
	b = appendU16(b, m.CallID)
	b = appendU16(b, m.CallSerialNumber)
	b = appendU32(b, uint32(m.CallBearerType))
	b = appendU32(b, m.PhysicalChannelID)
	b = appendU16(b, m.DialedNumberLength)
	b = appendU16(b, m.DialingNumberLength)
	b = appendStr(b, m.DialedNumber, PhoneNumberSize)
	b = appendStr(b, m.DialingNumber, PhoneNumberSize)
	return appendStr(b, m.Subaddress, SubaddressSize)
}

func (m *IncomingCallRequest) decode(w []byte) {
	m.CallID = u16(w, 12)
	m.CallSerialNumber = u16(w, 14)
	m.CallBearerType = BearerCapabilities(u32(w, 16))
	m.PhysicalChannelID = u32(w, 20)
	m.DialedNumberLength = u16(w, 24)
	m.DialingNumberLength = u16(w, 26)
	m.DialedNumber = str(w, 28, PhoneNumberSize)
	m.DialingNumber = str(w, 92, PhoneNumberSize)
	m.Subaddress = str(w, 156, SubaddressSize)
}

// IncomingCallReply (ICRP, section 2.10) answers an IncomingCallRequest.
//
//	12 Call ID (2)                   14 Peer's Call ID (2)
//	16 Result Code (1)  17 Error Code (1)  18 Packet Recv. Window Size (2)
//	20 Packet Transmit Delay (2)     22 Reserved1 (2)    24
type IncomingCallReply struct {
	CallID               uint16
	PeerCallID           uint16
	ResultCode           IncomingCallResult
	ErrorCode            GeneralError
	PacketRecvWindowSize uint16
	PacketTransmitDelay  uint16
}

func (*IncomingCallReply) ControlMessageType() ControlMessageType { return TypeIncomingCallReply }

func (m *IncomingCallReply) appendBody(b []byte) []byte {
	b = appendU16(b, m.CallID)
	b = appendU16(b, m.PeerCallID)
	b = append(b, byte(m.ResultCode), byte(m.ErrorCode))
	b = appendU16(b, m.PacketRecvWindowSize)
	b = appendU16(b, m.PacketTransmitDelay)
	return appendU16(b, 0) // Reserved1
}

func (m *IncomingCallReply) decode(w []byte) {
	m.CallID = u16(w, 12)
	m.PeerCallID = u16(w, 14)
	m.ResultCode = IncomingCallResult(w[16])
	m.ErrorCode = GeneralError(w[17])
	m.PacketRecvWindowSize = u16(w, 18)
	m.PacketTransmitDelay = u16(w, 20)
}

// IncomingCallConnected (ICCN, section 2.11) completes the three-way
// handshake of an incoming call.
//
//	12 Peer's Call ID (2)            14 Reserved1 (2)
//	16 Connect Speed (4)
//	20 Packet Recv. Window Size (2)  22 Packet Transmit Delay (2)
//	24 Framing Type (4)              28
type IncomingCallConnected struct {
	PeerCallID           uint16
	ConnectSpeed         uint32
	PacketRecvWindowSize uint16
	PacketTransmitDelay  uint16
	FramingType          FramingCapabilities
}

func (*IncomingCallConnected) ControlMessageType() ControlMessageType {
	return TypeIncomingCallConnected
}

func (m *IncomingCallConnected) appendBody(b []byte) []byte {
	b = appendU16(b, m.PeerCallID)
	b = appendU16(b, 0) // Reserved1
	b = appendU32(b, m.ConnectSpeed)
	b = appendU16(b, m.PacketRecvWindowSize)
	b = appendU16(b, m.PacketTransmitDelay)
	return appendU32(b, uint32(m.FramingType))
}

func (m *IncomingCallConnected) decode(w []byte) {
	m.PeerCallID = u16(w, 12)
	m.ConnectSpeed = u32(w, 16)
	m.PacketRecvWindowSize = u16(w, 20)
	m.PacketTransmitDelay = u16(w, 22)
	m.FramingType = FramingCapabilities(u32(w, 24))
}

// CallClearRequest (CCRQ, section 2.12) asks the PAC to clear a call; the
// PAC answers with a CallDisconnectNotify. The Call ID is the sender's
// own (the PNS's), not the peer's.
//
//	12 Call ID (2)   14 Reserved1 (2)   16
type CallClearRequest struct {
	CallID uint16
}

func (*CallClearRequest) ControlMessageType() ControlMessageType { return TypeCallClearRequest }

func (m *CallClearRequest) appendBody(b []byte) []byte {
	b = appendU16(b, m.CallID)
	return appendU16(b, 0) // Reserved1
}

func (m *CallClearRequest) decode(w []byte) { m.CallID = u16(w, 12) }

// CallDisconnectNotify (CDN, section 2.13) tells the PNS that a call is
// gone, whether because of a CallClearRequest or for any other reason.
// The Call ID is the sender's own (the PAC's).
//
//	12 Call ID (2)    14 Result Code (1)  15 Error Code (1)
//	16 Cause Code (2) 18 Reserved1 (2)
//	20 Call Statistics (128)              148
type CallDisconnectNotify struct {
	CallID         uint16
	ResultCode     CallDisconnectResult
	ErrorCode      GeneralError
	CauseCode      uint16
	CallStatistics string // vendor-specific text, at most CallStatisticsSize octets
}

func (*CallDisconnectNotify) ControlMessageType() ControlMessageType {
	return TypeCallDisconnectNotify
}

func (m *CallDisconnectNotify) appendBody(b []byte) []byte {
	b = appendU16(b, m.CallID)
	b = append(b, byte(m.ResultCode), byte(m.ErrorCode))
	b = appendU16(b, m.CauseCode)
	b = appendU16(b, 0) // Reserved1
	return appendStr(b, m.CallStatistics, CallStatisticsSize)
}

func (m *CallDisconnectNotify) decode(w []byte) {
	m.CallID = u16(w, 12)
	m.ResultCode = CallDisconnectResult(w[14])
	m.ErrorCode = GeneralError(w[15])
	m.CauseCode = u16(w, 16)
	m.CallStatistics = str(w, 20, CallStatisticsSize)
}

// WANErrorNotify (WEN, section 2.14) reports the PAC's cumulative WAN
// error counters for a call.
//
//	12 Peer's Call ID (2)  14 Reserved1 (2)
//	16 CRC Errors (4)      20 Framing Errors (4)
//	24 Hardware Overruns (4)  28 Buffer Overruns (4)
//	32 Time-out Errors (4)    36 Alignment Errors (4)   40
type WANErrorNotify struct {
	PeerCallID       uint16
	CRCErrors        uint32
	FramingErrors    uint32
	HardwareOverruns uint32
	BufferOverruns   uint32
	TimeoutErrors    uint32
	AlignmentErrors  uint32
}

func (*WANErrorNotify) ControlMessageType() ControlMessageType { return TypeWANErrorNotify }

func (m *WANErrorNotify) appendBody(b []byte) []byte {
	b = appendU16(b, m.PeerCallID)
	b = appendU16(b, 0) // Reserved1
	b = appendU32(b, m.CRCErrors)
	b = appendU32(b, m.FramingErrors)
	b = appendU32(b, m.HardwareOverruns)
	b = appendU32(b, m.BufferOverruns)
	b = appendU32(b, m.TimeoutErrors)
	return appendU32(b, m.AlignmentErrors)
}

func (m *WANErrorNotify) decode(w []byte) {
	m.PeerCallID = u16(w, 12)
	m.CRCErrors = u32(w, 16)
	m.FramingErrors = u32(w, 20)
	m.HardwareOverruns = u32(w, 24)
	m.BufferOverruns = u32(w, 28)
	m.TimeoutErrors = u32(w, 32)
	m.AlignmentErrors = u32(w, 36)
}

// SetLinkInfo (SLI, section 2.15) passes the PPP-negotiated async control
// character maps of a call from the PNS to the PAC. Windows clients send
// it after LCP negotiation; over an IP tunnel the maps mean nothing, and a
// server reads and ignores them.
//
//	12 Peer's Call ID (2)  14 Reserved1 (2)
//	16 Send ACCM (4)
//	20 Receive ACCM (4)    24
type SetLinkInfo struct {
	PeerCallID  uint16
	SendACCM    uint32
	ReceiveACCM uint32
}

func (*SetLinkInfo) ControlMessageType() ControlMessageType { return TypeSetLinkInfo }

func (m *SetLinkInfo) appendBody(b []byte) []byte {
	b = appendU16(b, m.PeerCallID)
	b = appendU16(b, 0) // Reserved1
	b = appendU32(b, m.SendACCM)
	return appendU32(b, m.ReceiveACCM)
}

func (m *SetLinkInfo) decode(w []byte) {
	m.PeerCallID = u16(w, 12)
	m.SendACCM = u32(w, 16)
	m.ReceiveACCM = u32(w, 20)
}
