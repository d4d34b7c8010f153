package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// ContactStore is the purpose tables' contract (dynamo.Contacts): every
// method the worker uses.
type ContactStore interface {
	FindPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]dsr.Record, string, error)
	KeysPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error)
	Delete(ctx context.Context, p dsr.Purpose, refs []string) error
	Restrict(ctx context.Context, p dsr.Purpose, refs []string, r dsr.Restriction) error
	Unrestrict(ctx context.Context, p dsr.Purpose, refs []string, requestID string) error
	Survey(ctx context.Context, p dsr.Purpose, s dsr.Subject) ([]dsr.ItemRef, error)
	Backups(ctx context.Context, p dsr.Purpose, deletedAt time.Time) ([]dsr.Copy, error)
	DueRestrictions(ctx context.Context, month string, now time.Time, limit int) ([]dsr.DueRestriction, error)
	EndRestrictions(ctx context.Context, p dsr.Purpose, due []dsr.DueRestriction, now time.Time) ([]dsr.DueRestriction, error)
	DropDue(ctx context.Context, due []dsr.DueRestriction) error
	ExtendRestrictions(ctx context.Context, p dsr.Purpose, refs []string, requestID string, until time.Time) (int, error)
	SetPreferences(ctx context.Context, p dsr.Purpose, s dsr.Subject, refs []string, u dsr.PreferenceUpdate) (int, error)
}

// ContactTable is a purpose table as the suite uses it: Store reads it in
// pages of the size the suite asked for; Purpose is the registry entry whose
// table it is, keyed on the string attribute Key, with point-in-time
// recovery (as template.yaml has it); Put writes items as the CRM does.
type ContactTable struct {
	Store   ContactStore
	Purpose dsr.Purpose
	Key     string
	Put     func(ctx context.Context, items ...map[string]any) error

	pageSize int // what RunContacts asked newTable for
}

// contactCase is one case of RunContacts.
type contactCase struct {
	name     string
	pageSize int
	run      func(t *testing.T, tbl ContactTable)
}

// RunContacts runs the purpose tables' contract against the tables newTable
// returns, read in pages of pageSize items. A table may be shared by the
// cases: each keeps to subjects and keys of its own, so all run in parallel.
func RunContacts(t *testing.T, newTable func(t *testing.T, pageSize int) ContactTable) {
	for _, c := range []contactCase{
		{"PagesHoldEveryItemOfTheSubjectOnce", 4, pagesHoldEveryItemOfTheSubjectOnce},
		{"ItemsAreTheSubjectsByKeyAndAddress", 2, itemsAreTheSubjectsByKeyAndAddress},
		{"FindPageGivesEveryAttributeAsStored", 10, findPageGivesEveryAttributeAsStored},
		{"DeleteRemovesAndAgainIsNoError", 3, deleteRemovesAndAgainIsNoError},
		{"RestrictMarksAsSurveyReports", 10, restrictMarksAsSurveyReports},
		{"RestrictWithoutOverrideKeepsAMark", 10, restrictWithoutOverrideKeepsAMark},
		{"StatutoryRestrictionLastsEachRecordsDuty", 10, statutoryRestrictionLastsEachRecordsDuty},
		{"StatutoryRestrictionKeepsOnlyWhatTheDutyCovers", 10, statutoryRestrictionKeepsOnlyWhatTheDutyCovers},
		{"StatutoryRestrictionDeletesWhatIsPastDuty", 10, statutoryRestrictionDeletesWhatIsPastDuty},
		{"EndRestrictionsDeletesWhatIsDue", 10, endRestrictionsDeletesWhatIsDue},
		{"ExtendRestrictionsOnlyLengthens", 10, extendRestrictionsOnlyLengthens},
		{"UnrestrictLiftsOnlyTheRequestsObjection", 10, unrestrictLiftsOnlyTheRequestsObjection},
		{"UnrestrictLiftsTheRequestsRestrictionOnAnyGround", 10, unrestrictLiftsTheRequestsRestrictionOnAnyGround},
		{"RestrictionOnAGroundKeepsAnExistingMark", 10, restrictionOnAGroundKeepsAnExistingMark},
		{"SurveyListsWhatIsLeftInKeyOrder", 10, surveyListsWhatIsLeftInKeyOrder},
		{"BackupsNameTheRecoveryWindow", 10, backupsNameTheRecoveryWindow},
		{"MalformedReferencesAreErrors", 10, malformedReferencesAreErrors},
		{"RectifyChangesOnlyWhatHoldsTheAttributeOnce", 2, rectifyChangesOnlyWhatHoldsTheAttributeOnce},
		{"SetPreferencesChangesOnlyTheSubjectsItems", 2, setPreferencesChangesOnlyTheSubjectsItems},
	} {
		t.Run(c.name, func(t *testing.T) {
			tbl := newTable(t, c.pageSize)
			tbl.pageSize = c.pageSize
			c.run(t, tbl)
		})
	}
}

