package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/v1relay"
	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// ChannelEnv names the environment variable through which the gateway
// tells a plugin speaking protocol version 2 which file descriptor is its
// end of the channel (a connected Unix stream socket the plugin inherits
// at exec; 3).
const ChannelEnv = "GATEHOUSE_PLUGIN_CHANNEL"

// channelPlugin is go-plugin's view of a back-end under protocol version
// 2: go-plugin's gRPC server carries only go-plugin's own services, and
// the calls travel on the channel the gateway handed over.
type channelPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Backend // nil on the host side
}

var _ plugin.GRPCPlugin = (*channelPlugin)(nil)

// GRPCServer starts serving the channel. go-plugin calls it before it
// prints the handshake, so the channel is served by the time the gateway
// makes its first call.
func (p *channelPlugin) GRPCServer(_ *plugin.GRPCBroker, _ *grpc.Server) error {
	conn, err := inheritedChannel()
	if err != nil {
		return err
	}
	go func() {
		if err := ServeConn(context.Background(), conn, p.impl); err != nil {
			Logger().Error("the gateway's channel broke", slog.Any("cause", err))
		}
	}()
	return nil
}

// GRPCClient is not used: the gateway does not dispense a version 2
// back-end, it calls it on the channel.
func (p *channelPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("protocol version 2 is not dispensed: its calls travel on the channel")
}

// inheritedChannel opens the channel named by ChannelEnv.
func inheritedChannel() (net.Conn, error) {
	v := os.Getenv(ChannelEnv)
	if v == "" {
		return nil, fmt.Errorf("protocol version 2 was chosen but %s is not set: the gateway did not hand over a channel", ChannelEnv)
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a file descriptor above 2", ChannelEnv, v)
	}
	f := os.NewFile(uintptr(fd), "gatehouse-channel")
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%d is not the gateway's channel: %w", ChannelEnv, fd, err)
	}
	if _, ok := conn.(*net.UnixConn); !ok {
		conn.Close()
		return nil, fmt.Errorf("%s=%d is not a Unix socket", ChannelEnv, fd)
	}
	return conn, nil
}

// ServeConn serves b on conn with protocol version 2's framing until the
// channel ends, and returns why (nil when the other end closed it).
// [Serve] calls it on the channel the gateway hands over; package sdktest
// calls it on one end of a socket pair. A plugin calls Serve, not this;
// unlike Serve, ServeConn does not [Check] b first.
func ServeConn(ctx context.Context, conn net.Conn, b Backend) error {
	return channel.Serve(ctx, conn, newServer(b))
}

// grpcV1Plugin is go-plugin's view of a back-end under protocol version
// 1, for gateways that speak no other: the v1 gRPC service, relayed to the
// same server as the channel's.
type grpcV1Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Backend // nil on the host side
}

var _ plugin.GRPCPlugin = (*grpcV1Plugin)(nil)

func (p *grpcV1Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterBackendServer(s, v1relay.NewServer(newServer(p.impl)))
	return nil
}

// GRPCClient hands the host the connection; it calls the v1 service on
// it by method name (plugins/host).
func (p *grpcV1Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}
