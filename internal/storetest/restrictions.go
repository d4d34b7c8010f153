package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// billingLike is tbl's purpose as a billing purpose under an 8-year duty
// from issuedOn, keeping invoiceNumber and amountCents.
func (tbl ContactTable) billingLike() dsr.Purpose {
	p := tbl.Purpose
	p.RetentionYears, p.RetentionFrom, p.RetainedAttributes, p.Erasure = 8, "issuedOn", []string{"invoiceNumber", "amountCents"}, dsr.ActionRestrict
	return p
}

// invoices puts one invoice of s per date issued and returns their key
// values, in the order of issued.
func (tbl ContactTable) invoices(t *testing.T, s dsr.Subject, issued ...string) []string {
	t.Helper()
	n := seq.Add(1)
	var values []string
	var items []map[string]any
	for i, on := range issued {
		v := fmt.Sprintf("inv%d-%d", n, i)
		it := tbl.item(v, &s)
		it["issuedOn"], it["invoiceNumber"], it["amountCents"] = on, fmt.Sprintf("INV-%d", i), 4990+i
		it["name"], it["street"], it["newsletterOptIn"] = "Ada Lovelace", "12 St James's Square", true
		values, items = append(values, v), append(items, it)
	}
	must(t, tbl.Put(t.Context(), items...))
	return values
}

// erasedOn is an erasure's statutory restriction by request id at at.
func erasedOn(p dsr.Purpose, id string, at time.Time) dsr.Restriction {
	return dsr.RestrictionFor(&dsr.Request{ID: id, Type: dsr.TypeErasure, ReceivedAt: at, VerifiedAt: at}, p, at)
}

// dueOf returns the due-list entries of month due at now that name refs.
func (tbl ContactTable) dueOf(t *testing.T, month string, now time.Time, refs []string) []dsr.DueRestriction {
	t.Helper()
	all, err := tbl.Store.DueRestrictions(t.Context(), month, now, 1000)
	must(t, err)
	return slices.DeleteFunc(all, func(d dsr.DueRestriction) bool { return !slices.Contains(refs, d.Ref) })
}

// statutoryRestrictionKeepsOnlyWhatTheDutyCovers: an item under the duty
// keeps its key, the subject key (which also replaces the address), its
// date, the retained attributes and the mark; the rest is removed. Its
// subject still finds it. Restricting again (a redelivery) changes nothing.
func statutoryRestrictionKeepsOnlyWhatTheDutyCovers(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s, p := contactsSubject("ada"), tbl.billingLike()
	tbl.invoices(t, s, "2020-01-15", "2026-03-01")
	r := erasedOn(p, "R1", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), p, refs, r))
	first := tbl.attributes(t, p, s)
	r.Since = r.Since.Add(time.Minute)
	must(t, tbl.Store.Restrict(t.Context(), p, tbl.keys(t, s), r))
	again := tbl.attributes(t, p, s)
	names := []string{tbl.Key, "amountCents", "dsrRestriction", "invoiceNumber", "issuedOn", p.Identifier, p.SubjectKeyAttribute}
	slices.Sort(names)
	want := strings.Join(names, ",")
	for i, got := range append(first, again...) {
		if got != want {
			t.Errorf("restricted item %d holds %s, want %s", i, got, want)
		}
	}
	recs, _, err := tbl.Store.FindPage(t.Context(), p, s, "")
	must(t, err)
	for _, rec := range recs {
		if id := rec.Item[p.Identifier]; id != s.Key {
			t.Errorf("identifier %v after the restriction, want the subject key", id)
		}
	}
	wantDiff(t, "restricted until", []string{"2029-01-01", "2035-01-01"}, tbl.restrictedUntil(t, s))
	if len(recs) != 2 || len(tbl.keys(t, s)) != 2 {
		t.Errorf("the subject finds %d restricted records, want 2", len(recs))
	}
}

// attributes lists the attribute names of each of s's items, sorted.
func (tbl ContactTable) attributes(t *testing.T, p dsr.Purpose, s dsr.Subject) []string {
	t.Helper()
	recs, _, err := tbl.Store.FindPage(t.Context(), p, s, "")
	must(t, err)
	var out []string
	for _, rec := range recs {
		var names []string
		for name := range rec.Item {
			names = append(names, name)
		}
		slices.Sort(names)
		out = append(out, strings.Join(names, ","))
	}
	return out
}

// statutoryRestrictionDeletesWhatIsPastDuty: an erasure on 2 December 2026
// deletes the invoice of 2014 (deletable from 2023) and restricts the one
// of 2020 until 2029-01-01, with its due-list entry; the deleted one has
// none.
func statutoryRestrictionDeletesWhatIsPastDuty(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s, p := contactsSubject("ada"), tbl.billingLike()
	tbl.invoices(t, s, "2014-01-15", "2020-01-15")
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), p, refs, erasedOn(p, "R1", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))))
	wantDiff(t, "what is left", []string{"2029-01-01"}, tbl.restrictedUntil(t, s))
	left := tbl.keys(t, s)
	due := tbl.dueOf(t, "2029-01", time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), refs)
	if len(due) != 1 || due[0].Ref != left[0] || due[0].RequestID != "R1" || due[0].Purpose != p.Name || !due[0].Until.Equal(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("due list: %+v, want the 2020 invoice's entry only", due)
	}
	if early := tbl.dueOf(t, "2029-01", time.Date(2028, 12, 31, 23, 0, 0, 0, time.UTC), refs); len(early) != 0 {
		t.Errorf("due before its day: %+v", early)
	}
	must(t, tbl.Store.DropDue(t.Context(), due))
}

