package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// The retention job's part of the contract: request ids by status and
// receipt, the subjects of open requests, and stripping a request's
// identifiers. ReceivedPage's requests are received in 1985 (before every
// other case's, in statuses the unverified case does not read); every
// request here has a subject key of its own, and those in the list's
// statuses have no due date, so the cases can share a table with the others.

// receivedPageInWindowOldestFirst: the ids of a status's requests received in a window come oldest first, page by page, each once, and none from outside it.
func receivedPageInWindowOldestFirst(t *testing.T, s Store, _ Options) {
	from := time.Date(1985, 6, 1, 0, 0, 0, 0, time.UTC)
	before := from.Add(2 * time.Hour)
	received := map[string]time.Time{}
	create := func(st dsr.Status, at time.Time) string {
		t.Helper()
		r := newRequest()
		// No due date: the list case lists every failed, rejected and
		// expired request with one.
		r.Status, r.ReceivedAt, r.DueAt = st, at, time.Time{}
		must(t, s.Create(t.Context(), r, aStep))
		received[r.ID] = at
		return r.ID
	}
	// More than a page, two at each receipt time (the index's sort key),
	// from the window's first millisecond to its last.
	var want []string
	for i := range dsr.MaxListLimit + 4 {
		want = append(want, create(dsr.StatusExpired, from.Add(time.Duration(i/2)*time.Second)))
	}
	want = append(want, create(dsr.StatusExpired, before.Add(-time.Millisecond)))
	early := create(dsr.StatusExpired, from.Add(-time.Millisecond))
	create(dsr.StatusExpired, before)
	create(dsr.StatusRejected, from.Add(time.Hour))

	got, pages := receivedPages(t, s, from, before)
	wantDiff(t, "expired, received in the window", want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }))
	if pages < 2 {
		t.Errorf("%d ids in %d page, want more than one page", len(got), pages)
	}
	var times []time.Time
	for _, id := range got {
		times = append(times, received[id])
	}
	wantDiff(t, "receipt times, as read", slices.SortedFunc(slices.Values(times), time.Time.Compare), times)
	// From time zero: no lower bound. No other case's request is this old.
	got, _ = receivedPages(t, s, time.Time{}, from)
	wantDiff(t, "expired, received before the window", []string{early}, got)
	got, _ = receivedPages(t, s, before.Add(time.Millisecond), before.Add(time.Hour))
	wantDiff(t, "expired, received after the window", []string(nil), got, cmpopts.EquateEmpty())
}

// receivedPages reads every page of the expired requests received in
// [from, before), failing on a page over dsr.MaxListLimit or an id read
// twice. It returns the ids and the number of pages.
func receivedPages(t *testing.T, s Store, from, before time.Time) ([]string, int) {
	t.Helper()
	var got []string
	seen := map[string]bool{}
	cursor := ""
	for n := 1; ; n++ {
		if n > 10 {
			t.Fatal("received pages do not end")
		}
		ids, next, err := s.ReceivedPage(t.Context(), dsr.StatusExpired, from, before, cursor)
		must(t, err)
		if len(ids) > dsr.MaxListLimit {
			t.Errorf("page %d: %d ids, more than %d", n, len(ids), dsr.MaxListLimit)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("page %d: %s again", n, id)
			}
			seen[id] = true
		}
		got = append(got, ids...)
		if next == "" {
			return got, n
		}
		cursor = next
	}
}

