package pluginv2

import "google.golang.org/protobuf/proto"

// This file is written by hand: what plugin.proto's comments say about each
// Method, as code.

// NewRequest returns an empty request message of m; nil for a method this
// version does not know.
func (m Method) NewRequest() proto.Message {
	switch m {
	case Method_METHOD_DESCRIBE:
		return &DescribeRequest{}
	case Method_METHOD_CONFIGURE:
		return &ConfigureRequest{}
	case Method_METHOD_FRAGMENTS:
		return &FragmentsRequest{}
	case Method_METHOD_VERIFY_PLAINTEXT:
		return &VerifyPlaintextRequest{}
	case Method_METHOD_VERIFY_MSCHAPV2:
		return &VerifyMSCHAPv2Request{}
	case Method_METHOD_COMMIT:
		return &CommitRequest{}
	case Method_METHOD_LOOKUP:
		return &LookupRequest{}
	case Method_METHOD_HEALTH:
		return &HealthRequest{}
	case Method_METHOD_PING:
		return &PingRequest{}
	}
	return nil
}

// Name is m's name in logs and errors, and in protocol version 1's gRPC
// service gatehouse.plugin.v1.Backend: "VerifyPlaintext" for
// METHOD_VERIFY_PLAINTEXT.
func (m Method) Name() string {
	switch m {
	case Method_METHOD_DESCRIBE:
		return "Describe"
	case Method_METHOD_CONFIGURE:
		return "Configure"
	case Method_METHOD_FRAGMENTS:
		return "Fragments"
	case Method_METHOD_VERIFY_PLAINTEXT:
		return "VerifyPlaintext"
	case Method_METHOD_VERIFY_MSCHAPV2:
		return "VerifyMSCHAPv2"
	case Method_METHOD_COMMIT:
		return "Commit"
	case Method_METHOD_LOOKUP:
		return "Lookup"
	case Method_METHOD_HEALTH:
		return "Health"
	case Method_METHOD_PING:
		return "Ping"
	}
	return m.String()
}
