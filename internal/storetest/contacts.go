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

	"github.com/google/go-cmp/cmp"
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
}

// ContactTable is a purpose table as the suite uses it: Store reads it in
// pages of the size the suite asked for; Purpose is the registry entry whose
// table it is, keyed on the string attribute Key, with point-in-time
// recovery (as template.yaml has it); Put writes items as the CRM does.
// Cases may share a table: each uses subjects and keys of its own.
type ContactTable struct {
	Store   ContactStore
	Purpose dsr.Purpose
	Key     string
	Put     func(ctx context.Context, items ...map[string]any) error
}

// RunContacts runs the purpose tables' contract against the tables newTable
// returns, read in pages of pageSize items.
func RunContacts(t *testing.T, newTable func(t *testing.T, pageSize int) ContactTable) {
	for _, c := range []struct {
		name     string
		pageSize int
		run      func(t *testing.T, tbl ContactTable)
	}{
		{"pages hold every item of the subject once, and only theirs", 4, contactsPageThrough},
		{"a subject's items hold their key and their address", 2, contactsOnlyTheOwners},
		{"FindPage returns every attribute as stored", 10, contactsRecordsAsStored},
		{"Delete removes the items, and deleting again is no error", 3, contactsDelete},
		{"Restrict marks items as Survey reports them", 10, contactsRestrict},
		{"a restriction that does not override leaves a mark alone", 10, contactsRestrictKeepsMarks},
		{"a statutory restriction lasts each record's own duty", 10, contactsRestrictUntilEachDuty},
		{"Unrestrict lifts only that request's objection", 10, contactsUnrestrict},
		{"Survey lists what is left, in key order", 10, contactsSurvey},
		{"Backups names the point-in-time recovery window", 10, contactsBackups},
		{"a reference that is not one is an error", 10, contactsBadReferences},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newTable(t, c.pageSize)) })
	}
}

// contactsSubject returns a new subject, its key unlike its address.
func contactsSubject(name string) dsr.Subject {
	n := suiteSeq.Add(1)
	return dsr.Subject{Email: fmt.Sprintf("%s.%d@example.com", name, n), Key: fmt.Sprintf("sk%d%s", n, name)}
}

// item is an item of s (nil: of nobody) keyed value.
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
	prefix := suiteSeq.Add(1)
	for i := range n {
		v := fmt.Sprintf("c%d-%04d", prefix, i)
		values, items = append(values, v), append(items, tbl.item(v, &s))
	}
	if err := tbl.Put(context.Background(), items...); err != nil {
		t.Fatal(err)
	}
	return values
}

