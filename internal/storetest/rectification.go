package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Rectifier is what a rectification asks of the purpose tables
// (dynamo.Contacts.Rectify and SurveyAttribute).
type Rectifier interface {
	Rectify(ctx context.Context, p dsr.Purpose, s dsr.Subject, refs []string, c dsr.Correction) (int, error)
	SurveyAttribute(ctx context.Context, p dsr.Purpose, s dsr.Subject, attr, value string) ([]dsr.AttributeValue, error)
}

// RectificationDecider records a DPO's decision on a rectification
// (dynamo.Requests.DecideRectification).
type RectificationDecider interface {
	DecideRectification(ctx context.Context, id string, d dsr.RectificationDecision, now time.Time, steps ...dsr.Step) error
}

// rectifyChangesOnlyWhatHoldsTheAttributeOnce: Rectify sets the corrected
// value on the subject's items that hold the attribute, once: a repeat
// changes nothing; an item without the attribute does not gain it; an
// item of another subject is left alone, and SurveyAttribute reads back
// what holds the attribute and whether it holds the corrected value.
func rectifyChangesOnlyWhatHoldsTheAttributeOnce(t *testing.T, tbl ContactTable) {
	t.Parallel()
	rect, ok := tbl.Store.(Rectifier)
	if !ok {
		t.Fatal("the store cannot rectify")
	}
	ctx := t.Context()
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	n := seq.Add(1)
	v := func(name string) string { return fmt.Sprintf("n%d-%s", n, name) }
	named := func(value string, s *dsr.Subject, name string) map[string]any {
		it := tbl.item(value, s)
		it["name"], it["note"] = name, "kept"
		return it
	}
	unnamed := tbl.item(v("unnamed"), &ada)
	must(t, tbl.Put(ctx, named(v("a1"), &ada, "Ada Lovelace"), named(v("a2"), &ada, "Ada Lovelace"), named(v("a3"), &ada, "Ada King"),
		unnamed, named(v("g1"), &grace, "Grace Hopper")))
	corr := dsr.Correction{Attribute: "name", Corrected: "Ada King"}
	refs := tbl.keys(t, ada)
	wantDiff(t, "ada's items", 4, len(refs))
	graceRefs := tbl.keys(t, grace)

	changed, err := rect.Rectify(ctx, tbl.Purpose, ada, append(append([]string{}, refs...), graceRefs...), corr)
	must(t, err)
	wantDiff(t, "items changed", 2, changed)
	again, err := rect.Rectify(ctx, tbl.Purpose, ada, refs, corr)
	must(t, err)
	wantDiff(t, "items changed by a repeat", 0, again)

	found, err := rect.SurveyAttribute(ctx, tbl.Purpose, ada, "name", "Ada King")
	must(t, err)
	held, matching := 0, 0
	for _, it := range found {
		if it.Held {
			held++
		}
		if it.Matches {
			matching++
		}
	}
	wantDiff(t, "ada's items read back", 4, len(found))
	wantDiff(t, "holding name, corrected", [2]int{3, 3}, [2]int{held, matching})
	records := map[string]map[string]any{}
	for _, s := range []dsr.Subject{ada, grace} {
		for cursor, page := "", 0; page == 0 || cursor != ""; page++ {
			recs, next, err := tbl.Store.FindPage(ctx, tbl.Purpose, s, cursor)
			must(t, err)
			for _, r := range recs {
				records[fmt.Sprint(r.Item[tbl.Key])] = r.Item
			}
			cursor = next
		}
	}
	if _, gained := records[v("unnamed")]["name"]; gained {
		t.Error("an item without the attribute gained it")
	}
	wantDiff(t, "grace's name", "Grace Hopper", records[v("g1")]["name"])
	wantDiff(t, "another attribute", "kept", records[v("a1")]["note"])
	if grace, err := rect.SurveyAttribute(ctx, tbl.Purpose, grace, "name", "Ada King"); err != nil || len(grace) != 1 || !grace[0].Held || grace[0].Matches {
		t.Errorf("grace's read-back: %+v, %v", grace, err)
	}
	if _, err := rect.Rectify(ctx, tbl.Purpose, ada, []string{"not a reference"}, corr); err == nil {
		t.Error("a malformed reference is no error")
	}
}

// rectificationDecidedOnceInProgress: a rectification's decision is
// recorded once, with its step, only while it is in progress and pending;
// the correction is kept until the final step removes it with the address.
func rectificationDecidedOnceInProgress(t *testing.T, s Store, _ Options) {
	t.Parallel()
	dec, ok := s.(RectificationDecider)
	if !ok {
		t.Fatal("the store cannot decide a rectification")
	}
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	r.Type = dsr.TypeRectification
	r.Rectification = &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Corrected: "Ada King", Purpose: "newsletter", Evidence: "e"},
		Decision: dsr.RectificationPending}
	must(t, s.Create(ctx, r, aStep))
	wantDiff(t, "stored", r.Rectification, mustGet(t, s, r.ID).Rectification)
	confirm := dsr.RectificationDecision{Outcome: dsr.RectificationConfirmed, Reasons: "seen"}
	if err := dec.DecideRectification(ctx, r.ID, confirm, now, aStep); dsr.ErrorCodeOf(err) != dsr.EConflict {
		t.Errorf("decided while queued: %v", err)
	}
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"newsletter"}}, aStep))
	before := mustGet(t, s, r.ID).Trail.Seq
	must(t, dec.DecideRectification(ctx, r.ID, confirm, now, aStep))
	got := mustGet(t, s, r.ID)
	wantDiff(t, "decision", [2]string{dsr.RectificationConfirmed, "seen"}, [2]string{got.Rectification.Decision, got.Rectification.Reasons})
	wantDiff(t, "steps", before+1, got.Trail.Seq)
	refuse := dsr.RectificationDecision{Outcome: dsr.RectificationRefused, Reasons: "no"}
	for _, d := range []dsr.RectificationDecision{confirm, refuse} {
		if err := dec.DecideRectification(ctx, r.ID, d, now, aStep); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("decided twice (%s): %v", d.Outcome, err)
		}
	}
	wantDiff(t, "steps after the repeats", before+1, mustGet(t, s, r.ID).Trail.Seq)
	must(t, s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now}, aStep))
	got = mustGet(t, s, r.ID)
	want := dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Purpose: "newsletter", Evidence: "e"}, Decision: dsr.RectificationConfirmed, Reasons: "seen"}
	wantDiff(t, "after completion: the corrected value goes with the address", want, *got.Rectification)
	wantDiff(t, "address", "", got.Email)
}

// rectificationTextsStrippedWithIdentifiers: when the accountability
// retention ends, a rectification keeps what was asked and decided (the
// attribute, the purpose, the decision) and loses the free texts that may
// name people (the evidence, the DPO's reasons) with the identifiers.
func rectificationTextsStrippedWithIdentifiers(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx := t.Context()
	r := newRequest()
	r.Type, r.Status, r.SubjectKey, r.Email = dsr.TypeRectification, dsr.StatusCompleted, subjectKey(), ""
	r.CompletedAt = r.ReceivedAt.Add(time.Hour)
	r.Rectification = &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Purpose: "customer_care", Evidence: "Ada's marriage"},
		Decision: dsr.RectificationRefused, Reasons: "the contract names Ada so"}
	must(t, s.Create(ctx, r, aStep))
	must(t, s.StripIdentifiers(ctx, r.ID, requestsNow, aStep))
	want := dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Purpose: "customer_care"}, Decision: dsr.RectificationRefused}
	wantDiff(t, "stripped", want, *mustGet(t, s, r.ID).Rectification)
}
