package dsr_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestQuota(t *testing.T) {
	l := dsr.Limits{OpenPerPerson: 2, CodesPerDay: 3, WrongCodesPerDay: 3}
	day := time.Date(2026, 12, 1, 23, 50, 0, 0, time.UTC)
	type step struct {
		name  string
		at    time.Duration // after day
		do    func(q *dsr.Quota, now time.Time) error
		limit string // "" : allowed
		wait  time.Duration
	}
	admit := func(id string) func(*dsr.Quota, time.Time) error {
		return func(q *dsr.Quota, now time.Time) error { return q.Admit(id, now.Add(dsr.CodeTTL), now, l) }
	}
	guess := func(q *dsr.Quota, now time.Time) error { return q.Guess(now, l) }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"open requests, then their codes expire", []step{
			{"first", 0, admit("a"), "", 0},
			{"second", time.Minute, admit("b"), "", 0},
			{"third while two wait", 2 * time.Minute, admit("c"), dsr.LimitOpenRequests, 13 * time.Minute},
			{"once the first code expired", 15 * time.Minute, admit("c"), "", 0},
		}},
		{"codes of the day, then the next day", []step{
			{"1", 0, admit("a"), "", 0},
			{"verified", 0, func(q *dsr.Quota, now time.Time) error { q.Verified("a", now); return nil }, "", 0},
			{"2", 0, admit("b"), "", 0},
			{"ended", 0, func(q *dsr.Quota, now time.Time) error { q.Ended("b", now); return nil }, "", 0},
			{"3", 0, admit("c"), "", 0},
			{"ended", 0, func(q *dsr.Quota, now time.Time) error { q.Ended("c", now); return nil }, "", 0},
			{"4th code", time.Minute, admit("d"), dsr.LimitCodes, 9 * time.Minute},
			{"after midnight UTC", 10 * time.Minute, admit("d"), "", 0},
		}},
		{"wrong codes: two typos and the right one", []step{
			{"request", 0, admit("a"), "", 0},
			{"typo", 0, guess, "", 0},
			{"typo", 0, guess, "", 0},
			{"right code", 0, guess, "", 0},
			{"given back", 0, func(q *dsr.Quota, now time.Time) error { q.Verified("a", now); return nil }, "", 0},
			{"a later request's guess", time.Minute, guess, "", 0},
		}},
		{"wrong codes spent: guesses and new requests wait", []step{
			{"request", 0, admit("a"), "", 0},
			{"1", 0, guess, "", 0},
			{"2", 0, guess, "", 0},
			{"3", 0, guess, "", 0},
			{"4th guess", time.Minute, guess, dsr.LimitWrongCodes, 9 * time.Minute},
			{"a new request", time.Minute, admit("b"), dsr.LimitWrongCodes, 9 * time.Minute},
			{"the next day", 10 * time.Minute, guess, "", 0},
		}},
		{"a change made with a time before midnight does not wind the new day back", []step{
			{"1", 0, guess, "", 0},
			{"2", 0, guess, "", 0},
			{"3", 0, guess, "", 0},
			{"the new day's first", 11 * time.Minute, guess, "", 0},
			{"yesterday's guess given back, late", 9 * time.Minute, func(q *dsr.Quota, now time.Time) error { q.Return(now); return nil }, "", 0},
			{"the new day's second", 12 * time.Minute, guess, "", 0},
			{"third", 12 * time.Minute, guess, "", 0},
			{"fourth", 12 * time.Minute, guess, dsr.LimitWrongCodes, 24*time.Hour - 2*time.Minute},
			{"a late admit of yesterday's", 9 * time.Minute, admit("z"), dsr.LimitWrongCodes, time.Minute},
		}},
		{"a guess not compared is given back", []step{
			{"1", 0, guess, "", 0},
			{"2", 0, guess, "", 0},
			{"3", 0, guess, "", 0},
			{"back", 0, func(q *dsr.Quota, now time.Time) error { q.Return(now); return nil }, "", 0},
			{"again", 0, guess, "", 0},
			{"spent", 0, guess, dsr.LimitWrongCodes, 10 * time.Minute},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q dsr.Quota
			for _, s := range tc.steps {
				err := s.do(&q, day.Add(s.at))
				var limit string
				var wait time.Duration
				if err != nil {
					de, ok := err.(*dsr.Error)
					if !ok || de.Code != dsr.ETooMany {
						t.Fatalf("%s: %v", s.name, err)
					}
					limit, wait = de.Limit, de.RetryAfter
				}
				if limit != s.limit || wait != s.wait {
					t.Fatalf("%s: limit %q wait %v, want %q %v (quota %+v)", s.name, limit, wait, s.limit, s.wait, q)
				}
			}
		})
	}
}

func TestQuotaReportsOncePerDay(t *testing.T) {
	var q dsr.Quota
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	got := []bool{q.Report(dsr.LimitCodes, now), q.Report(dsr.LimitCodes, now), q.Report(dsr.LimitWrongCodes, now), q.Report(dsr.LimitCodes, now.AddDate(0, 0, 1))}
	if diff := cmp.Diff([]bool{true, false, true, true}, got); diff != "" {
		t.Errorf("first reports (-want +got):\n%s", diff)
	}
}

func TestRate(t *testing.T) {
	r := dsr.Rate{Burst: 2, Every: 10 * time.Second}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var tat time.Time
	var waits []time.Duration
	for _, at := range []time.Duration{0, 0, 0, 5 * time.Second, 10 * time.Second, 10 * time.Second, time.Minute} {
		next, wait, ok := r.Take(tat, now.Add(at))
		if ok {
			tat = next
		}
		waits = append(waits, wait)
	}
	if diff := cmp.Diff([]time.Duration{0, 0, 10 * time.Second, 5 * time.Second, 0, 10 * time.Second, 0}, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// TestGuessBound holds the limits to the README's promise: a stranger's
// chance of verifying any request for one person within 30 days stays below
// 1 in 10,000, and a person who mistypes twice is not locked out.
func TestGuessBound(t *testing.T) {
	l := dsr.DefaultLimits
	if p := l.GuessBound(30); p >= 1.0/10_000 {
		t.Errorf("30-day guessing bound %.3g, want below 1e-4", p)
	}
	if got, want := l.GuessBound(30), 93.0/999_995; got != want {
		t.Errorf("bound %v, want 93/999,995 = %v (the README's arithmetic)", got, want)
	}
	if l.WrongCodesPerDay < 3 {
		t.Errorf("%d wrong codes a day: two typos and the right code must pass", l.WrongCodesPerDay)
	}
}
