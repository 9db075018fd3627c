//go:build race

package gateway

// raceEnabled: the race detector allocates, so allocation tests skip.
const raceEnabled = true
