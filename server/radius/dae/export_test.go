package dae

import "time"

// SetClock makes s read the time from now.
func SetClock(s *Server, now func() time.Time) { s.now = now }
