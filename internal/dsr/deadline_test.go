package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestExtend(t *testing.T) {
	p := dsr.DeadlinePolicy{Location: time.UTC}
	received := time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC) // first month ends 2027-02-28
	open := func(extended int) *dsr.Request {
		return &dsr.Request{Status: dsr.StatusInProgress, ReceivedAt: received, ExtendedMonths: extended}
	}
	inFirstMonth := time.Date(2027, 2, 28, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		r      *dsr.Request
		policy dsr.DeadlinePolicy
		months int
		reason string
		now    time.Time
		want   string        // due date, or
		code   dsr.ErrorCode // the refusal
	}{
		{"one month", open(0), p, 1, "complex", inFirstMonth, "2027-03-31T23:59:59Z", ""},
		{"two months", open(0), p, 2, "complex", inFirstMonth, "2027-04-30T23:59:59Z", ""},
		{"a second month after a first", open(1), p, 1, "still complex", inFirstMonth, "2027-04-30T23:59:59Z", ""},
		{"three months in all", open(1), p, 2, "complex", inFirstMonth, "", dsr.EConflict},
		{"three months at once", open(0), p, 3, "complex", inFirstMonth, "", dsr.EInvalid},
		{"no reason", open(0), p, 1, "  ", inFirstMonth, "", dsr.EInvalid},
		{"reason too long", open(0), p, 1, strings.Repeat("x", 2001), inFirstMonth, "", dsr.EInvalid},
		{"after the first month", open(0), p, 1, "complex", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), "", dsr.EConflict},
		{"a completed request", &dsr.Request{Status: dsr.StatusCompleted, ReceivedAt: received}, p, 1, "complex", inFirstMonth, "", dsr.EConflict},
		{"clock not started (verification policy)", &dsr.Request{Status: dsr.StatusAwaitingVerification, ReceivedAt: received},
			dsr.DeadlinePolicy{Start: dsr.ClockAtVerification}, 1, "complex", inFirstMonth, "", dsr.EConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due, err := tc.policy.Extend(tc.r, tc.months, tc.reason, tc.now)
			switch {
			case tc.code != "" && dsr.ErrorCodeOf(err) != tc.code:
				t.Errorf("Extend = %s, %v; want a %s refusal", due, err, tc.code)
			case tc.code == "" && (err != nil || due.Format(time.RFC3339) != tc.want):
				t.Errorf("Extend = %s, %v; want %s", due, err, tc.want)
			}
		})
	}
}

// The extension notice names the deadline's day where it is counted: a day
// ending 23:59:59 in New York is 04:59:59 the next day in UTC.
func TestExtensionMailDate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	p := dsr.DeadlinePolicy{Location: ny}
	r := &dsr.Request{ID: "R1", Type: dsr.TypeAccess, Status: dsr.StatusQueued, Email: "a@b.co", ReceivedAt: time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC)}
	due, err := p.Extend(r, 2, "complex", time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if m := dsr.ExtensionMail(r, due, "complex", ny); !strings.Contains(m.Text, "by 10 April 2027") {
		t.Errorf("notice:\n%s", m.Text)
	}
}

