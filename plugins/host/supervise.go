package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// RoutineSupervise owns one plugin from its first successful start until
// Close:
//
//  1. watch the running process: go-plugin reports its exit, a call reports
//     a broken connection, and every Spec.HealthInterval the plugin is
//     asked for its health;
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
			return fmt.Errorf("a call lost the connection: %w", rpcCause(c.lostErr))
		case <-poll.C:
			if c.client.Exited() {
				return errors.New("the process exited")
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

// unhealthyError is a plugin's own answer that it cannot work now.
type unhealthyError struct{ msg string }

func (e *unhealthyError) Error() string { return "unhealthy: " + e.msg }

// checkHealth asks the plugin for its health, bypassing the call slots: a
// plugin busy with slow calls is not dead.
func (p *plugin) checkHealth(c *conn) error {
	ctx, cancel := context.WithTimeout(p.stopCtx, p.spec.CallTimeout)
	defer cancel()
	r, err := c.rpc.Health(ctx, &pluginv1.HealthRequest{})
	switch {
	case err != nil && status.Code(err) == codes.DeadlineExceeded:
		return fmt.Errorf("no answer within %v", p.spec.CallTimeout)
	case err != nil:
		return rpcCause(err)
	case !r.GetOk():
		return &unhealthyError{msg: r.GetMessage()}
	}
	return nil
}