// keys reads every page of s's item references, checking each page's size
// and that no reference or cursor holds the address or the subject key.
func (tbl ContactTable) keys(t *testing.T, s dsr.Subject, pageSize int) []string {
	t.Helper()
	var refs []string
	for cursor, page := "", 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		got, next, err := tbl.Store.KeysPage(context.Background(), tbl.Purpose, s, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if pageSize > 0 && len(got) > pageSize {
			t.Errorf("a page of %d keys, pages of %d asked for", len(got), pageSize)
		}
		for _, opaque := range append(slices.Clone(got), next) {
			if raw, _ := base64.RawURLEncoding.DecodeString(opaque); strings.Contains(string(raw), "@") || strings.Contains(string(raw), s.Key) {
				t.Errorf("a reference or cursor holds the subject: %s", raw)
			}
		}
		refs = append(refs, got...)
		if next == "" {
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
		recs, next, err := tbl.Store.FindPage(context.Background(), tbl.Purpose, s, cursor)
		if err != nil {
			t.Fatal(err)
		}
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
	got, err := tbl.Store.Survey(context.Background(), tbl.Purpose, s)
	if err != nil {
		t.Fatal(err)
	}
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

// sorted returns a sorted copy of values.
func sorted(values []string) []string {
	values = slices.Clone(values)
	slices.Sort(values)
	return values
}

func contactsPageThrough(t *testing.T, tbl ContactTable) {
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	adas := tbl.add(t, ada, 11)
	graces := tbl.add(t, grace, 3)
	refs := tbl.keys(t, ada, 4)
	if len(refs) != 11 || len(slices.Compact(sorted(refs))) != 11 {
		t.Errorf("%d keys of ada's 11 items, %d distinct", len(refs), len(slices.Compact(sorted(refs))))
	}
	if diff := cmp.Diff(sorted(refs), tbl.surveyKeys(t, ada)); diff != "" {
		t.Errorf("KeysPage and Survey disagree (-KeysPage +Survey):\n%s", diff)
	}
	if diff := cmp.Diff(adas, tbl.records(t, ada)); diff != "" {
		t.Errorf("ada's records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(graces, tbl.records(t, grace)); diff != "" {
		t.Errorf("grace's records (-want +got):\n%s", diff)
	}
	if got := tbl.keys(t, contactsSubject("nobody"), 4); len(got) != 0 {
		t.Errorf("someone without items has %d", len(got))
	}
}

func contactsOnlyTheOwners(t *testing.T, tbl ContactTable) {
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	n := suiteSeq.Add(1)
	v := func(name string) string { return fmt.Sprintf("o%d-%s", n, name) }
	upper := ada
	upper.Email = strings.ToUpper(ada.Email) // the one address rule: still ada's
	moved := ada
	moved.Email = grace.Email // the CRM changed the address; the stream has not keyed it yet
	unkeyed, noIdentifier := tbl.item(v("unkeyed"), nil), tbl.item(v("no-identifier"), nil)
	unkeyed[tbl.Purpose.Identifier] = ada.Email
	noIdentifier[tbl.Purpose.SubjectKeyAttribute] = ada.Key
	err := tbl.Put(context.Background(), tbl.item(v("own"), &ada), tbl.item(v("upper"), &upper), tbl.item(v("moved"), &moved),
		unkeyed, noIdentifier, tbl.item(v("grace"), &grace))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{v("own"), v("upper")}, tbl.records(t, ada)); diff != "" {
		t.Errorf("ada's records (-want +got):\n%s", diff)
	}
	if got, survey := sorted(tbl.keys(t, ada, 2)), tbl.surveyKeys(t, ada); len(got) != 2 || !cmp.Equal(got, survey) {
		t.Errorf("ada's keys %v, her survey %v: want the same two", got, survey)
	}
	if diff := cmp.Diff([]string{v("grace")}, tbl.records(t, grace)); diff != "" {
		t.Errorf("grace's records (-want +got):\n%s", diff)
	}
}

func contactsRecordsAsStored(t *testing.T, tbl ContactTable) {
	ctx, s := context.Background(), contactsSubject("ada")
	value := fmt.Sprintf("r%d", suiteSeq.Add(1))
	it := tbl.item(value, &s)
	it["total"], it["big"], it["ratio"], it["paid"] = 7, uint64(12345678901234567890), 1.5, true
	it["lines"], it["address"], it["note"], it["none"] = []any{"a", 2}, map[string]any{"city": "Berlin"}, "", nil
	if err := tbl.Put(ctx, it); err != nil {
		t.Fatal(err)
	}
	want := tbl.item(value, &s)
	want["total"], want["big"], want["ratio"], want["paid"] = json.Number("7"), json.Number("12345678901234567890"), json.Number("1.5"), true
	want["lines"], want["address"], want["note"], want["none"] = []any{"a", json.Number("2")}, map[string]any{"city": "Berlin"}, "", nil
	find := func() []dsr.Record {
		recs, next, err := tbl.Store.FindPage(ctx, tbl.Purpose, s, "")
		if err != nil || next != "" {
			t.Fatalf("FindPage: next %q, %v", next, err)
		}
		return recs
	}
	if diff := cmp.Diff([]dsr.Record{{Table: tbl.Purpose.Table, Item: want}}, find()); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	since := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	r := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: since, Until: time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC), Overrides: true}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, tbl.keys(t, s, 10), r); err != nil {
		t.Fatal(err)
	}
	want["dsrRestriction"] = map[string]any{"reason": r.Reason, "requestId": "R1", "since": "2026-11-29T10:00:00.000Z", "until": "2037-01-01T00:00:00.000Z"}
	if diff := cmp.Diff([]dsr.Record{{Table: tbl.Purpose.Table, Item: want}}, find()); diff != "" {
		t.Errorf("a restricted record (-want +got):\n%s", diff)
	}
}

