package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/v1relay"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// raw speaks the protocol without the SDK, as a plugin in another language
// would, and breaks it on purpose, chosen by the user name:
//
//	short-key   VerifyMSCHAPv2 accepts with a 15-byte password_hash_hash
//	bad-auth    VerifyMSCHAPv2 accepts with a malformed authenticator response
//	short-mppe  VerifyMSCHAPv2 accepts with a 15-byte MPPE send key
//	no-proof    VerifyMSCHAPv2 accepts without proof
//	empty       Fragments returns an empty secret
//	long        Fragments returns a 7-byte secret (6 declared)
//	no-verdict  VerifyPlaintext answers without a verdict
//	leak        VerifyPlaintext fails with the secret in the message
//	down        VerifyPlaintext fails with UNAVAILABLE, process alive
//	hang        VerifyPlaintext never answers
//	garbage     VerifyPlaintext writes bytes that are not a frame onto the
//	            channel, then accepts (version 2 only)
//
// Under version 1 it is served by package v1relay as gRPC service
// gatehouse.plugin.v1.Backend; under version 2 on the channel.
type raw struct {
	conn net.Conn // the channel, under version 2
}

func (r *raw) NewRequest(m pluginv2.Method) proto.Message { return m.NewRequest() }

func (r *raw) Serve(ctx context.Context, m pluginv2.Method, req proto.Message) (proto.Message, error) {
	switch q := req.(type) {
	case *pluginv2.DescribeRequest:
		return &pluginv2.DescribeResponse{
			Name:    "raw",
			Version: "0",
			Capabilities: []pluginv2.Capability{
				pluginv2.Capability_CAPABILITY_FRAGMENTS,
				pluginv2.Capability_CAPABILITY_VERIFY_PLAINTEXT,
				pluginv2.Capability_CAPABILITY_VERIFY_MSCHAPV2,
				pluginv2.Capability(99), // from a future version: ignored
			},
			FragmentLengths: []uint32{6},
		}, nil
	case *pluginv2.ConfigureRequest:
		return &pluginv2.ConfigureResponse{Ok: true}, nil
	case *pluginv2.HealthRequest:
		return &pluginv2.HealthResponse{Ok: true}, nil
	case *pluginv2.VerifyMSCHAPv2Request:
		return verifyMSCHAPv2(q), nil
	case *pluginv2.FragmentsRequest:
		return fragments(q), nil
	case *pluginv2.VerifyPlaintextRequest:
		return r.verifyPlaintext(ctx, q)
	}
	return nil, &channel.RemoteError{Code: pluginv2.Code_CODE_UNIMPLEMENTED, Message: "raw does not serve " + m.Name()}
}

var ok = &pluginv2.Verdict{Ok: true}

func verifyMSCHAPv2(r *pluginv2.VerifyMSCHAPv2Request) *pluginv2.VerifyMSCHAPv2Response {
	k16 := make([]byte, 16)
	goodAuth := "S=" + strings.Repeat("AB", 20)
	switch r.GetUser() {
	case "short-key":
		return &pluginv2.VerifyMSCHAPv2Response{Verdict: ok,
			Proof: &pluginv2.VerifyMSCHAPv2Response_PasswordHashHash{PasswordHashHash: make([]byte, 15)}}
	case "bad-auth":
		return &pluginv2.VerifyMSCHAPv2Response{Verdict: ok, Proof: &pluginv2.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv2.AuthenticatorResult{AuthenticatorResponse: "S=zz", MppeSendKey: k16, MppeRecvKey: k16}}}
	case "short-mppe":
		return &pluginv2.VerifyMSCHAPv2Response{Verdict: ok, Proof: &pluginv2.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv2.AuthenticatorResult{AuthenticatorResponse: goodAuth, MppeSendKey: make([]byte, 15), MppeRecvKey: k16}}}
	case "no-proof":
		return &pluginv2.VerifyMSCHAPv2Response{Verdict: ok}
	case "delegated":
		return &pluginv2.VerifyMSCHAPv2Response{Verdict: ok, Proof: &pluginv2.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv2.AuthenticatorResult{AuthenticatorResponse: goodAuth, MppeSendKey: k16, MppeRecvKey: k16}}}
	}
	return &pluginv2.VerifyMSCHAPv2Response{Verdict: &pluginv2.Verdict{Reason: "no"}}
}

func fragments(r *pluginv2.FragmentsRequest) *pluginv2.FragmentsResponse {
	switch r.GetUser() {
	case "empty":
		return &pluginv2.FragmentsResponse{Fragments: []*pluginv2.Fragment{{Secret: nil}}}
	case "long":
		return &pluginv2.FragmentsResponse{Fragments: []*pluginv2.Fragment{{Secret: []byte("1234567")}}}
	}
	return &pluginv2.FragmentsResponse{Fragments: []*pluginv2.Fragment{{Secret: []byte("123456")}}}
}

func (r *raw) verifyPlaintext(ctx context.Context, q *pluginv2.VerifyPlaintextRequest) (proto.Message, error) {
	switch q.GetUser() {
	case "no-verdict":
		return &pluginv2.VerifyPlaintextResponse{}, nil
	case "leak":
		return nil, &channel.RemoteError{Code: pluginv2.Code_CODE_INTERNAL, Message: fmt.Sprintf("password %s is wrong", q.GetSecret())}
	case "down":
		return nil, &channel.RemoteError{Code: 14, Message: "directory down"} // gRPC's UNAVAILABLE
	case "hang":
		time.Sleep(time.Hour)
	case "garbage":
		if r.conn != nil {
			_, _ = r.conn.Write([]byte("\xff\xff\xff\xffnot a frame at all"))
		}
		return &pluginv2.VerifyPlaintextResponse{Verdict: ok}, nil
	}
	return &pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{Reason: "no"}}, nil
}

// rawPlugin is the plugin set entry of raw under either version.
type rawPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	version int
}

func (p rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.version == 1 {
		pluginv1.RegisterBackendServer(s, v1relay.NewServer(&raw{}))
		return nil
	}
	fd, err := strconv.Atoi(os.Getenv(sdk.ChannelEnv))
	if err != nil {
		return fmt.Errorf("no channel: %w", err)
	}
	f := os.NewFile(uintptr(fd), "channel")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return err
	}
	go channel.Serve(context.Background(), conn, &raw{conn: conn})
	return nil
}

func (rawPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

func serveRaw(version string) {
	v, _ := strconv.Atoi(version)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{v: {sdk.PluginName: rawPlugin{version: v}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