// openSubjects: the subjects of open requests, and of failed ones not yet due, are open; no others, and no subject "" for requests without a key.
func openSubjects(t *testing.T, s Store, _ Options) {
	ctx, now := t.Context(), requestsNow
	want := map[string]bool{"": false}
	create := func(st dsr.Status, key string) *dsr.Request {
		t.Helper()
		r := newRequest()
		r.Status, r.SubjectKey, r.DueAt = st, key, time.Time{} // not in the list case's lists
		must(t, s.Create(ctx, r, aStep))
		return r
	}
	for _, st := range dsr.OpenStatuses {
		want[create(st, subjectKey()).SubjectKey] = true
	}
	for _, st := range []dsr.Status{dsr.StatusCompleted, dsr.StatusRejected, dsr.StatusExpired} {
		want[create(st, subjectKey()).SubjectKey] = false
	}
	// A subject with a completed request and an open one.
	both := subjectKey()
	create(dsr.StatusCompleted, both)
	create(dsr.StatusQueued, both)
	want[both] = true
	// A request that was open and is answered.
	answered := create(dsr.StatusAwaitingVerification, subjectKey())
	for _, step := range [][2]dsr.Status{
		{dsr.StatusAwaitingVerification, dsr.StatusQueued},
		{dsr.StatusQueued, dsr.StatusInProgress},
		{dsr.StatusInProgress, dsr.StatusCompleted},
	} {
		must(t, s.Transition(ctx, answered.ID, step[0], step[1], now, dsr.Changes{}, aStep))
	}
	want[answered.SubjectKey] = false
	// A failed request holds its subject's provenance until its due date.
	late, inTime := create(dsr.StatusFailed, subjectKey()), create(dsr.StatusFailed, subjectKey())
	want[late.SubjectKey], want[inTime.SubjectKey] = false, true
	for id, due := range map[string]time.Time{late.ID: now.Add(-time.Hour), inTime.ID: now.Add(time.Hour)} {
		must(t, s.SetDeadline(ctx, id, 0, dsr.Extension{Months: 1, Reason: "r", By: "dpo", At: now, DueAt: due}, aStep))
	}
	open, err := s.OpenSubjects(ctx, now)
	must(t, err)
	got := map[string]bool{}
	for key := range want {
		got[key] = open[key]
	}
	wantDiff(t, "open, by subject key", want, got)
}

// identifiersStrippedOnce: stripping removes a request's identifiers and free texts (grounds, reasons) and keeps the rest, once, and only of a known request; its former subject key no longer finds it.
func identifiersStrippedOnce(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx := t.Context()
	key := subjectKey()
	r := newRequest()
	r.Type, r.Status, r.SubjectKey = dsr.TypeObjection, dsr.StatusCompleted, key
	r.Purposes, r.Grounds = []string{"customer_care"}, "I moved away"
	r.VerifiedAt, r.CompletedAt = r.ReceivedAt.Add(time.Hour), r.ReceivedAt.Add(2*time.Hour)
	r.PlannedPurposes, r.DoneParts = []string{"customer_care"}, map[string]int{"customer_care": 1}
	r.ObjectionDecisions = map[string]string{"customer_care": dsr.DecisionUpheld}
	r.Result = &dsr.Result{CertificateKey: "c.json"}
	r.FailureReason = "rejected as excessive (Art. 12(5)): a DPO's words naming Grace"
	r.Extensions = []dsr.Extension{
		{Months: 1, Reason: "Ada's many records", By: "dpo-1", At: r.ReceivedAt, DueAt: r.DueAt.AddDate(0, 1, 0)},
		{Months: 1, Reason: "still many", By: "dpo-2", At: r.ReceivedAt, DueAt: r.DueAt.AddDate(0, 2, 0)},
	}
	must(t, s.Create(ctx, r, aStep))
	before := mustGet(t, s, r.ID)
	at := requestsNow.Add(123 * time.Millisecond)
	must(t, s.StripIdentifiers(ctx, r.ID, at, aStep))
	want := *before
	// Identifiers and free texts go (Art. 5(1)(e)); what was done, when and by whom stays.
	want.Email, want.MaskedEmail, want.SubjectKey, want.Grounds, want.CodeHash, want.TokenHash = "", "", "", "", "", ""
	want.FailureReason = ""
	want.Extensions = []dsr.Extension{
		{Months: 1, By: "dpo-1", At: r.ReceivedAt, DueAt: r.DueAt.AddDate(0, 1, 0)},
		{Months: 1, By: "dpo-2", At: r.ReceivedAt, DueAt: r.DueAt.AddDate(0, 2, 0)},
	}
	want.IdentifiersRemovedAt, want.UpdatedAt = at, at
	wantDiff(t, "stripped", &want, mustGet(t, s, r.ID), ignoreTrail)
	wantCode(t, "a second strip", s.StripIdentifiers(ctx, r.ID, at.Add(time.Hour), aStep), dsr.EConflict)
	wantDiff(t, "removed at, after a second strip", at, mustGet(t, s, r.ID).IdentifiersRemovedAt)
	wantCode(t, "strip an unknown request", s.StripIdentifiers(ctx, unknownRequest, at, aStep), dsr.EConflict)
	found, err := s.BySubject(ctx, key)
	must(t, err)
	wantDiff(t, "found by its former subject key", []string(nil), requestIDs(found))
}
