package control

// The control connection's own messages (RFC 2637 sections 2.1 to 2.6
// and the receiver's state machine of section 3.1.2): start, stop and
// keep-alive, and what the PAC does with each message in each state.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// Causes that callers may recognise.
const (
	causeLocalShutdown = "local shutdown"
	causeClientClosed  = "control connection closed by the client"
)

// Capabilities the server announces in the Start-Control-Connection-Reply.
// Over IP there is no line, so the server claims both framings and both
// bearers: a client then never refuses to place a call for want of one.
const (
	ourFraming  = pptp.FramingAsynchronous | pptp.FramingSynchronous
	ourBearer   = pptp.BearerAnalog | pptp.BearerDigital
	ourFirmware = 1
)

// receiveIdle: before Start-Control-Connection-Request, section 3.1.2
// knows only that message. Anything else closes the connection; a
// request that has a reply with General Error gets one saying
// Not-Connected ("no control connection exists yet"), so a confused
// client learns why.
func (c *conn) receiveIdle(m pptp.Message, now time.Time) {
	switch m := m.(type) {
	case *pptp.StartControlConnectionRequest:
		c.start(m, now)
		return
	case *pptp.OutgoingCallRequest:
		c.send(&pptp.OutgoingCallReply{
			PeerCallID: m.CallID,
			ResultCode: pptp.OutgoingGeneralError,
			ErrorCode:  pptp.GeneralErrorNotConnected,
		})
	case *pptp.IncomingCallRequest:
		c.send(&pptp.IncomingCallReply{
			PeerCallID: m.CallID,
			ResultCode: pptp.IncomingGeneralError,
			ErrorCode:  pptp.GeneralErrorNotConnected,
		})
	case *pptp.EchoRequest:
		c.send(&pptp.EchoReply{
			Identifier: m.Identifier,
			ResultCode: pptp.EchoGeneralError,
			ErrorCode:  pptp.GeneralErrorNotConnected,
		})
	case *pptp.StopControlConnectionRequest:
		// The client wants the connection gone, and it goes.
		c.send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK})
	}
	c.fail(slog.LevelWarn, fmt.Sprintf(
		"%v before Start-Control-Connection-Request: the client does not follow RFC 2637 section 3.1",
		m.ControlMessageType()))
}

// start answers a Start-Control-Connection-Request. Version 1.0 is the
// only one there is; a higher version is answered with 1.0 and the
// client decides (section 3.1.1: the originator falls back to the lower
// version if it can), a lower one is refused.
func (c *conn) start(m *pptp.StartControlConnectionRequest, now time.Time) {
	reply := c.startReply(pptp.StartSuccess)
	if m.ProtocolVersion < pptp.ProtocolVersion {
		reply.ResultCode = pptp.StartBadProtocolVersion
		c.send(reply)
		c.fail(slog.LevelWarn, fmt.Sprintf(
			"the client speaks PPTP version %d.%d; this server speaks 1.0 only (RFC 2637)",
			m.ProtocolVersion>>8, m.ProtocolVersion&0xFF))
		return
	}
	c.send(reply)
	if c.state == stateClosed {
		return
	}
	c.state = stateEstablished
	c.noCallSince = now
	c.log.Info("control connection established",
		slog.String("client_host", m.HostName),
		slog.String("client_vendor", m.VendorString),
		slog.String("client_version", fmt.Sprintf("%d.%d", m.ProtocolVersion>>8, m.ProtocolVersion&0xFF)),
		slog.Int("client_firmware", int(m.FirmwareRevision)))
}

func (c *conn) startReply(result pptp.StartControlConnectionResult) *pptp.StartControlConnectionReply {
	return &pptp.StartControlConnectionReply{
		ProtocolVersion:     pptp.ProtocolVersion,
		ResultCode:          result,
		FramingCapabilities: ourFraming,
		BearerCapabilities:  ourBearer,
		MaximumChannels:     uint16(min(c.s.cfg.MaxCalls, 0xFFFF)),
		FirmwareRevision:    ourFirmware,
		HostName:            c.s.cfg.HostName,
		VendorString:        c.s.cfg.Vendor,
	}
}

// receiveEstablished: the PNS (the client) may send SCCRQ (wrongly),
// StopCCRQ and StopCCRP, Echo-Request and -Reply, OCRQ, CCRQ and SLI.
// ICRP and ICCN answer an ICRQ the PAC never sends; the rest go from a
// PAC to a PNS. Those are logged and ignored.
func (c *conn) receiveEstablished(m pptp.Message, now time.Time) {
	switch m := m.(type) {
	case *pptp.StartControlConnectionRequest:
		c.send(c.startReply(pptp.StartChannelExists))
		c.fail(slog.LevelWarn,
			"second Start-Control-Connection-Request on an established control connection: the client does not follow RFC 2637")
	case *pptp.StopControlConnectionRequest:
		c.send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK})
		cause := fmt.Sprintf("the client stopped the control connection (Stop-Control-Connection-Request, reason %v)", m.Reason)
		c.endCalls(cause)
		c.fail(slog.LevelInfo, cause)
	case *pptp.EchoRequest:
		c.send(&pptp.EchoReply{Identifier: m.Identifier, ResultCode: pptp.EchoOK})
	case *pptp.EchoReply:
		// receive has already cleared the outstanding Echo-Request.
	case *pptp.OutgoingCallRequest:
		c.outgoingCall(m, now)
	case *pptp.CallClearRequest:
		c.callClear(m, now)
	case *pptp.SetLinkInfo:
		c.setLinkInfo(m)
	default:
		c.unexpected(m)
	}
}

// receiveWaitStopReply: after our Stop-Control-Connection-Request only
// the reply matters (or the client's own request, if both stopped at
// once). Echo-Requests are still answered, so that the client does not
// give up on us first.
func (c *conn) receiveWaitStopReply(m pptp.Message) {
	switch m := m.(type) {
	case *pptp.StopControlConnectionReply:
		c.fail(slog.LevelInfo, c.stopCause)
	case *pptp.StopControlConnectionRequest:
		c.send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK})
		c.fail(slog.LevelInfo, c.stopCause)
	case *pptp.EchoRequest:
		c.send(&pptp.EchoReply{Identifier: m.Identifier, ResultCode: pptp.EchoOK})
	}
}

// stopLocal is the local terminate of section 3.1.2: send
// Stop-Control-Connection-Request, end the calls (section 2.3: stopping
// the connection clears them implicitly) and wait for the reply.
func (c *conn) stopLocal(reason pptp.StopControlConnectionReason, cause string, now time.Time) {
	switch c.state {
	case stateIdle:
		c.fail(slog.LevelInfo, cause)
	case stateEstablished:
		c.send(&pptp.StopControlConnectionRequest{Reason: reason})
		c.endCalls(cause)
		if c.state == stateClosed {
			return
		}
		c.state = stateWaitStopReply
		c.stopSent = now
		c.stopCause = cause
	}
}

// unexpected logs a well-formed message that has no place in the state.
func (c *conn) unexpected(m pptp.Message) {
	if ok, suppressed := c.s.limiter.allow(time.Now()); ok {
		c.log.LogAttrs(context.Background(), slog.LevelWarn, "unexpected control message ignored", withSuppressed(suppressed,
			slog.String("type", m.ControlMessageType().String()),
			slog.String("state", c.state.String()),
			slog.String("hint", "a PPTP client (PNS) does not send this message to a server (PAC)"))...)
	}
}