// contactsUntil is the end of the suite's statutory restrictions.
var contactsUntil = time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)

// statutory is an erasure's restriction by request id, until contactsUntil.
func statutory(id string) dsr.Restriction {
	return dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: id, Since: time.Now(), Until: contactsUntil, Overrides: true}
}

// pendingObjection is an objection's restriction by request id.
func pendingObjection(id string) dsr.Restriction {
	return dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: id, Since: time.Now()}
}

// contactsSubject returns a new subject, its key unlike its address.
func contactsSubject(name string) dsr.Subject {
	n := seq.Add(1)
	return dsr.Subject{Email: fmt.Sprintf("%s.%d@example.com", name, n), Key: fmt.Sprintf("sk%d%s", n, name)}
}

// item is an item keyed value, of s (nil: with neither address nor key).
func (tbl ContactTable) item(value string, s *dsr.Subject) map[string]any {
	it := map[string]any{tbl.Key: value}
	if s != nil {
		it[tbl.Purpose.Identifier], it[tbl.Purpose.SubjectKeyAttribute] = s.Email, s.Key
	}
	return it
}

// add puts n items of s and returns their key values, sorted.
func (tbl ContactTable) add(t *testing.T, s dsr.Subject, n int) []string {
	t.Helper()
	var values []string
	var items []map[string]any
	prefix := seq.Add(1)
	for i := range n {
		v := fmt.Sprintf("c%d-%04d", prefix, i)
		values, items = append(values, v), append(items, tbl.item(v, &s))
	}
	must(t, tbl.Put(t.Context(), items...))
	return values
}

// keys reads every page of s's item references, sorted, checking each
// page's size and that no reference or cursor holds the address or the
// subject key.
func (tbl ContactTable) keys(t *testing.T, s dsr.Subject) []string {
	t.Helper()
	var refs []string
	for cursor, page := "", 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		got, next, err := tbl.Store.KeysPage(t.Context(), tbl.Purpose, s, cursor)
		must(t, err)
		if tbl.pageSize > 0 && len(got) > tbl.pageSize {
			t.Errorf("a page of %d keys, pages of %d asked for", len(got), tbl.pageSize)
		}
		for _, opaque := range append(slices.Clone(got), next) {
			if raw, _ := base64.RawURLEncoding.DecodeString(opaque); strings.Contains(string(raw), "@") || strings.Contains(string(raw), s.Key) {
				t.Errorf("a reference or cursor holds the subject: %s", raw)
			}
		}
		refs = append(refs, got...)
		if next == "" {
			slices.Sort(refs)
			return refs
		}
		cursor = next
	}
}

// records reads every page of s's records and returns the values of their
// key attribute, sorted.
func (tbl ContactTable) records(t *testing.T, s dsr.Subject) []string {
	t.Helper()
	var values []string
	for cursor, page := "", 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		recs, next, err := tbl.Store.FindPage(t.Context(), tbl.Purpose, s, cursor)
		must(t, err)
		for _, r := range recs {
			values = append(values, fmt.Sprint(r.Item[tbl.Key]))
		}
		if next == "" {
			slices.Sort(values)
			return values
		}
		cursor = next
	}
}

// survey returns Survey's answer for s.
func (tbl ContactTable) survey(t *testing.T, s dsr.Subject) []dsr.ItemRef {
	t.Helper()
	got, err := tbl.Store.Survey(t.Context(), tbl.Purpose, s)
	must(t, err)
	return got
}

