package dsr

import "time"

// Clock tells the time, in UTC. Every use case reads the time through one,
// so that a test can set it; the zero Clock (nil) is the system clock.
type Clock func() time.Time

// Now returns the clock's time in UTC.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now().UTC()
	}
	return c().UTC()
}
