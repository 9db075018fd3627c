package host

import (
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

//go:generate go run golang.org/x/tools/cmd/stringer@v0.52.0 -type=State -trimprefix=State -linecomment

// State is where a plugin is in its life:
//
//	        Start
//	          │
//	          ▼
//	      starting ──── launch fails ───────────────────► failed
//	          │                                             ▲
//	          ▼         exited, connection lost,            │ refused for good
//	┌──►  running  ──── health checks fail ───► restarting ─┤ (SHA-256, protocol
//	│         │                                   │    ▲    │  version, config)
//	└─────────┼────────── launched again ─────────┘    │    │
//	          │                                        └────┘ launch fails:
//	          ▼                                             back off, retry
//	       stopped ◄──── Close (from any state) ────────────
//
// Calls made while a plugin is starting or restarting wait for it, within
// their deadline; calls to a failed or stopped plugin fail at once.
type State uint8

const (
	StateStarting   State = iota // starting
	StateRunning                 // running
	StateRestarting              // restarting
	StateFailed                  // failed
	StateStopped                 // stopped
)

// Status is a snapshot of one plugin, for "gatehouse status" and logs.
type Status struct {
	// Name is the back-end instance name from the configuration.
	Name string
	// Version and Capabilities are from the plugin's last Describe.
	Version      string
	Capabilities authpolicy.Capability
	// PID of the running process; 0 when none runs.
	PID   int
	State State
	// Restarts counts the launches after the first, successful or not.
	Restarts int
	// LastError is the last thing that went wrong, in words; it stays
	// after the plugin recovers.
	LastError string
	// Since is when the plugin entered State.
	Since time.Time
	// Protocol is the plugin protocol version the running process speaks
	// (2: calls on the channel; 1: calls on gRPC); 0 when none runs.
	Protocol int
	// CallsWaited counts the calls that found all Spec.MaxConcurrent call
	// slots busy and waited; CallsRefused those whose deadline passed
	// while waiting (they failed closed). Both count since Start.
	CallsWaited, CallsRefused uint64
}
