package retention_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// TestRestrictionEndsWithItsDuty: an erasure on 2 December 2026 restricted
// ada's invoices of 2020 (until 2029-01-01) and 2023 (until 2032-01-01).
// The job deletes nothing before their day (Art. 17(3)(b)); fired in 2031
// it deletes the 2020 invoice (Art. 5(1)(e), 17(1)), records it on the
// erasure's trail although it is final and stripped, once, and tells its
// recipient (Art. 19) without naming the person again. A notice that
// cannot be sent fails the run with the entry kept: the next run tells and
// records it, still once.
func TestRestrictionEndsWithItsDuty(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	billing, _ := testRegistry.Lookup("billing")
	billing.RetentionYears, billing.RetentionFrom = 8, "issuedOn"
	f.job.Registry = dsr.Registry{billing}
	erasedAt := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := &dsr.Request{ID: "01ERASURE00000000000000000", Type: dsr.TypeErasure, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com",
		SubjectKey: "key-ada", TokenHash: "t", ReceivedAt: erasedAt, UpdatedAt: erasedAt, VerifiedAt: erasedAt}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
	must(f.requests.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, erasedAt, dsr.Changes{VerifiedAt: erasedAt}, dsrtest.StepTo(dsr.StatusQueued)))
	must(f.requests.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, erasedAt, dsr.Changes{PlannedPurposes: []string{"billing"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	result := &dsr.Result{CertificateKey: "c.json", Recipients: []dsr.Recipient{
		{Recipient: "Tax Advisers LLP", Country: "GB", Safeguard: "adequacy decision (Art. 45)", Purposes: []string{"billing"}},
		{Recipient: "Example Print GmbH", Country: "DE", Purposes: []string{"marketing"}},
	}}
	must(f.requests.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, erasedAt, dsr.Changes{CompletedAt: erasedAt, Result: result}, dsrtest.StepTo(dsr.StatusCompleted)))
	ada := dsr.Subject{Email: "ada@example.com", Key: "key-ada"}
	refs := f.contacts.Put(billing, "invoiceId",
		map[string]any{"invoiceId": "inv-2020", billing.Identifier: ada.Email, billing.SubjectKeyAttribute: ada.Key, "issuedOn": "2020-01-15", "invoiceNumber": "INV-2020-0102"},
		map[string]any{"invoiceId": "inv-2023", billing.Identifier: ada.Email, billing.SubjectKeyAttribute: ada.Key, "issuedOn": "2023-01-15", "invoiceNumber": "INV-2023-0101"})
	must(f.contacts.Restrict(ctx, billing, refs, dsr.RestrictionFor(r, billing, erasedAt)))
	// The steps since the erasure completed but the stripping of its
	// identifiers (the 2031 runs' third phase).
	before := len(f.audit.Actions(r.ID))
	steps := func() []dsr.AuditAction {
		return slices.DeleteFunc(f.audit.Actions(r.ID)[before:], func(a dsr.AuditAction) bool { return a == dsr.AuditIdentifiersRemoved })
	}

	sum, err := f.job.Run(ctx, time.Date(2028, 12, 31, 23, 0, 0, 0, time.UTC))
	if err != nil || sum.RestrictedDeleted != 0 || len(f.contacts.Owned(billing, ada)) != 2 {
		t.Fatalf("the day before the duty ends: %+v %v, %d items left", sum, err, len(f.contacts.Owned(billing, ada)))
	}

	fired := time.Date(2031, 1, 2, 3, 0, 0, 0, time.UTC)
	f.notices.SetErr(errors.New("SQS unavailable"))
	if _, err := f.job.Run(ctx, fired); err == nil {
		t.Fatal("a run whose notice could not be sent succeeded")
	}
	if got := steps(); len(got) != 0 {
		t.Errorf("steps while the recipient could not be told: %v", got)
	}
	f.notices.SetErr(nil)
	sum, err = f.job.Run(ctx, fired)
	if err != nil || sum.RestrictedDeleted != 1 {
		t.Fatalf("fired in 2031: %+v %v", sum, err)
	}
	if left := f.contacts.Owned(billing, ada); len(left) != 1 || left[0] != refs[1] {
		t.Errorf("left: %v, want the 2023 invoice only", left)
	}
	if got := steps(); !slices.Equal(got, []dsr.AuditAction{dsr.AuditRestrictionEnded}) {
		t.Errorf("trail: %v, want one restriction_ended", got)
	}
	if stored, _ := f.requests.Get(ctx, r.ID); stored.Status != dsr.StatusCompleted || stored.Email != "" || !slices.Equal(stored.RestrictionSteps, []string{"billing@2029-01-01"}) {
		t.Errorf("request: %s, address %q, ended %v; want completed, stripped, the one end recorded", stored.Status, stored.Email, stored.RestrictionSteps)
	}
	var told []dsr.RecipientNotice
	for _, batch := range f.notices.Notices() {
		told = append(told, batch...)
	}
	if len(told) != 1 || told[0].Recipient != "Tax Advisers LLP" || told[0].Email != "" || told[0].RefersTo == "" || told[0].RequestID != r.ID ||
		len(told[0].Purposes) != 1 || told[0].Purposes[0] != (dsr.NoticePurpose{Purpose: "billing", Action: dsr.ActionDelete}) {
		t.Errorf("notices: %+v, want one to Tax Advisers LLP, without the address", told)
	}
	if due := f.contacts.Due(); len(due) != 1 || due[0].Ref != refs[1] {
		t.Errorf("due list: %+v, want the 2023 invoice's entry only", due)
	}

	sum, err = f.job.Run(ctx, fired.AddDate(0, 0, 1))
	if err != nil || sum.RestrictedDeleted != 0 || len(steps()) != 1 || len(f.notices.Notices()) != 1 {
		t.Errorf("the day after: %+v %v, steps %v, %d notice batches", sum, err, steps(), len(f.notices.Notices()))
	}
}
