package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// SuppressionStore is the suppression list's contract.
type SuppressionStore interface {
	Add(ctx context.Context, entries []dsr.Suppression) error
	Entries(ctx context.Context, subjectKey string) ([]dsr.Suppression, error)
	Remove(ctx context.Context, subjectKey, scope, requestID string) error
	Canary(ctx context.Context, value string) (string, error)
}

// RunSuppressions runs the suppression list's contract against the store
// newStore returns, a list never used before. Its cases run in order on that
// one list: the first gives it its canary, as the service's first start
// does, and the others work on subject keys of their own in a list that
// holds one.
func RunSuppressions(t *testing.T, newStore func(t *testing.T) SuppressionStore) {
	s := newStore(t)
	cases := []struct {
		name string
		run  func(t *testing.T, s SuppressionStore)
	}{
		{"CanaryKeepsTheFirstPepper", canaryKeepsTheFirstPepper},
		{"AddKeepsTheFirstEntryOfEachScope", addKeepsTheFirstEntryOfEachScope},
		{"UnknownSubjectHasNoEntries", unknownSubjectHasNoEntries},
		{"EntryNeedsASubjectKey", entryNeedsASubjectKey},
		{"RemoveTakesOnlyTheRequestsOwnEntry", removeTakesOnlyTheRequestsOwnEntry},
		{"ChannelEntriesStandBesideThePurposes", channelEntriesStandBesideThePurposes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, s) })
	}
}

var (
	suppressionsAt   = time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	sortSuppressions = cmpopts.SortSlices(func(a, b dsr.Suppression) bool { return a.Scope < b.Scope })
)

// canaryKeepsTheFirstPepper: the first pepper's canary stays; a later one is told the first.
func canaryKeepsTheFirstPepper(t *testing.T, s SuppressionStore) {
	var got []string
	for _, try := range []string{"pepper one", "pepper two", "pepper one"} {
		c, err := s.Canary(t.Context(), try)
		must(t, err)
		got = append(got, c)
	}
	wantDiff(t, "canary, pepper by pepper", []string{"pepper one", "pepper one", "pepper one"}, got)
}

// suppressed adds an objection's two entries for a subject of its own, then
// (a redelivered task) an erasure's later entries for that subject and
// another's. It returns the subject key and the entries it should have.
func suppressed(t *testing.T, s SuppressionStore) (string, []dsr.Suppression) {
	t.Helper()
	ctx, at := t.Context(), suppressionsAt
	key, other := subjectKey(), subjectKey()
	objection := []dsr.Suppression{
		{SubjectKey: key, Scope: "marketing", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "R1"},
		{SubjectKey: key, Scope: "newsletter", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "R1"},
	}
	must(t, s.Add(ctx, objection))
	later := at.Add(time.Hour)
	must(t, s.Add(ctx, []dsr.Suppression{
		{SubjectKey: key, Scope: "marketing", Reason: dsr.SuppressedByErasure, Since: later, RequestID: "R2"},
		{SubjectKey: key, Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: later, RequestID: "R2"},
		{SubjectKey: other, Scope: "billing", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "R3"},
	}))
	return key, append(objection, dsr.Suppression{SubjectKey: key, Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: later, RequestID: "R2"})
}

// addKeepsTheFirstEntryOfEachScope: adding again (a redelivered task) and adding later entries keep the first of each scope.
func addKeepsTheFirstEntryOfEachScope(t *testing.T, s SuppressionStore) {
	key, want := suppressed(t, s)
	got, err := s.Entries(t.Context(), key)
	must(t, err)
	wantDiff(t, "entries", want, got, sortSuppressions)
}

// unknownSubjectHasNoEntries: a subject never added has no entries.
func unknownSubjectHasNoEntries(t *testing.T, s SuppressionStore) {
	got, err := s.Entries(t.Context(), subjectKey())
	must(t, err)
	wantDiff(t, "unknown subject", []dsr.Suppression(nil), got, cmpopts.EquateEmpty())
}

// entryNeedsASubjectKey: an entry without a subject key is not added.
func entryNeedsASubjectKey(t *testing.T, s SuppressionStore) {
	if err := s.Add(t.Context(), []dsr.Suppression{{Scope: "marketing"}}); err == nil {
		t.Error("an entry without subject key was added")
	}
}

// removeTakesOnlyTheRequestsOwnEntry: an overridden objection removes its own entry, never another request's.
func removeTakesOnlyTheRequestsOwnEntry(t *testing.T, s SuppressionStore) {
	ctx := t.Context()
	key, want := suppressed(t, s)
	must(t, s.Remove(ctx, key, "marketing", "R1"))
	must(t, s.Remove(ctx, key, dsr.ScopeAll, "R1"))
	got, err := s.Entries(ctx, key)
	must(t, err)
	wantDiff(t, "after removals", want[1:], got, sortSuppressions)
}