// surveyKeys returns the keys Survey finds of s, in its order.
func (tbl ContactTable) surveyKeys(t *testing.T, s dsr.Subject) []string {
	t.Helper()
	var keys []string
	for _, it := range tbl.survey(t, s) {
		keys = append(keys, it.Key)
	}
	return keys
}

// restrictedUntil is what Survey says of each of s's items, in its order:
// "-" unrestricted, else the day its restriction ends ("" for none).
func (tbl ContactTable) restrictedUntil(t *testing.T, s dsr.Subject) []string {
	t.Helper()
	var got []string
	for _, it := range tbl.survey(t, s) {
		switch {
		case !it.Restricted:
			got = append(got, "-")
		case it.Until.IsZero():
			got = append(got, "")
		default:
			got = append(got, it.Until.UTC().Format(time.DateOnly))
		}
	}
	return got
}

// pagesHoldEveryItemOfTheSubjectOnce: KeysPage and FindPage page through
// every item of the subject once, in pages no larger than asked for, and
// through no one else's; Survey finds the same references.
func pagesHoldEveryItemOfTheSubjectOnce(t *testing.T, tbl ContactTable) {
	t.Parallel()
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	adas, graces := tbl.add(t, ada, 11), tbl.add(t, grace, 3)
	refs := tbl.keys(t, ada)
	if len(refs) != 11 || len(slices.Compact(slices.Clone(refs))) != 11 {
		t.Errorf("%d keys of ada's 11 items, %d distinct", len(refs), len(slices.Compact(slices.Clone(refs))))
	}
	wantDiff(t, "Survey's keys, against KeysPage's", refs, tbl.surveyKeys(t, ada))
	wantDiff(t, "ada's records", adas, tbl.records(t, ada))
	wantDiff(t, "grace's records", graces, tbl.records(t, grace))
	wantDiff(t, "the keys of someone without items", []string(nil), tbl.keys(t, contactsSubject("nobody")))
}

// itemsAreTheSubjectsByKeyAndAddress: the subject's items are those that
// hold their subject key and their address (by the one address rule): not
// an item whose address changed (its key not yet rewritten), nor one
// without a key or an address.
func itemsAreTheSubjectsByKeyAndAddress(t *testing.T, tbl ContactTable) {
	t.Parallel()
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	n := seq.Add(1)
	v := func(name string) string { return fmt.Sprintf("o%d-%s", n, name) }
	upper, moved := ada, ada
	upper.Email = strings.ToUpper(ada.Email) // still ada's
	moved.Email = grace.Email                // the CRM changed the address; the stream has not keyed it yet
	unkeyed, noIdentifier := tbl.item(v("unkeyed"), nil), tbl.item(v("no-identifier"), nil)
	unkeyed[tbl.Purpose.Identifier], noIdentifier[tbl.Purpose.SubjectKeyAttribute] = ada.Email, ada.Key
	must(t, tbl.Put(t.Context(), tbl.item(v("own"), &ada), tbl.item(v("upper"), &upper), tbl.item(v("moved"), &moved),
		unkeyed, noIdentifier, tbl.item(v("grace"), &grace)))
	wantDiff(t, "ada's records", []string{v("own"), v("upper")}, tbl.records(t, ada))
	keys := tbl.keys(t, ada)
	wantDiff(t, "Survey's keys, against KeysPage's", keys, tbl.surveyKeys(t, ada))
	if len(keys) != 2 {
		t.Errorf("ada's keys: %d, want 2", len(keys))
	}
	wantDiff(t, "grace's records", []string{v("grace")}, tbl.records(t, grace))
}

