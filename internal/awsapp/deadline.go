package awsapp

import (
	"fmt"
	"strings"
	"time"
	// The zone database, embedded: a runtime image without /usr/share/zoneinfo
	// still counts deadlines in the controller's zone.
	_ "time/tzdata"

	"github.com/privacyops/dsr/internal/dsr"
)

// DeadlinePolicy reads the deadline policy from the DEADLINE_* variables;
// an empty one takes its default:
//
//   - DEADLINE_CLOCK_START: "receipt" (the default) or "verification";
//   - DEADLINE_TIME_ZONE: the IANA zone periods are counted in, the
//     controller's seat (DefaultTimeZone, the demo controller's);
//   - DEADLINE_ROLL_FORWARD: "true" or "false" (the default);
//   - DEADLINE_HOLIDAYS: dates (2006-01-02), comma-separated, for
//     roll-forward only (none).
//
// The local stack reads its seed requests' deadlines with it too.
func DeadlinePolicy(env Env) (dsr.DeadlinePolicy, error) {
	p := dsr.DeadlinePolicy{Start: dsr.ClockAtReceipt}
	var err error
	if p.Start, err = clockStart(env("DEADLINE_CLOCK_START")); err != nil {
		return p, err
	}
	zone := env("DEADLINE_TIME_ZONE")
	if zone == "" {
		zone = DefaultTimeZone
	}
	if p.Location, err = time.LoadLocation(zone); err != nil {
		return p, fmt.Errorf("deadline time zone: %w", err)
	}
	switch v := env("DEADLINE_ROLL_FORWARD"); v {
	case "", "false":
	case "true":
		p.RollForward = true
	default:
		return p, fmt.Errorf("deadline roll-forward %q: want true or false", v)
	}
	if p.Holidays, err = holidays(env("DEADLINE_HOLIDAYS")); err != nil {
		return p, err
	}
	if len(p.Holidays) > 0 && !p.RollForward {
		return p, fmt.Errorf("deadline holidays are given but roll-forward is off: set DEADLINE_ROLL_FORWARD=true")
	}
	return p, nil
}

// DefaultTimeZone is the deadline's zone when DEADLINE_TIME_ZONE is empty:
// the demo controller's seat, as in template.yaml's DeadlineTimeZone. A
// month counted in UTC would end at 00:59 or 01:59 the next day in Germany.
const DefaultTimeZone = "Europe/Berlin"

// clockStart reads DEADLINE_CLOCK_START.
func clockStart(v string) (dsr.ClockStart, error) {
	switch dsr.ClockStart(v) {
	case "", dsr.ClockAtReceipt:
		return dsr.ClockAtReceipt, nil
	case dsr.ClockAtVerification:
		return dsr.ClockAtVerification, nil
	}
	return dsr.ClockAtReceipt, fmt.Errorf("deadline clock start %q: want %q or %q", v, dsr.ClockAtReceipt, dsr.ClockAtVerification)
}

// holidays reads DEADLINE_HOLIDAYS: nil for none.
func holidays(v string) (map[string]bool, error) {
	var days map[string]bool
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if _, err := time.Parse("2006-01-02", d); err != nil {
			return nil, fmt.Errorf("deadline holidays: %q is not a date (YYYY-MM-DD)", d)
		}
		if days == nil {
			days = map[string]bool{}
		}
		days[d] = true
	}
	return days, nil
}
