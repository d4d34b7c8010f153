package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// channelEntriesStandBesideThePurposes: an entry of one channel of a
// purpose is kept beside the purpose's own entry and another channel's,
// each the first of its channel, and an objection's removal of the purpose
// leaves the channel's entry.
func channelEntriesStandBesideThePurposes(t *testing.T, s SuppressionStore) {
	ctx, at := t.Context(), suppressionsAt
	key := subjectKey()
	email := dsr.Suppression{SubjectKey: key, Scope: "marketing", Channel: dsr.ChannelEmail, Reason: dsr.SuppressedByWithdrawal, Since: at, RequestID: "P1"}
	post := dsr.Suppression{SubjectKey: key, Scope: "marketing", Channel: dsr.ChannelPost, Reason: dsr.SuppressedByWithdrawal, Since: at, RequestID: "P1"}
	whole := dsr.Suppression{SubjectKey: key, Scope: "marketing", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "O1"}
	must(t, s.Add(ctx, []dsr.Suppression{email, post}))
	again := email
	again.Since, again.RequestID = at.Add(time.Hour), "P2"
	must(t, s.Add(ctx, []dsr.Suppression{again, whole}))
	order := cmpopts.SortSlices(func(a, b dsr.Suppression) bool { return a.Scope+"#"+string(a.Channel) < b.Scope+"#"+string(b.Channel) })
	got, err := s.Entries(ctx, key)
	must(t, err)
	wantDiff(t, "entries", []dsr.Suppression{email, post, whole}, got, order)
	must(t, s.Remove(ctx, key, "marketing", "O1"))
	got, err = s.Entries(ctx, key)
	must(t, err)
	wantDiff(t, "after the objection's removal", []dsr.Suppression{email, post}, got, order)
}

// setPreferencesChangesOnlyTheSubjectsItems: SetPreferences sets the
// withdrawal time and the frequency on the subject's items, the same again
// is harmless, and an item of another subject or one gone is not touched
// (nor created).
func setPreferencesChangesOnlyTheSubjectsItems(t *testing.T, tbl ContactTable) {
	t.Parallel()
	ctx := t.Context()
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	adas := tbl.add(t, ada, 3)
	tbl.add(t, grace, 1)
	refs := tbl.keys(t, ada)
	graceRefs := tbl.keys(t, grace)
	at := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	u := dsr.PreferenceUpdate{Withdraw: []string{"emailWithdrawnAt"}, FrequencyAttr: "frequency", FrequencyValue: "monthly", At: at}
	for round := range 2 {
		n, err := tbl.Store.SetPreferences(ctx, tbl.Purpose, ada, append(slices.Clone(refs), graceRefs...), u)
		must(t, err)
		wantDiff(t, fmt.Sprintf("items changed, round %d", round+1), 3, n)
	}
	must(t, tbl.Store.Delete(ctx, tbl.Purpose, refs[:1]))
	n, err := tbl.Store.SetPreferences(ctx, tbl.Purpose, ada, refs, u)
	must(t, err)
	wantDiff(t, "items changed once one is gone", 2, n)
	wantDiff(t, "ada's records", adas[1:], tbl.records(t, ada))
	for _, s := range []dsr.Subject{ada, grace} {
		recs, _, err := tbl.Store.FindPage(ctx, tbl.Purpose, s, "")
		must(t, err)
		for _, r := range recs {
			want := map[string]any{"emailWithdrawnAt": "2026-12-02T18:00:00Z", "frequency": "monthly"}
			if s == grace {
				want = map[string]any{"emailWithdrawnAt": nil, "frequency": nil}
			}
			got := map[string]any{"emailWithdrawnAt": r.Item["emailWithdrawnAt"], "frequency": r.Item["frequency"]}
			wantDiff(t, s.Key+"'s record", want, got)
		}
	}
}
