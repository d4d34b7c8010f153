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
	if m := dsr.ExtensionMail(r, due, "complex", ny, "https://privacy.example/privacy/"); !strings.Contains(m.Text, "by 10 April 2027") {
		t.Errorf("notice:\n%s", m.Text)
	}
}
