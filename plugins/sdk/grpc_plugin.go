package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// grpcPlugin is go-plugin's view of a Gatehouse back-end: on the plugin
// side it registers the server shim for impl, on the host side it hands out
// the generated client.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Backend // nil on the host side
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBackendServer(s, newServer(p.impl))
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewBackendClient(c), nil
}