// findPageGivesEveryAttributeAsStored: a record is the item as DynamoDB
// gives it back, numbers digit for digit (json.Number), with the table's
// name; a restricted one carries its mark, times as the adapter writes them.
func findPageGivesEveryAttributeAsStored(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s, value := contactsSubject("ada"), fmt.Sprintf("r%d", seq.Add(1))
	it := tbl.item(value, &s)
	it["total"], it["big"], it["ratio"], it["paid"] = 7, uint64(12345678901234567890), 1.5, true
	it["lines"], it["address"], it["note"], it["none"] = []any{"a", 2}, map[string]any{"city": "Berlin"}, "", nil
	must(t, tbl.Put(t.Context(), it))
	want := tbl.item(value, &s)
	want["total"], want["big"], want["ratio"], want["paid"] = json.Number("7"), json.Number("12345678901234567890"), json.Number("1.5"), true
	want["lines"], want["address"], want["note"], want["none"] = []any{"a", json.Number("2")}, map[string]any{"city": "Berlin"}, "", nil
	find := func() []dsr.Record {
		recs, next, err := tbl.Store.FindPage(t.Context(), tbl.Purpose, s, "")
		must(t, err)
		wantDiff(t, "next", "", next)
		return recs
	}
	wantDiff(t, "records", []dsr.Record{{Table: tbl.Purpose.Table, Item: want}}, find())
	r := statutory("R1")
	r.Since = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	// A duty that covers every attribute: the restricted record keeps them
	// all, but the address, which its subject key replaces.
	p := tbl.Purpose
	p.RetainedAttributes = []string{"total", "big", "ratio", "paid", "lines", "address", "note", "none"}
	must(t, tbl.Store.Restrict(t.Context(), p, tbl.keys(t, s), r))
	want["dsrRestriction"] = map[string]any{"reason": r.Reason, "requestId": "R1", "since": "2026-11-29T10:00:00.000Z", "until": "2037-01-01T00:00:00.000Z"}
	want[p.Identifier] = s.Key
	wantDiff(t, "a restricted record", []dsr.Record{{Table: tbl.Purpose.Table, Item: want}}, find())
	must(t, tbl.Store.DropDue(t.Context(), tbl.dueOf(t, "2037-01", contactsUntil, tbl.keys(t, s))))
}

// deleteRemovesAndAgainIsNoError: deleting the subject's items page by page
// leaves none of theirs and all of someone else's; deleting them again is no
// error.
func deleteRemovesAndAgainIsNoError(t *testing.T, tbl ContactTable) {
	t.Parallel()
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	tbl.add(t, ada, 7)
	graces := tbl.add(t, grace, 3)
	var deleted []string
	for cursor, page := "", 0; page == 0 || cursor != ""; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		refs, next, err := tbl.Store.KeysPage(t.Context(), tbl.Purpose, ada, cursor)
		must(t, err)
		must(t, tbl.Store.Delete(t.Context(), tbl.Purpose, refs))
		deleted, cursor = append(deleted, refs...), next
	}
	wantDiff(t, "items deleted", 7, len(deleted))
	wantDiff(t, "ada's items left", []dsr.ItemRef{}, tbl.survey(t, ada), cmpopts.EquateEmpty())
	wantDiff(t, "ada's records left", []string(nil), tbl.records(t, ada))
	wantDiff(t, "grace's records", graces, tbl.records(t, grace))
	if err := tbl.Store.Delete(t.Context(), tbl.Purpose, deleted); err != nil {
		t.Errorf("deleting what is gone: %v", err)
	}
}

// restrictMarksAsSurveyReports: Survey reports restricted items with their
// restriction's end, or none until a decision; a later overriding
// restriction replaces a mark with its own end.
func restrictMarksAsSurveyReports(t *testing.T, tbl ContactTable) {
	t.Parallel()
	grace, objector := contactsSubject("grace"), contactsSubject("objector")
	tbl.add(t, grace, 4)
	tbl.add(t, objector, 2)
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, tbl.keys(t, grace), statutory("R1")))
	wantDiff(t, "grace's items", []string{"2037-01-01", "2037-01-01", "2037-01-01", "2037-01-01"}, tbl.restrictedUntil(t, grace))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, tbl.keys(t, objector), pendingObjection("R2")))
	wantDiff(t, "the objector's items, until a decision", []string{"", ""}, tbl.restrictedUntil(t, objector))
	later := statutory("R3")
	later.Until = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, tbl.keys(t, grace)[:1], later))
	got := tbl.restrictedUntil(t, grace)
	slices.Sort(got)
	wantDiff(t, "after an overriding restriction", []string{"2037-01-01", "2037-01-01", "2037-01-01", "2040-01-01"}, got)
}

