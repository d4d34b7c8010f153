package dsr

import (
	"fmt"
	"time"
)

// ClockStart says when the one-month clock of Art. 12(3) starts.
type ClockStart string

// Clock starts. The default is ClockAtReceipt: the strict reading of
// Art. 12(3); ClockAtVerification is for controllers whose identity checks
// are a reasonable doubt in the sense of Art. 12(6).
const (
	ClockAtReceipt      ClockStart = "receipt"
	ClockAtVerification ClockStart = "verification"
)

// DeadlinePolicy computes due dates. The zero value counts from receipt in UTC.
type DeadlinePolicy struct {
	Start    ClockStart
	Location *time.Location
}

// NewDeadlinePolicy parses the configuration values (DEADLINE_CLOCK_START,
// DEADLINE_TIME_ZONE); empty values take the defaults (receipt, UTC).
func NewDeadlinePolicy(start, zone string) (DeadlinePolicy, error) {
	p := DeadlinePolicy{Start: ClockAtReceipt, Location: time.UTC}
	switch ClockStart(start) {
	case "", ClockAtReceipt:
	case ClockAtVerification:
		p.Start = ClockAtVerification
	default:
		return p, fmt.Errorf("deadline clock start %q: want %q or %q", start, ClockAtReceipt, ClockAtVerification)
	}
	if zone != "" {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return p, fmt.Errorf("deadline time zone: %w", err)
		}
		p.Location = loc
	}
	return p, nil
}

// Due returns the end of the last day of a period of months calendar months
// that starts at t, counted in the policy's time zone as Regulation 1182/71
// counts periods: the same day of the month months later, or that month's last
// day where the day does not exist (31 January → 28 or 29 February), until its
// last second. The result is in UTC.
func (p DeadlinePolicy) Due(t time.Time, months int) time.Time {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	y, m, d := local.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, loc)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	endOfDay := time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, loc).AddDate(0, 0, 1).Add(-time.Second)
	return endOfDay.UTC()
}
