package dsr_test

import (
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestSuppressed(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.AddDate(0, 1, 0)
	entries := []dsr.Suppression{
		{Scope: "newsletter", Reason: dsr.SuppressedByObjection, Since: t1},
		{Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: t2},
	}
	dm := []dsr.Suppression{{Scope: dsr.ScopeDirectMarketing, Reason: dsr.SuppressedByObjection, Since: t1}}
	newsletter := dsr.Purpose{Name: "newsletter", DirectMarketing: true}
	billing := dsr.Purpose{Name: "billing"}
	postal := dsr.Purpose{Name: "postal_ads", DirectMarketing: true} // flagged after the objection
	tests := []struct {
		name    string
		entries []dsr.Suppression
		purpose dsr.Purpose
		reason  string
		since   time.Time
	}{
		{"no entries", nil, newsletter, "", time.Time{}},
		{"other purpose only", entries[:1], billing, "", time.Time{}},
		{"the purpose objected to", entries[:1], newsletter, dsr.SuppressedByObjection, t1},
		{"erasure covers every purpose", entries, billing, dsr.SuppressedByErasure, t2},
		{"the earliest entry gives the reason", entries, newsletter, dsr.SuppressedByObjection, t1},
		{"direct marketing covers a purpose flagged later", dm, postal, dsr.SuppressedByObjection, t1},
		{"direct marketing does not cover billing", dm, billing, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dsr.Suppressed(tc.entries, tc.purpose)
			if got.Suppressed != (tc.reason != "") || got.Reason != tc.reason || (got.Since != nil && !got.Since.Equal(tc.since)) {
				t.Errorf("Suppressed = %+v", got)
			}
		})
	}
}
