package dsr

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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

// DeadlinePolicy computes due dates. The zero value counts from receipt in
// UTC, calendar days only; deployed, Location is the controller's zone
// (awsapp.DeadlinePolicy: Europe/Berlin unless DEADLINE_TIME_ZONE says).
type DeadlinePolicy struct {
	Start    ClockStart
	Location *time.Location
	// RollForward moves a period that would end on a Saturday, a Sunday or
	// one of Holidays to the end of the next working day (Regulation
	// 1182/71, Art. 3(4)).
	RollForward bool
	Holidays    map[string]bool // "2006-01-02" in Location
}

// Due returns the end of the last day of a period of months calendar months
// that starts at t, counted in the policy's time zone as Regulation 1182/71
// counts periods: the same day of the month months later, or that month's last
// day where the day does not exist (31 January → 28 or 29 February), until its
// last second (EndOfDay: right where a clock change falls at midnight). The
// result is in UTC.
func (p DeadlinePolicy) Due(t time.Time, months int) time.Time {
	loc := p.location()
	y, m, d := t.In(loc).Date()
	// The calendar is counted on dates alone (in UTC, which has no clock
	// changes); the zone comes in only for the end of the day.
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	day := time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, time.UTC)
	for p.RollForward && (day.Weekday() == time.Saturday || day.Weekday() == time.Sunday || p.Holidays[day.Format("2006-01-02")]) {
		day = day.AddDate(0, 0, 1)
	}
	return EndOfDay(day.Year(), day.Month(), day.Day(), loc)
}

func (p DeadlinePolicy) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// EndOfDay returns the last second of the calendar day y-m-d in loc, in
// UTC: the second before the next day starts. A day starts at the first
// instant whose local date is that day, which is not always 00:00: where
// the clocks jump forward at midnight (America/Santiago, America/Havana)
// 00:00 does not exist and the day starts at 01:00, and where they fall
// back at midnight the day starts at the first 00:00. Counting 24 hours,
// or taking 23:59:59 local, would end such a day an hour early or late.
func EndOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	return StartOfDay(y, m, d+1, loc).Add(-time.Second).UTC()
}

// StartOfDay returns the first instant (to the second) whose local date in
// loc is y-m-d (a day out of range is normalized, as time.Date does).
func StartOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	before := func(t time.Time) bool { // t's local date is before the day
		ly, lm, ld := t.In(loc).Date()
		return time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Before(want)
	}
	// Local midnight is within a day of UTC midnight in every zone (offsets
	// stay within ±14 hours); between lo (before the day) and hi (in it or
	// after), the first second of the day is found by bisection.
	lo, hi := want.Add(-26*time.Hour).Unix(), want.Add(26*time.Hour).Unix()
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if before(time.Unix(mid, 0)) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Unix(hi, 0).In(loc)
}

// Extension is one extension of a request's deadline, kept on the request
// for accountability (Art. 5(2)): by how much, why, by whom, when.
type Extension struct {
	Months int       `json:"months"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	DueAt  time.Time `json:"dueAt"`
}

// MaxExtensionMonths is how far Art. 12(3) lets the deadline be extended.
const MaxExtensionMonths = 2

// MaxExtensionReasonLength is the longest extension reason accepted, in characters.
const MaxExtensionReasonLength = 2000

// ClockStarted returns when r's clock started under the policy, and false if
// it has not started (verification policy, not verified yet).
func (p DeadlinePolicy) ClockStarted(r *Request) (time.Time, bool) {
	if p.Start == ClockAtVerification {
		return r.VerifiedAt, !r.VerifiedAt.IsZero()
	}
	return r.ReceivedAt, !r.ReceivedAt.IsZero()
}

// Extend returns r's new due date after extending it by months more, as
// Art. 12(3) allows: by one or two months in all, with a reason, decided
// before the first month ends, for a request still open. Refusals are
// EInvalid (bad months or reason) or EConflict (too late, too much, closed).
func (p DeadlinePolicy) Extend(r *Request, months int, reason string, now time.Time) (time.Time, error) {
	var fields []FieldError
	if months != 1 && months != 2 {
		fields = append(fields, FieldError{Field: "months", Reason: "must be 1 or 2"})
	}
	if strings.TrimSpace(reason) == "" {
		fields = append(fields, FieldError{Field: "reason", Reason: "is required: the person must be told why (Art. 12(3))"})
	} else if utf8.RuneCountInString(reason) > MaxExtensionReasonLength {
		fields = append(fields, FieldError{Field: "reason", Reason: fmt.Sprintf("is longer than %d characters", MaxExtensionReasonLength)})
	}
	if len(fields) > 0 {
		return time.Time{}, Invalid("the extension is invalid", fields...)
	}
	start, ok := p.ClockStarted(r)
	switch {
	case r.Status.Final():
		return time.Time{}, Errorf(EConflict, "a %s request cannot be extended", r.Status)
	case !ok:
		return time.Time{}, Errorf(EConflict, "the deadline has not started yet (the request is not verified)")
	case r.ExtendedMonths+months > MaxExtensionMonths:
		return time.Time{}, Errorf(EConflict, "the deadline is already extended by %d month(s); at most %d in all", r.ExtendedMonths, MaxExtensionMonths)
	case now.After(p.Due(start, 1)):
		return time.Time{}, Errorf(EConflict, "an extension must be decided and told within the first month, which ended %s", p.Due(start, 1).Format(time.RFC3339))
	}
	return p.Due(start, 1+r.ExtendedMonths+months), nil
}
