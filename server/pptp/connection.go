package pptp

// Control connection management messages (RFC 2637 sections 2.1 to 2.6):
// establishing, keeping alive and tearing down the control connection.

// Sizes of the fixed-size string fields. Strings are decoded up to the
// first NUL and encoded cut to size and padded with NULs.
const (
	HostNameSize       = 64
	VendorStringSize   = 64
	PhoneNumberSize    = 64
	SubaddressSize     = 64
	CallStatisticsSize = 128
)

// StartControlConnectionRequest (SCCRQ, section 2.1) opens the control
// connection. A Linux or Windows client sends it first; the server
// answers with a StartControlConnectionReply.
//
//	12 Protocol Version (2)      14 Reserved1 (2)
//	16 Framing Capabilities (4)
//	20 Bearer Capabilities (4)
//	24 Maximum Channels (2)      26 Firmware Revision (2)
//	28 Host Name (64)
//	92 Vendor String (64)        156
type StartControlConnectionRequest struct {
	ProtocolVersion     uint16 // ProtocolVersion (0x0100)
	FramingCapabilities FramingCapabilities
	BearerCapabilities  BearerCapabilities
	MaximumChannels     uint16 // total calls the sender supports; a PNS sets 0
	FirmwareRevision    uint16
	HostName            string // DNS name of the sender, at most HostNameSize octets
	VendorString        string // vendor and version of the software, at most VendorStringSize octets
}

func (*StartControlConnectionRequest) ControlMessageType() ControlMessageType {
	return TypeStartControlConnectionRequest
}

func (m *StartControlConnectionRequest) appendBody(b []byte) []byte {
	b = appendU16(b, m.ProtocolVersion)
	b = appendU16(b, 0) // Reserved1
	b = appendU32(b, uint32(m.FramingCapabilities))
	b = appendU32(b, uint32(m.BearerCapabilities))
	b = appendU16(b, m.MaximumChannels)
	b = appendU16(b, m.FirmwareRevision)
	b = appendStr(b, m.HostName, HostNameSize)
	return appendStr(b, m.VendorString, VendorStringSize)
}

func (m *StartControlConnectionRequest) decode(w []byte) {
	m.ProtocolVersion = u16(w, 12)
	m.FramingCapabilities = FramingCapabilities(u32(w, 16))
	m.BearerCapabilities = BearerCapabilities(u32(w, 20))
	m.MaximumChannels = u16(w, 24)
	m.FirmwareRevision = u16(w, 26)
	m.HostName = str(w, 28, HostNameSize)
	m.VendorString = str(w, 92, VendorStringSize)
}

// StartControlConnectionReply (SCCRP, section 2.2) answers a
// StartControlConnectionRequest.
//
//	12 Protocol Version (2)      14 Result Code (1)  15 Error Code (1)
//	16 Framing Capability (4)
//	20 Bearer Capability (4)
//	24 Maximum Channels (2)      26 Firmware Revision (2)
//	28 Host Name (64)
//	92 Vendor String (64)        156
type StartControlConnectionReply struct {
	ProtocolVersion     uint16
	ResultCode          StartControlConnectionResult
	ErrorCode           GeneralError
	FramingCapabilities FramingCapabilities
	BearerCapabilities  BearerCapabilities
	MaximumChannels     uint16
	FirmwareRevision    uint16
	HostName            string
	VendorString        string
}

func (*StartControlConnectionReply) ControlMessageType() ControlMessageType {
	return TypeStartControlConnectionReply
}

func (m *StartControlConnectionReply) appendBody(b []byte) []byte {
	b = appendU16(b, m.ProtocolVersion)
	b = append(b, byte(m.ResultCode), byte(m.ErrorCode))
	b = appendU32(b, uint32(m.FramingCapabilities))
	b = appendU32(b, uint32(m.BearerCapabilities))
	b = appendU16(b, m.MaximumChannels)
	b = appendU16(b, m.FirmwareRevision)
	b = appendStr(b, m.HostName, HostNameSize)
	return appendStr(b, m.VendorString, VendorStringSize)
}

func (m *StartControlConnectionReply) decode(w []byte) {
	m.ProtocolVersion = u16(w, 12)
	m.ResultCode = StartControlConnectionResult(w[14])
	m.ErrorCode = GeneralError(w[15])
	m.FramingCapabilities = FramingCapabilities(u32(w, 16))
	m.BearerCapabilities = BearerCapabilities(u32(w, 20))
	m.MaximumChannels = u16(w, 24)
	m.FirmwareRevision = u16(w, 26)
	m.HostName = str(w, 28, HostNameSize)
	m.VendorString = str(w, 92, VendorStringSize)
}

// StopControlConnectionRequest (StopCCRQ, section 2.3) closes the control
// connection and, with it, every call on it.
//
//	12 Reason (1)  13 Reserved1 (1)  14 Reserved2 (2)   16
type StopControlConnectionRequest struct {
	Reason StopControlConnectionReason
}

func (*StopControlConnectionRequest) ControlMessageType() ControlMessageType {
	return TypeStopControlConnectionRequest
}

func (m *StopControlConnectionRequest) appendBody(b []byte) []byte {
	return append(b, byte(m.Reason), 0, 0, 0)
}

func (m *StopControlConnectionRequest) decode(w []byte) {
	m.Reason = StopControlConnectionReason(w[12])
}

// StopControlConnectionReply (StopCCRP, section 2.4) answers a
// StopControlConnectionRequest.
//
//	12 Result Code (1)  13 Error Code (1)  14 Reserved1 (2)   16
type StopControlConnectionReply struct {
	ResultCode StopControlConnectionResult
	ErrorCode  GeneralError
}

func (*StopControlConnectionReply) ControlMessageType() ControlMessageType {
	return TypeStopControlConnectionReply
}

func (m *StopControlConnectionReply) appendBody(b []byte) []byte {
	return append(b, byte(m.ResultCode), byte(m.ErrorCode), 0, 0)
}

func (m *StopControlConnectionReply) decode(w []byte) {
	m.ResultCode = StopControlConnectionResult(w[12])
	m.ErrorCode = GeneralError(w[13])
}

// EchoRequest (ECHORQ, section 2.5) is the keep-alive of the control
// connection; the peer answers with an EchoReply carrying the same
// Identifier.
//
//	12 Identifier (4)   16
type EchoRequest struct {
	Identifier uint32
}

func (*EchoRequest) ControlMessageType() ControlMessageType { return TypeEchoRequest }

func (m *EchoRequest) appendBody(b []byte) []byte { return appendU32(b, m.Identifier) }

func (m *EchoRequest) decode(w []byte) { m.Identifier = u32(w, 12) }

// EchoReply (ECHORP, section 2.6) answers an EchoRequest.
//
//	12 Identifier (4)
//	16 Result Code (1)  17 Error Code (1)  18 Reserved1 (2)   20
type EchoReply struct {
	Identifier uint32 // copied from the EchoRequest
	ResultCode EchoResult
	ErrorCode  GeneralError
}

func (*EchoReply) ControlMessageType() ControlMessageType { return TypeEchoReply }

func (m *EchoReply) appendBody(b []byte) []byte {
	b = appendU32(b, m.Identifier)
	return append(b, byte(m.ResultCode), byte(m.ErrorCode), 0, 0)
}

func (m *EchoReply) decode(w []byte) {
	m.Identifier = u32(w, 12)
	m.ResultCode = EchoResult(w[16])
	m.ErrorCode = GeneralError(w[17])
}