// restrictWithoutOverrideKeepsAMark: a pending objection leaves a
// statutory mark alone and marks the others; restricting an item deleted
// meanwhile brings nothing back.
func restrictWithoutOverrideKeepsAMark(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s := contactsSubject("grace")
	tbl.add(t, s, 3)
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[:1], statutory("R1")))
	must(t, tbl.Store.Delete(t.Context(), tbl.Purpose, refs[2:]))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs, pendingObjection("R2")))
	recs, _, err := tbl.Store.FindPage(t.Context(), tbl.Purpose, s, "")
	must(t, err)
	var reasons []string
	for _, r := range recs {
		mark, _ := r.Item["dsrRestriction"].(map[string]any)
		reasons = append(reasons, fmt.Sprint(mark["reason"]))
	}
	slices.Sort(reasons)
	wantDiff(t, "the marks of the items left", []string{dsr.RestrictionObjection, dsr.RestrictionStatutory}, reasons)
}

// statutoryRestrictionLastsEachRecordsDuty: with the registry's
// retentionFrom, each record is restricted until its own duty ends; a record
// without a readable date until the restriction's (latest possible) end.
func statutoryRestrictionLastsEachRecordsDuty(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s, p, n := contactsSubject("dated"), tbl.Purpose, seq.Add(1)
	p.RetentionYears, p.RetentionFrom = 10, "issuedOn"
	var items []map[string]any
	for i, issued := range []any{"2018-05-01", "2024-12-31T23:00:00Z", nil, "someday"} {
		it := tbl.item(fmt.Sprintf("d%d-%d", n, i), &s)
		if issued != nil {
			it["issuedOn"] = issued
		}
		items = append(items, it)
	}
	must(t, tbl.Put(t.Context(), items...))
	must(t, tbl.Store.Restrict(t.Context(), p, tbl.keys(t, s), statutory("R1")))
	got := tbl.restrictedUntil(t, s)
	slices.Sort(got)
	wantDiff(t, "restricted until", []string{"2029-01-01", "2035-01-01", "2037-01-01", "2037-01-01"}, got)
}

// unrestrictLiftsOnlyTheRequestsObjection: Unrestrict lifts the pending
// objection marks of its request, not another request's, and not its
// request's statutory marks.
func unrestrictLiftsOnlyTheRequestsObjection(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s := contactsSubject("other")
	tbl.add(t, s, 3)
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[:2], pendingObjection("R3")))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[2:], statutory("R3")))
	must(t, tbl.Store.Unrestrict(t.Context(), tbl.Purpose, refs, "R4"))
	wantDiff(t, "after another request's unrestrict", []string{"", "", "2037-01-01"}, tbl.restrictedUntil(t, s))
	must(t, tbl.Store.Unrestrict(t.Context(), tbl.Purpose, refs, "R3"))
	wantDiff(t, "after its own unrestrict", []string{"-", "-", "2037-01-01"}, tbl.restrictedUntil(t, s))
}

// restrictionRequest is a restriction request's mark, on ground.
func restrictionRequest(id, ground string) dsr.Restriction {
	return dsr.Restriction{Reason: ground, RequestID: id, Since: time.Now()}
}

// unrestrictLiftsTheRequestsRestrictionOnAnyGround: a restriction
// request's marks (Art. 18(1)(a)-(d), whatever the ground) are lifted by
// its Unrestrict, not by another request's, and its request's statutory
// marks stay.
func unrestrictLiftsTheRequestsRestrictionOnAnyGround(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s := contactsSubject("grounds")
	tbl.add(t, s, 5)
	refs := tbl.keys(t, s)
	for i, g := range dsr.GroundNames {
		must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[i:i+1], restrictionRequest("R5", g)))
	}
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[4:], statutory("R5")))
	must(t, tbl.Store.Unrestrict(t.Context(), tbl.Purpose, refs, "R6"))
	wantDiff(t, "after another request's unrestrict", []string{"", "", "", "", "2037-01-01"}, tbl.restrictedUntil(t, s))
	must(t, tbl.Store.Unrestrict(t.Context(), tbl.Purpose, refs, "R5"))
	wantDiff(t, "after its own unrestrict", []string{"-", "-", "-", "-", "2037-01-01"}, tbl.restrictedUntil(t, s))
	must(t, tbl.Store.Unrestrict(t.Context(), tbl.Purpose, refs, "R5"))
	wantDiff(t, "after a repeated unrestrict", []string{"-", "-", "-", "-", "2037-01-01"}, tbl.restrictedUntil(t, s))
}

