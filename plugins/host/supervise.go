package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// RoutineSupervise owns one plugin from its first successful start until
// Close:
//
//  1. watch the running process: go-plugin reports its exit, the channel
//     or a call reports a broken connection, every Spec.HealthInterval the
//     process is pinged and the back-end asked for its health, and a call
//     that times out has the process pinged at once;
//  2. when the process is gone or stops answering, take it out of service
//     (calls now wait for the restart, within their deadline) and kill
//     what is left of it;
//  3. wait the back-off (backoffMin, doubling up to backoffMax; back to
//     backoffMin when the process had run for stableAfter), then launch
//     again: hash check, handshake, Describe, Configure, Describe;
//  4. a launch refused for good (SHA-256, protocol version, configuration)
//     makes the plugin failed; any other failure backs off and retries.
func (p *plugin) RoutineSupervise(c *conn) {
	defer p.host.wg.Done()
	p.log.Debug("routine supervise started")
	defer p.log.Debug("routine supervise stopped")

	backoff := backoffMin
	for {
		cause := p.watch(c)
		if cause == nil { // Close
			p.retire(c, StateStopped, nil)
			c.kill()
			return
		}
		p.retire(c, StateRestarting, cause)
		p.log.Warn("plugin stopped working; restarting it", slog.Int("pid", c.pid), slog.Any("cause", cause),
			slog.Duration("uptime", time.Since(c.started).Round(time.Millisecond)))
		p.host.event(Event{Plugin: p.spec.Name, Kind: EventExit, PID: c.pid, Reason: cause.Error()})
		c.kill()
		if time.Since(c.started) >= stableAfter {
			backoff = backoffMin
		}
		for {
			if !p.sleep(backoff) {
				return
			}
			backoff = min(backoff*2, backoffMax)
			p.countRestart()
			next, err := p.launch(p.stopCtx)
			if p.stopped() {
				if next != nil {
					next.kill()
				}
				return
			}
			if err == nil {
				if !p.setRunning(next) {
					next.kill()
					return
				}
				p.log.Info("plugin restarted", slog.Int("pid", next.pid))
				p.host.event(Event{Plugin: p.spec.Name, Kind: EventRestart, PID: next.pid})
				c = next
				break
			}
			if isPermanent(err) {
				p.log.Error("plugin refused for good; not restarting it", slog.Any("cause", err))
				p.setFailed(err)
				<-p.stop
				return
			}
			p.noteError(err)
			p.log.Warn("plugin restart failed; backing off", slog.Any("cause", err), slog.Duration("next_attempt_in", backoff))
		}
	}
}

// sleep waits d; false when the host closes meanwhile.
func (p *plugin) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
		return false
	}
}

// watch returns why c must be replaced, or nil on Close.
func (p *plugin) watch(c *conn) error {
	health := time.NewTicker(p.spec.HealthInterval)
	defer health.Stop()
	poll := time.NewTicker(exitPoll)
	defer poll.Stop()
	failures := 0
	for {
		select {
		case <-p.stop:
			return nil
		case <-c.exited:
			return fmt.Errorf("the process exited (%s)", c.exitStatus)
		case <-c.lost:
			return fmt.Errorf("a call lost the connection: %w", callCause(c.lostErr))
		case <-c.channelDone():
			return fmt.Errorf("the channel ended: %w", callCause(c.channel.Err()))
		case <-poll.C:
			if c.client.Exited() {
				return errors.New("the process exited")
			}
		case <-p.suspicion:
			// A call found no answer by its deadline: a slow back-end, or
			// a process that stopped (SIGSTOP, a wedged runtime). Ping
			// until it answers, or until it has missed healthFailures
			// pings in a row.
			for {
				err := p.ping(c)
				if err == nil {
					failures = 0
					break
				}
				failures++
				p.noteError(err)
				p.log.Warn("plugin did not answer a ping after a call timed out", slog.Int("in_a_row", failures), slog.Any("cause", err))
				if failures >= healthFailures {
					return fmt.Errorf("%d pings in a row failed, the last: %w", failures, err)
				}
				if p.stopped() {
					return nil
				}
			}
		case <-health.C:
			err := p.checkHealth(c)
			var unhealthy *unhealthyError
			switch {
			case err == nil:
				failures = 0
			case errors.As(err, &unhealthy):
				// The process answers; its directory or server does
				// not. A restart would not help.
				failures = 0
				p.noteError(err)
				p.log.Warn("plugin reports it cannot work", slog.String("cause", unhealthy.msg))
			default:
				failures++
				p.noteError(err)
				p.log.Warn("plugin health check failed", slog.Int("in_a_row", failures), slog.Any("cause", err))
				if failures >= healthFailures {
					return fmt.Errorf("%d health checks in a row failed, the last: %w", failures, err)
				}
			}
		}
	}
}

// suspect asks the supervisor to ping the process now: a call to it found no
// answer by its deadline. Suspicions that arrive while one is pending are
// one.
func (p *plugin) suspect() {
	select {
	case p.suspicion <- struct{}{}:
	default:
	}
}

// unhealthyError is a plugin's own answer that it cannot work now.
type unhealthyError struct{ msg string }

func (e *unhealthyError) Error() string { return "unhealthy: " + e.msg }

// ping asks the process whether it is alive, bypassing the call slots: a
// plugin busy with slow calls is not dead. Under protocol version 2 the
// plugin's frame loop answers without asking the back-end; under version
// 1 a ping is a Health call.
func (p *plugin) ping(c *conn) error {
	ctx, cancel := context.WithTimeout(p.stopCtx, p.spec.CallTimeout)
	defer cancel()
	err := c.calls.Call(ctx, time.Time{}, pluginv2.Method_METHOD_PING, &pluginv2.PingRequest{}, &pluginv2.PingResponse{})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer to a ping within %v", p.spec.CallTimeout)
	}
	return callCause(err)
}

// checkHealth pings the process, then asks the back-end for its health,
// bypassing the call slots.
func (p *plugin) checkHealth(c *conn) error {
	if c.protocol != 1 {
		if err := p.ping(c); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(p.stopCtx, p.spec.CallTimeout)
	defer cancel()
	r := &pluginv2.HealthResponse{}
	err := c.calls.Call(ctx, time.Time{}, pluginv2.Method_METHOD_HEALTH, &pluginv2.HealthRequest{}, r)
	var re *channel.RemoteError
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &re):
		return fmt.Errorf("no answer within %v", p.spec.CallTimeout)
	case err != nil:
		return callCause(err)
	case !r.GetOk():
		return &unhealthyError{msg: r.GetMessage()}
	}
	return nil
}
