package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestProvenanceEntry(t *testing.T) {
	ev := dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "marketing", Event: dsr.EventCollected, Source: "fair",
		At: time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC)}
	e := dsr.NewProvenanceEntry(ev, "KEY", 2)
	if want := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC); !e.ExpiresAt.Equal(want) {
		t.Errorf("29 February + 2 years: got %v, want %v", e.ExpiresAt, want)
	}
	if again := dsr.NewProvenanceEntry(ev, "KEY", 2); again.ID != e.ID {
		t.Error("the same event must have the same id (stored once)")
	}
	other := ev
	other.Source = "fai"
	if dsr.NewProvenanceEntry(other, "KEY", 2).ID == e.ID || dsr.NewProvenanceEntry(ev, "KEY2", 2).ID == e.ID {
		t.Error("different events share an id")
	}
	if len(e.ID) != 32 || strings.Contains(e.ID, "ada") {
		t.Errorf("id %q", e.ID)
	}
	if !e.Live(e.ExpiresAt.Add(-time.Second)) || e.Live(e.ExpiresAt) {
		t.Error("an entry is live until its expiry, not at it")
	}
}

func TestProvenanceByPurpose(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	entries := []dsr.ProvenanceEntry{
		{ID: "b", Purpose: "marketing", Event: dsr.EventDisclosed, Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at.Add(time.Hour), ExpiresAt: at.AddDate(2, 0, 0)},
		{ID: "a", Purpose: "marketing", Event: dsr.EventCollected, Source: "fair", At: at, ExpiresAt: at.AddDate(2, 0, 0)},
		{ID: "c", Purpose: "marketing", Event: dsr.EventCollected, Source: "old fair", At: at.AddDate(-2, 0, 0), ExpiresAt: at},
		{ID: "d", Purpose: "billing", Event: dsr.EventCollected, Source: "shop", At: at, ExpiresAt: at.AddDate(2, 0, 0)},
	}
	got := dsr.ProvenanceByPurpose(entries, at.Add(2*time.Hour))
	want := map[string]dsr.Provenance{
		"marketing": {Sources: []dsr.Source{{Source: "fair", At: at}}, Recipients: []dsr.Recipient{{Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at.Add(time.Hour)}}},
		"billing":   {Sources: []dsr.Source{{Source: "shop", At: at}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("provenance (-want +got); the expired entry must be ignored:\n%s", diff)
	}
}

func TestRecipientNotices(t *testing.T) {
	reg := demoRegistry(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	print := dsr.Recipient{Recipient: "Example Print GmbH", Country: "DE", At: at}
	merged := dsr.NotifiedRecipients(map[string][]dsr.Recipient{
		"marketing": {print, {Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at}},
		"billing":   {{Recipient: "Example Print GmbH", Country: "DE", At: at.Add(time.Hour)}},
	}, []string{"marketing", "billing"})
	want := []dsr.Recipient{
		{Recipient: "Example Print GmbH", Country: "DE", At: at.Add(time.Hour), Purposes: []string{"marketing", "billing"}},
		{Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at, Purposes: []string{"marketing"}},
	}
	if diff := cmp.Diff(want, merged); diff != "" {
		t.Fatalf("one entry per recipient (-want +got):\n%s", diff)
	}
	r := &dsr.Request{ID: "R1", Type: dsr.TypeErasure, Email: "ada@example.com"}
	notices := dsr.RecipientNotices(r, merged, reg, at)
	if len(notices) != 2 || notices[0].NoticeID == notices[1].NoticeID {
		t.Fatalf("notices: %+v", notices)
	}
	if diff := cmp.Diff([]dsr.NoticePurpose{{Purpose: "marketing", Action: dsr.ActionDelete}, {Purpose: "billing", Action: dsr.ActionRestrict}}, notices[0].Purposes); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if again := dsr.RecipientNotices(r, merged, reg, at.Add(time.Minute)); again[0].NoticeID != notices[0].NoticeID {
		t.Error("a notice sent again must keep its id")
	}
}

func TestHoldsProvenance(t *testing.T) {
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		status dsr.Status
		due    time.Time
		want   bool
	}{
		{dsr.StatusAwaitingVerification, time.Time{}, true},
		{dsr.StatusQueued, now.Add(-time.Hour), true},
		{dsr.StatusInProgress, now.Add(-time.Hour), true},
		{dsr.StatusFailed, now.Add(time.Hour), true},
		{dsr.StatusFailed, time.Time{}, true},
		{dsr.StatusFailed, now.Add(-time.Hour), false},
		{dsr.StatusCompleted, now.Add(time.Hour), false},
		{dsr.StatusRejected, time.Time{}, false},
		{dsr.StatusExpired, time.Time{}, false},
	}
	for _, tt := range tests {
		r := &dsr.Request{Status: tt.status, DueAt: tt.due}
		if got := r.HoldsProvenance(now); got != tt.want {
			t.Errorf("%s due %v: holds %v, want %v", tt.status, tt.due, got, tt.want)
		}
	}
}

func TestUpheldNotices(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "R1", Type: dsr.TypeObjection, Email: "ada@example.com", Result: &dsr.Result{Recipients: []dsr.Recipient{
		{Recipient: "Printer", Country: "DE", Purposes: []string{"customer_care", "billing"}},
		{Recipient: "Mailer", Country: "US", Purposes: []string{"newsletter"}},
	}}}
	got := dsr.UpheldNotices(r, "customer_care", at)
	if len(got) != 1 || got[0].Recipient != "Printer" || !cmp.Equal(got[0].Purposes, []dsr.NoticePurpose{{Purpose: "customer_care", Action: dsr.ActionDelete}}) {
		t.Fatalf("notices %+v", got)
	}
	if first := dsr.RecipientNotices(r, r.Result.Recipients[:1], demoRegistry(t), at); first[0].NoticeID == got[0].NoticeID {
		t.Error("the erasure notice reuses the id of the first notice")
	}
	if dsr.UpheldNotices(&dsr.Request{ID: "R2"}, "customer_care", at) != nil {
		t.Error("a request without a result has no recipients")
	}
}