// endRestrictionsDeletesWhatIsDue: once its day has come, an item still
// under its restriction is deleted and read back; one whose restriction was
// extended meanwhile stays; ending again finds it gone (an earlier run's)
// and reports it once more, for the job to record it exactly once.
func endRestrictionsDeletesWhatIsDue(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s, p := contactsSubject("ada"), tbl.billingLike()
	values := tbl.invoices(t, s, "2020-01-15", "2020-06-01", "2023-01-15")
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), p, refs, erasedOn(p, "R1", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))))
	// The second invoice's mark now ends later (as a DPO's extension sets it).
	recs, _, err := tbl.Store.FindPage(t.Context(), p, s, "")
	must(t, err)
	for _, rec := range recs {
		if fmt.Sprint(rec.Item[tbl.Key]) == values[1] {
			mark := rec.Item["dsrRestriction"].(map[string]any)
			mark["until"] = "2030-07-01T00:00:00.000Z"
			must(t, tbl.Put(t.Context(), rec.Item))
		}
	}
	fired := time.Date(2031, 1, 2, 3, 0, 0, 0, time.UTC)
	due := tbl.dueOf(t, "2029-01", fired, refs)
	if len(due) != 2 {
		t.Fatalf("due in January 2029: %+v, want both 2020 invoices' entries", due)
	}
	ended, err := tbl.Store.EndRestrictions(t.Context(), p, due, fired)
	must(t, err)
	if len(ended) != 1 || ended[0].Ref != refs[0] || ended[0].RequestID != "R1" {
		t.Errorf("ended: %+v, want the first 2020 invoice only", ended)
	}
	wantDiff(t, "what is left", []string{"2030-07-01", "2032-01-01"}, tbl.restrictedUntil(t, s))
	again, err := tbl.Store.EndRestrictions(t.Context(), p, due, fired)
	must(t, err)
	if len(again) != 1 || again[0].Ref != refs[0] {
		t.Errorf("ended again: %+v, want the one gone", again)
	}
	must(t, tbl.Store.DropDue(t.Context(), due))
	if left := tbl.dueOf(t, "2029-01", fired, refs); len(left) != 0 {
		t.Errorf("due after the drop: %+v", left)
	}
	// The extended invoice's entry (an extension writes its new one) and
	// the 2023 invoice's are left for later.
	must(t, tbl.Store.DropDue(t.Context(), tbl.dueOf(t, "2032-01", time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC), refs)))
}

// extendRestrictionsOnlyLengthens: a DPO's extension of erasure R1's
// restriction to 2031-06-30 moves the 2020 invoice's end (2029-01-01), with
// a due-list entry for the new day, and leaves the 2023 invoice's later
// end; again, or for another request, it moves nothing.
func extendRestrictionsOnlyLengthens(t *testing.T, tbl ContactTable) {
	t.Parallel()
	s, p := contactsSubject("ada"), tbl.billingLike()
	tbl.invoices(t, s, "2020-01-15", "2023-01-15")
	refs := tbl.keys(t, s)
	must(t, tbl.Store.Restrict(t.Context(), p, refs, erasedOn(p, "R1", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))))
	until := time.Date(2031, 6, 30, 0, 0, 0, 0, time.UTC)
	if n, err := tbl.Store.ExtendRestrictions(t.Context(), p, refs, "R2", until); err != nil || n != 0 {
		t.Errorf("another request's extension: %d %v, want none", n, err)
	}
	n, err := tbl.Store.ExtendRestrictions(t.Context(), p, refs, "R1", until)
	must(t, err)
	if n != 1 {
		t.Errorf("extended %d, want the 2020 invoice only", n)
	}
	got := tbl.restrictedUntil(t, s)
	slices.Sort(got)
	wantDiff(t, "restricted until", []string{"2031-06-30", "2032-01-01"}, got)
	if n, err := tbl.Store.ExtendRestrictions(t.Context(), p, refs, "R1", until); err != nil || n != 0 {
		t.Errorf("the same extension again: %d %v, want none", n, err)
	}
	due := tbl.dueOf(t, "2031-06", until, refs)
	if len(due) != 1 || !due[0].Until.Equal(until) || due[0].RequestID != "R1" {
		t.Errorf("due in June 2031: %+v, want the extended invoice's new entry", due)
	}
	// Its old entry is still listed; ending it finds the mark moved on.
	old := tbl.dueOf(t, "2029-01", until, refs)
	if ended, err := tbl.Store.EndRestrictions(t.Context(), p, old, until.AddDate(0, 0, -1)); err != nil || len(ended) != 0 {
		t.Errorf("ending the old entry: %+v %v, want nothing ended", ended, err)
	}
	must(t, tbl.Store.DropDue(t.Context(), append(append(due, old...), tbl.dueOf(t, "2032-01", time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC), refs)...)))
}