// restrictionOnAGroundKeepsAnExistingMark: a restriction request does not
// replace a mark an item holds (a statutory one, or another request's), so
// its lifting never lifts what another restriction put; restricting again
// is harmless.
func restrictionOnAGroundKeepsAnExistingMark(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s := contactsSubject("kept")
	tbl.add(t, s, 3)
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[:1], statutory("R7")))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[1:2], pendingObjection("R8")))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs, restrictionRequest("R9", dsr.GroundAccuracyContested)))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs, restrictionRequest("R9", dsr.GroundAccuracyContested)))
	must(t, tbl.Store.Unrestrict(t.Context(), tbl.Purpose, refs, "R9"))
	wantDiff(t, "after the restriction request's lifting", []string{"2037-01-01", "", "-"}, tbl.restrictedUntil(t, s))
}

// surveyListsWhatIsLeftInKeyOrder: after some items are deleted and some
// restricted, Survey lists the rest in reference order, restricted or not.
func surveyListsWhatIsLeftInKeyOrder(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s := contactsSubject("ada")
	tbl.add(t, s, 6)
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Delete(t.Context(), tbl.Purpose, refs[:2]))
	must(t, tbl.Store.Restrict(t.Context(), tbl.Purpose, refs[2:4], statutory("R1")))
	want := []dsr.ItemRef{{Key: refs[2], Restricted: true, Until: contactsUntil}, {Key: refs[3], Restricted: true, Until: contactsUntil}, {Key: refs[4]}, {Key: refs[5]}}
	wantDiff(t, "survey", want, tbl.survey(t, s))
}

// backupsNameTheRecoveryWindow: a purpose table with point-in-time recovery
// keeps what was deleted for DynamoDB's default 35 days.
func backupsNameTheRecoveryWindow(t *testing.T, tbl ContactTable) {
	t.Parallel()
	deletedAt := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	got, err := tbl.Store.Backups(t.Context(), tbl.Purpose, deletedAt)
	must(t, err)
	until := deletedAt.AddDate(0, 0, 35)
	wantDiff(t, "backups", []dsr.Copy{{Kind: "point_in_time_recovery", Resource: tbl.Purpose.Name, Until: &until}}, got, cmpopts.IgnoreFields(dsr.Copy{}, "Detail"))
	if len(got) == 1 && !strings.Contains(got[0].Detail, tbl.Purpose.Name) {
		t.Errorf("the copy does not name its table: %q", got[0].Detail)
	}
}

// malformedReferencesAreErrors: a reference or cursor that is not one is an
// error, not an item.
func malformedReferencesAreErrors(t *testing.T, tbl ContactTable) {
	t.Parallel()
	ctx, p, s, bad := t.Context(), tbl.Purpose, contactsSubject("ada"), "not a reference"
	for name, err := range map[string]error{
		"Delete":     tbl.Store.Delete(ctx, p, []string{bad}),
		"Restrict":   tbl.Store.Restrict(ctx, p, []string{bad}, pendingObjection("R1")),
		"Unrestrict": tbl.Store.Unrestrict(ctx, p, []string{bad}, "R1"),
	} {
		if err == nil {
			t.Errorf("%s of a reference that is not one: no error", name)
		}
	}
	if _, _, err := tbl.Store.FindPage(ctx, p, s, bad); err == nil {
		t.Error("FindPage from a cursor that is not one: no error")
	}
	if _, _, err := tbl.Store.KeysPage(ctx, p, s, bad); err == nil {
		t.Error("KeysPage from a cursor that is not one: no error")
	}
}