func contactsDelete(t *testing.T, tbl ContactTable) {
	ctx := context.Background()
	ada, grace := contactsSubject("ada"), contactsSubject("grace")
	tbl.add(t, ada, 7)
	graces := tbl.add(t, grace, 3)
	var deleted []string
	for cursor, page := "", 0; page == 0 || cursor != ""; page++ {
		refs, next, err := tbl.Store.KeysPage(ctx, tbl.Purpose, ada, cursor)
		if err != nil || page > 10 {
			t.Fatalf("page %d: %v", page, err)
		}
		if err := tbl.Store.Delete(ctx, tbl.Purpose, refs); err != nil {
			t.Fatal(err)
		}
		deleted, cursor = append(deleted, refs...), next
	}
	if len(deleted) != 7 {
		t.Errorf("deleted %d of ada's 7 items", len(deleted))
	}
	if got := tbl.survey(t, ada); len(got) != 0 {
		t.Errorf("ada's items left: %+v", got)
	}
	if got := tbl.records(t, ada); len(got) != 0 {
		t.Errorf("ada's records left: %v", got)
	}
	if diff := cmp.Diff(graces, tbl.records(t, grace)); diff != "" {
		t.Errorf("grace's records (-want +got):\n%s", diff)
	}
	if err := tbl.Store.Delete(ctx, tbl.Purpose, deleted); err != nil {
		t.Errorf("deleting what is gone: %v", err)
	}
}

// restrictedUntil is what Survey says of each of s's items: "-" unrestricted,
// else the day its restriction ends ("" for none).
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

func contactsRestrict(t *testing.T, tbl ContactTable) {
	ctx := context.Background()
	grace, objector := contactsSubject("grace"), contactsSubject("objector")
	tbl.add(t, grace, 4)
	tbl.add(t, objector, 2)
	statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: time.Now(), Until: time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC), Overrides: true}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, tbl.keys(t, grace, 10), statutory); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2037-01-01", "2037-01-01", "2037-01-01", "2037-01-01"}, tbl.restrictedUntil(t, grace)); diff != "" {
		t.Errorf("grace's items (-want +got):\n%s", diff)
	}
	pending := dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R2", Since: time.Now()}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, tbl.keys(t, objector, 10), pending); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", ""}, tbl.restrictedUntil(t, objector)); diff != "" {
		t.Errorf("the objector's items, until a decision (-want +got):\n%s", diff)
	}
	// A later statutory restriction overrides, with its own date.
	later := statutory
	later.RequestID, later.Until = "R3", time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, tbl.keys(t, grace, 10)[:1], later); err != nil {
		t.Fatal(err)
	}
	got := tbl.restrictedUntil(t, grace)
	slices.Sort(got)
	if diff := cmp.Diff([]string{"2037-01-01", "2037-01-01", "2037-01-01", "2040-01-01"}, got); diff != "" {
		t.Errorf("after an overriding restriction (-want +got):\n%s", diff)
	}
}

func contactsRestrictKeepsMarks(t *testing.T, tbl ContactTable) {
	ctx, s := context.Background(), contactsSubject("grace")
	tbl.add(t, s, 3)
	refs := tbl.keys(t, s, 10)
	statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: time.Now(), Until: time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC), Overrides: true}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, refs[:1], statutory); err != nil {
		t.Fatal(err)
	}
	// One item is deleted meanwhile: restricting it brings nothing back.
	if err := tbl.Store.Delete(ctx, tbl.Purpose, refs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, refs, dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R2", Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	recs, _, err := tbl.Store.FindPage(ctx, tbl.Purpose, s, "")
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range recs {
		mark, _ := r.Item["dsrRestriction"].(map[string]any)
		reasons = append(reasons, fmt.Sprint(mark["reason"]))
	}
	slices.Sort(reasons)
	if diff := cmp.Diff([]string{dsr.RestrictionObjection, dsr.RestrictionStatutory}, reasons); diff != "" {
		t.Errorf("the marks of the items left (-want +got):\n%s", diff)
	}
}

