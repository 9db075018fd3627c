package main

import (
	"context"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
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
type raw struct {
	pluginv1.UnimplementedBackendServer
}

type rawPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBackendServer(s, raw{})
	return nil
}

func (rawPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

func serveRaw() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion: {sdk.PluginName: rawPlugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

func (raw) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{
		Name:    "raw",
		Version: "0",
		Capabilities: []pluginv1.Capability{
			pluginv1.Capability_CAPABILITY_FRAGMENTS,
			pluginv1.Capability_CAPABILITY_VERIFY_PLAINTEXT,
			pluginv1.Capability_CAPABILITY_VERIFY_MSCHAPV2,
			pluginv1.Capability(99), // from a future v1: ignored
		},
		FragmentLengths: []uint32{6},
	}, nil
}

func (raw) Configure(context.Context, *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	return &pluginv1.ConfigureResponse{Ok: true}, nil
}

func (raw) Health(context.Context, *pluginv1.HealthRequest) (*pluginv1.HealthResponse, error) {
	return &pluginv1.HealthResponse{Ok: true}, nil
}

var ok = &pluginv1.Verdict{Ok: true}

func (raw) VerifyMSCHAPv2(_ context.Context, r *pluginv1.VerifyMSCHAPv2Request) (*pluginv1.VerifyMSCHAPv2Response, error) {
	k16 := make([]byte, 16)
	goodAuth := "S=" + strings.Repeat("AB", 20)
	switch r.GetUser() {
	case "short-key":
		return &pluginv1.VerifyMSCHAPv2Response{Verdict: ok,
			Proof: &pluginv1.VerifyMSCHAPv2Response_PasswordHashHash{PasswordHashHash: make([]byte, 15)}}, nil
	case "bad-auth":
		return &pluginv1.VerifyMSCHAPv2Response{Verdict: ok, Proof: &pluginv1.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv1.AuthenticatorResult{AuthenticatorResponse: "S=zz", MppeSendKey: k16, MppeRecvKey: k16}}}, nil
	case "short-mppe":
		return &pluginv1.VerifyMSCHAPv2Response{Verdict: ok, Proof: &pluginv1.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv1.AuthenticatorResult{AuthenticatorResponse: goodAuth, MppeSendKey: make([]byte, 15), MppeRecvKey: k16}}}, nil
	case "no-proof":
		return &pluginv1.VerifyMSCHAPv2Response{Verdict: ok}, nil
	case "delegated":
		return &pluginv1.VerifyMSCHAPv2Response{Verdict: ok, Proof: &pluginv1.VerifyMSCHAPv2Response_Authenticator{
			Authenticator: &pluginv1.AuthenticatorResult{AuthenticatorResponse: goodAuth, MppeSendKey: k16, MppeRecvKey: k16}}}, nil
	}
	return &pluginv1.VerifyMSCHAPv2Response{Verdict: &pluginv1.Verdict{Reason: "no"}}, nil
}

func (raw) Fragments(_ context.Context, r *pluginv1.FragmentsRequest) (*pluginv1.FragmentsResponse, error) {
	switch r.GetUser() {
	case "empty":
		return &pluginv1.FragmentsResponse{Fragments: []*pluginv1.Fragment{{Secret: nil}}}, nil
	case "long":
		return &pluginv1.FragmentsResponse{Fragments: []*pluginv1.Fragment{{Secret: []byte("1234567")}}}, nil
	}
	return &pluginv1.FragmentsResponse{Fragments: []*pluginv1.Fragment{{Secret: []byte("123456")}}}, nil
}

func (raw) VerifyPlaintext(_ context.Context, r *pluginv1.VerifyPlaintextRequest) (*pluginv1.VerifyPlaintextResponse, error) {
	switch r.GetUser() {
	case "no-verdict":
		return &pluginv1.VerifyPlaintextResponse{}, nil
	case "leak":
		return nil, status.Errorf(codes.Internal, "password %s is wrong", r.GetSecret())
	case "down":
		return nil, status.Error(codes.Unavailable, "directory down")
	}
	return &pluginv1.VerifyPlaintextResponse{Verdict: &pluginv1.Verdict{Reason: "no"}}, nil
}