// The end of a due day is the second before the next day starts in the
// controller's zone (Art. 12(3)), also where the clocks change at midnight:
// in America/Santiago and America/Havana 00:00 does not exist on the day
// summer time starts, and in Havana 00:00 happens twice when it ends.
func TestDueEndOfDayAcrossClockChanges(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	berlin, santiago, havana := zone("Europe/Berlin"), zone("America/Santiago"), zone("America/Havana")
	tests := []struct {
		name     string
		loc      *time.Location
		received time.Time // in loc
		months   int
		want     string // UTC
	}{
		{"Berlin, winter", berlin, time.Date(2026, 12, 10, 9, 0, 0, 0, berlin), 1, "2027-01-10T22:59:59Z"},
		{"Berlin, summer", berlin, time.Date(2027, 6, 15, 23, 30, 0, 0, berlin), 1, "2027-07-15T21:59:59Z"},
		{"Berlin, received the day summer time starts", berlin, time.Date(2025, 3, 30, 12, 0, 0, 0, berlin), 1, "2025-04-30T21:59:59Z"},
		{"Berlin, due the day summer time starts", berlin, time.Date(2025, 1, 30, 12, 0, 0, 0, berlin), 2, "2025-03-30T21:59:59Z"},
		{"Berlin, due the day winter time starts", berlin, time.Date(2025, 9, 26, 8, 0, 0, 0, berlin), 1, "2025-10-26T22:59:59Z"},
		{"Berlin, received on the 31st locally, the 30th in UTC", berlin, time.Date(2027, 1, 31, 0, 30, 0, 0, berlin), 1, "2027-02-28T22:59:59Z"},
		{"31 January → 28 February", berlin, time.Date(2027, 1, 31, 10, 0, 0, 0, berlin), 1, "2027-02-28T22:59:59Z"},
		{"31 January → 29 February (leap year)", berlin, time.Date(2028, 1, 31, 10, 0, 0, 0, berlin), 1, "2028-02-29T22:59:59Z"},
		{"31 December → 28 February, two months", berlin, time.Date(2026, 12, 31, 10, 0, 0, 0, berlin), 2, "2027-02-28T22:59:59Z"},
		// Santiago: on 2024-09-08 the clocks jump from 00:00 to 01:00, so
		// 7 September ends at 01:00 -03 (04:00 UTC), not at 00:00 -04.
		{"Santiago, due the day before midnight summer time", santiago, time.Date(2024, 8, 7, 10, 0, 0, 0, santiago), 1, "2024-09-08T03:59:59Z"},
		{"Santiago, due the day summer time starts", santiago, time.Date(2024, 8, 8, 10, 0, 0, 0, santiago), 1, "2024-09-09T02:59:59Z"},
		// On 2024-04-07 at 00:00 -03 the clocks fall back to 23:00 -04: 6 April has 25 hours.
		{"Santiago, due the day winter time starts", santiago, time.Date(2024, 3, 6, 10, 0, 0, 0, santiago), 1, "2024-04-07T03:59:59Z"},
		// Havana: on 2024-03-10 00:00 does not exist (the clocks jump to 01:00 -04).
		{"Havana, due the day before midnight summer time", havana, time.Date(2024, 2, 9, 10, 0, 0, 0, havana), 1, "2024-03-10T04:59:59Z"},
		{"Havana, due the day summer time starts", havana, time.Date(2024, 2, 10, 10, 0, 0, 0, havana), 1, "2024-03-11T03:59:59Z"},
		// On 2024-11-03 at 01:00 -04 the clocks fall back to 00:00 -05: 3 November
		// starts at the first 00:00, so 2 November ends an hour before the second.
		{"Havana, due the day before midnight winter time", havana, time.Date(2024, 10, 2, 10, 0, 0, 0, havana), 1, "2024-11-03T03:59:59Z"},
		{"Havana, due the day winter time starts", havana, time.Date(2024, 10, 3, 10, 0, 0, 0, havana), 1, "2024-11-04T04:59:59Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due := dsr.DeadlinePolicy{Location: tc.loc}.Due(tc.received.UTC(), tc.months)
			if got := due.Format(time.RFC3339); got != tc.want {
				t.Errorf("Due(%s, %d) = %s (%s local); want %s", tc.received, tc.months, got, due.In(tc.loc).Format(time.RFC3339), tc.want)
			}
			// The second after the end is the next day's first, in the zone.
			next := due.Add(time.Second).In(tc.loc)
			if y, m, d := due.In(tc.loc).Date(); next.Day() == d && next.Month() == m && next.Year() == y {
				t.Errorf("the second after %s is still the same day in %s", due, tc.loc)
			}
		})
	}
}

func TestStartOfDay(t *testing.T) {
	havana, err := time.LoadLocation("America/Havana")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		y    int
		m    time.Month
		d    int
		want string
	}{
		{2024, 3, 10, "2024-03-10T01:00:00-04:00"}, // 00:00 does not exist
		{2024, 11, 3, "2024-11-03T00:00:00-04:00"}, // the first of two 00:00
		{2024, 11, 4, "2024-11-04T00:00:00-05:00"},
		{2024, 12, 32, "2025-01-01T00:00:00-05:00"}, // normalized like time.Date
	}
	for _, tc := range tests {
		if got := dsr.StartOfDay(tc.y, tc.m, tc.d, havana).Format(time.RFC3339); got != tc.want {
			t.Errorf("StartOfDay(%d-%02d-%02d) = %s, want %s", tc.y, tc.m, tc.d, got, tc.want)
		}
	}
}