func contactsRestrictUntilEachDuty(t *testing.T, tbl ContactTable) {
	ctx, s := context.Background(), contactsSubject("dated")
	p := tbl.Purpose
	p.RetentionYears, p.RetentionFrom = 10, "issuedOn"
	n := suiteSeq.Add(1)
	var items []map[string]any
	for i, issued := range []any{"2018-05-01", "2024-12-31T23:00:00Z", nil, "someday"} {
		it := tbl.item(fmt.Sprintf("d%d-%d", n, i), &s)
		if issued != nil {
			it["issuedOn"] = issued
		}
		items = append(items, it)
	}
	if err := tbl.Put(ctx, items...); err != nil {
		t.Fatal(err)
	}
	fallback := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
	r := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: time.Now(), Until: fallback, Overrides: true}
	if err := tbl.Store.Restrict(ctx, p, tbl.keys(t, s, 10), r); err != nil {
		t.Fatal(err)
	}
	got := tbl.restrictedUntil(t, s)
	slices.Sort(got)
	if diff := cmp.Diff([]string{"2029-01-01", "2035-01-01", "2037-01-01", "2037-01-01"}, got); diff != "" {
		t.Errorf("restricted until (-want +got):\n%s", diff)
	}
}

func contactsUnrestrict(t *testing.T, tbl ContactTable) {
	ctx, s := context.Background(), contactsSubject("other")
	tbl.add(t, s, 3)
	refs := sorted(tbl.keys(t, s, 10))
	objection := dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R3", Since: time.Now()}
	statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R3", Since: time.Now(), Until: time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC), Overrides: true}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, refs[:2], objection); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, refs[2:], statutory); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Store.Unrestrict(ctx, tbl.Purpose, refs, "R4"); err != nil { // another request's
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", "", "2037-01-01"}, tbl.restrictedUntil(t, s)); diff != "" {
		t.Errorf("after another request's unrestrict (-want +got):\n%s", diff)
	}
	// The request's objection is lifted; its statutory mark is not an objection's.
	if err := tbl.Store.Unrestrict(ctx, tbl.Purpose, refs, "R3"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"-", "-", "2037-01-01"}, tbl.restrictedUntil(t, s)); diff != "" {
		t.Errorf("after its own unrestrict (-want +got):\n%s", diff)
	}
}

func contactsSurvey(t *testing.T, tbl ContactTable) {
	ctx, s := context.Background(), contactsSubject("ada")
	tbl.add(t, s, 6)
	refs := sorted(tbl.keys(t, s, 10))
	until := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := tbl.Store.Delete(ctx, tbl.Purpose, refs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := tbl.Store.Restrict(ctx, tbl.Purpose, refs[2:4], dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: time.Now(), Until: until, Overrides: true}); err != nil {
		t.Fatal(err)
	}
	want := []dsr.ItemRef{{Key: refs[2], Restricted: true, Until: until}, {Key: refs[3], Restricted: true, Until: until}, {Key: refs[4]}, {Key: refs[5]}}
	if diff := cmp.Diff(want, tbl.survey(t, s)); diff != "" {
		t.Errorf("survey (-want +got):\n%s", diff)
	}
}

func contactsBackups(t *testing.T, tbl ContactTable) {
	deletedAt := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	got, err := tbl.Store.Backups(context.Background(), tbl.Purpose, deletedAt)
	if err != nil {
		t.Fatal(err)
	}
	until := deletedAt.AddDate(0, 0, 35) // DynamoDB's default recovery period
	want := []dsr.Copy{{Kind: "point_in_time_recovery", Resource: tbl.Purpose.Name, Until: &until}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(dsr.Copy{}, "Detail")); diff != "" {
		t.Errorf("backups (-want +got):\n%s", diff)
	}
	if len(got) == 1 && !strings.Contains(got[0].Detail, tbl.Purpose.Name) {
		t.Errorf("the copy does not name its table: %q", got[0].Detail)
	}
}

func contactsBadReferences(t *testing.T, tbl ContactTable) {
	ctx, p, bad := context.Background(), tbl.Purpose, []string{"not a reference"}
	s := contactsSubject("ada")
	for name, err := range map[string]error{
		"Delete":     tbl.Store.Delete(ctx, p, bad),
		"Restrict":   tbl.Store.Restrict(ctx, p, bad, dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R1", Since: time.Now()}),
		"Unrestrict": tbl.Store.Unrestrict(ctx, p, bad, "R1"),
	} {
		if err == nil {
			t.Errorf("%s of a reference that is not one: no error", name)
		}
	}
	if _, _, err := tbl.Store.FindPage(ctx, p, s, bad[0]); err == nil {
		t.Error("FindPage from a cursor that is not one: no error")
	}
	if _, _, err := tbl.Store.KeysPage(ctx, p, s, bad[0]); err == nil {
		t.Error("KeysPage from a cursor that is not one: no error")
	}
}
