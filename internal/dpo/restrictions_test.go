package dpo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

// TestExtendRestriction: a DPO keeps a completed erasure's restricted
// invoices past their statutory end while a tax assessment is open (Art.
// 17(3)(b)): every page of the subject's records is read, the end of each
// restricted earlier is moved (a later one stays), the subject's billing
// provenance expiring earlier is kept until then too (its recipients are
// told when the records go, Art. 19), the step is recorded once, and a
// repeat moves and records nothing. Bad bodies are 400s that
// name the field; other requests are 409s.
func TestExtendRestriction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reg := dsrtest.Registry(t)
	billing, _ := reg.Lookup("billing")
	billing.RetentionFrom = "issuedOn"
	reg = dsr.Registry{reg[0], billing}
	contacts := &memstore.Contacts{PageSize: 2}
	prov := &memstore.Provenance{}
	e.h.Service.Registry, e.h.Service.Restrictions, e.h.Service.Recorder, e.h.Service.Provenance = reg, contacts, e.store, prov
	erasedAt := time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
	id := "01JD0000000000000000000020"
	must(t, e.store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeErasure, Status: dsr.StatusAwaitingVerification,
		Email: "ada@example.com", SubjectKey: "key-ada", ReceivedAt: erasedAt, VerifiedAt: erasedAt, DueAt: erasedAt.AddDate(0, 1, 0)}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, erasedAt, dsr.Changes{VerifiedAt: erasedAt}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, erasedAt, dsr.Changes{PlannedPurposes: []string{"marketing", "billing"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(t, e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, erasedAt, dsr.Changes{CompletedAt: erasedAt}, dsrtest.StepTo(dsr.StatusCompleted)))
	ada := dsr.Subject{Email: "ada@example.com", Key: "key-ada"}
	var items []map[string]any
	for i, issued := range []string{"2020-01-15", "2020-03-01", "2021-05-01", "2026-01-15", "2019-01-01"} {
		items = append(items, map[string]any{"id": fmt.Sprintf("inv-%d", i), billing.Identifier: ada.Email, billing.SubjectKeyAttribute: ada.Key, "issuedOn": issued, "invoiceNumber": "INV"})
	}
	refs := contacts.Put(billing, "id", items...)
	must(t, contacts.Restrict(ctx, billing, refs, dsr.RestrictionFor(&dsr.Request{ID: id, Type: dsr.TypeErasure, VerifiedAt: erasedAt}, billing, erasedAt)))
	before := len(e.audit.Actions(id))
	// Billing's provenance lives 11 years (a 10-year duty): a disclosure of
	// 2020 expires in 2031, before 2032-06-30; one of 2022 in 2033, after.
	years := reg.ProvenanceYears("billing", dsr.DefaultProvenanceYears)
	disclosure := func(purpose, recipient string, at time.Time) dsr.ProvenanceEntry {
		en := dsr.NewProvenanceEntry(dsr.ProvenanceEvent{Purpose: purpose, Event: dsr.EventDisclosed, Recipient: recipient, Country: "DE",
			TransferBasis: dsr.TransferEEA, At: at}, ada.Key, years)
		if _, err := prov.Put(ctx, en); err != nil {
			t.Fatal(err)
		}
		return en
	}
	early := disclosure("billing", "Tax Office", time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC))
	late := disclosure("billing", "Auditor", time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC))
	other := disclosure("marketing", "Print Shop", time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC))

	for _, tc := range []struct {
		id, body string
		status   int
		field    string
	}{
		{id, `{"purpose":"billing","until":"2032-06-30"}`, 400, "reason"},
		{id, `{"purpose":"billing","until":"30.06.2032","reason":"r"}`, 400, "until"},
		{id, `{"purpose":"billing","until":"2027-02-20","reason":"r"}`, 400, "until"}, // today, not after it
		{id, `{"purpose":"billing","until":"2058-01-01","reason":"r"}`, 400, "until"},
		{id, `{"purpose":"marketing","until":"2032-06-30","reason":"r"}`, 400, "purpose"}, // deleted on erasure
		{id, `{"purpose":"invoices","until":"2032-06-30","reason":"r"}`, 400, "purpose"},
		{id, `{"purpose":"billing","until":"2032-06-30","reason":"r","note":1}`, 400, "note"},
		{id, `{"purpose":"billing","until":20320630,"reason":"r"}`, 400, "until"},
		{ids["complete"], `{"purpose":"billing","until":"2032-06-30","reason":"r"}`, 409, ""}, // an access request
	} {
		status, m := e.call(t, dpo.RouteRestrictions, tc.id, dpoClaims, nil, tc.body)
		if status != tc.status || (tc.field != "" && !strings.Contains(fmt.Sprint(m["errors"]), "field:"+tc.field)) {
			t.Errorf("%s: %d %v, want %d naming %q", tc.body, status, m, tc.status, tc.field)
		}
	}
	if got := e.audit.Actions(id)[before:]; len(got) != 0 {
		t.Errorf("refused extensions recorded %v", got)
	}

	body := `{"purpose":"billing","until":"2032-06-30","reason":"The 2024 tax assessment is still open."}`
	status, m := e.call(t, dpo.RouteRestrictions, id, dpoClaims, nil, body)
	if status != 200 || m["recordsExtended"] != 4.0 || m["until"] != "2032-06-30" || m["purpose"] != "billing" || m["provenanceExtended"] != 1.0 {
		t.Fatalf("extend: %d %v, want the 4 invoices restricted until before 2032-06-30 moved, and the disclosure of 2020", status, m)
	}
	until := time.Date(2032, 6, 30, 0, 0, 0, 0, time.UTC)
	kept, _ := prov.Subject(ctx, ada.Key, "", time.Time{})
	expiries := map[string]time.Time{}
	for _, en := range kept {
		expiries[en.Recipient] = en.ExpiresAt
	}
	if !expiries["Tax Office"].Equal(until) || !expiries["Auditor"].Equal(late.ExpiresAt) || !expiries["Print Shop"].Equal(other.ExpiresAt) {
		t.Errorf("provenance expiries %v: want Tax Office's (was %s) moved to 2032-06-30, the others as they were", expiries, early.ExpiresAt)
	}
	var untils []string
	for _, ref := range contacts.Owned(billing, ada) {
		r, _ := contacts.Restriction(billing, ref)
		untils = append(untils, r.Until.Format(time.DateOnly))
	}
	slices.Sort(untils)
	if want := []string{"2032-06-30", "2032-06-30", "2032-06-30", "2032-06-30", "2037-01-01"}; !slices.Equal(untils, want) {
		t.Errorf("restricted until %v, want %v", untils, want)
	}
	entries, _ := e.audit.Entries(ctx, id)
	if got := e.audit.Actions(id)[before:]; !slices.Equal(got, []dsr.AuditAction{dsr.AuditRestrictionExtended}) ||
		entries[len(entries)-1].Detail != "purpose billing: statutory restriction extended until 2032-06-30" || strings.Contains(entries[len(entries)-1].Detail, "assessment") {
		t.Errorf("trail %v, last %+v", got, entries[len(entries)-1])
	}
	if status, m := e.call(t, dpo.RouteRestrictions, id, dpoClaims, nil, body); status != 200 || m["recordsExtended"] != 0.0 || m["provenanceExtended"] != 0.0 || len(e.audit.Actions(id)[before:]) != 1 {
		t.Errorf("again: %d %v, steps %v", status, m, e.audit.Actions(id)[before:])
	}
	due := 0
	for _, d := range contacts.Due() {
		if d.Until.Format(time.DateOnly) == "2032-06-30" {
			due++
		}
	}
	if due != 4 {
		t.Errorf("%d due-list entries for 2032-06-30, want 4", due)
	}
}
