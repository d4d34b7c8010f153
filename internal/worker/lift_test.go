package worker_test

import (
	"context"
	"slices"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// restrictionAnswered runs ada's restriction of billing and marketing on
// ground, 12 billing items of hers (one under another request's
// statutory mark) and 2 of grace's, until it is answered. Billing's data
// went to a printer.
func restrictionAnswered(t *testing.T, ground string) (*env, []string) {
	t.Helper()
	e := newEnv(t, dsr.Request{Type: dsr.TypeRestriction, Ground: ground, Grounds: "my address is wrong"})
	refs := e.contacts.Add(e.billing, ada, 12)
	e.contacts.Add(e.billing, grace, 2)
	e.contacts.Add(e.marketing, ada, 3)
	must(t, e.contacts.Restrict(context.Background(), e.billing, refs[:1], dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "01JDOTHER"}))
	putProvenance(t, e.prov, ada.Key, "billing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Example Print GmbH", Country: "DE", At: e.now.AddDate(0, -1, 0)})
	e.runAll(t)
	e.runAll(t) // a redelivery of every task
	return e, refs
}

// TestRestrictionRequestRestrictsWithItsGround: every item of ada's in the
// planned purposes is marked with the ground (an existing mark kept),
// grace's are not; each purpose is recorded done once; the certificate
// says so per purpose; the printer is told; the request is answered with
// its purposes held restricted and its address kept for the lifting.
func TestRestrictionRequestRestrictsWithItsGround(t *testing.T) {
	t.Parallel()
	for _, ground := range dsr.GroundNames {
		t.Run(ground, func(t *testing.T) {
			t.Parallel()
			e, refs := restrictionAnswered(t, ground)
			for _, p := range []dsr.Purpose{e.billing, e.marketing} {
				for _, ref := range e.contacts.Owned(p, ada) {
					want := ground
					if ref == refs[0] {
						want = dsr.RestrictionStatutory
					}
					if r, ok := e.contacts.Restriction(p, ref); !ok || r.Reason != want || (want == ground && r.RequestID != e.id) {
						t.Errorf("%s item %s: %+v (%v), want %s", p.Name, ref, r, ok, want)
					}
				}
			}
			for _, ref := range e.contacts.Owned(e.billing, grace) {
				if _, ok := e.contacts.Restriction(e.billing, ref); ok {
					t.Errorf("grace's item %s restricted", ref)
				}
			}
			r, _ := e.store.Get(context.Background(), e.id)
			if r.Status != dsr.StatusCompleted || r.Email == "" || r.ObjectionDecisions["billing"] != dsr.RestrictionHeld || r.ObjectionDecisions["marketing"] != dsr.RestrictionHeld {
				t.Errorf("request %s, address kept %v, states %v", r.Status, r.Email != "", r.ObjectionDecisions)
			}
			got := outcomes(e.certificate(t))
			if b, m := got["billing"], got["marketing"]; b.Ground != ground || b.ItemsRestricted != 12 || m.ItemsRestricted != 3 || b.Action != dsr.ActionRestrict || b.DecisionPending {
				t.Errorf("certificate: billing %+v, marketing %+v", b, m)
			}
			if sent := e.notices(); len(sent) != 1 || sent[0].Type != dsr.TypeRestriction || sent[0].Purposes[0] != (dsr.NoticePurpose{Purpose: "billing", Action: dsr.ActionRestrict}) {
				t.Errorf("notices: %+v, want the printer's, once (the redelivery finds the request answered)", sent)
			}
			done := 0
			for _, a := range e.steps(e.id) {
				if a == dsr.AuditPurposeDone {
					done++
				}
			}
			if done != 2 {
				t.Errorf("purpose_done %d times, want once per purpose", done)
			}
		})
	}
}

// TestLiftingApplied: a lifting task lifts the request's marks on ada's
// billing items (the statutory one stays), tells the printer once (the
// redelivery finds the lifting applied), referring to the restriction's
// notice, and records the lifting once; marketing stays restricted; the last lifting removes
// the address.
func TestLiftingApplied(t *testing.T) {
	t.Parallel()
	e, refs := restrictionAnswered(t, dsr.GroundAccuracyContested)
	ctx := context.Background()
	lifting := dsr.Applying(dsr.DecisionLifted)
	must(t, e.store.SetDecision(ctx, e.id, "billing", dsr.RestrictionHeld, lifting, e.now, dsrtest.Step(dsr.AuditRestrictionLiftDecided)))
	task := dsr.DecisionMessage{RequestID: e.id, Purpose: "billing", Decision: dsr.DecisionLifted}
	for range 2 { // the second is a redelivery
		if resp, err := e.h.Handle(ctx, sqsEvent(t, task)); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("lifting task: %v %v", resp, err)
		}
	}
	for _, ref := range e.contacts.Owned(e.billing, ada) {
		if _, ok := e.contacts.Restriction(e.billing, ref); ok != (ref == refs[0]) {
			t.Errorf("billing item %s restricted %v after the lifting", ref, ok)
		}
	}
	for _, ref := range e.contacts.Owned(e.marketing, ada) {
		if r, ok := e.contacts.Restriction(e.marketing, ref); !ok || r.Reason != dsr.GroundAccuracyContested {
			t.Errorf("marketing item %s: %+v %v, want still restricted", ref, r, ok)
		}
	}
	sent := e.notices()
	if len(sent) != 2 || !slices.Equal(sent[1].Purposes, []dsr.NoticePurpose{{Purpose: "billing", Action: dsr.ActionLift}}) || sent[1].RefersTo != sent[0].NoticeID || sent[1].NoticeID == sent[0].NoticeID {
		t.Errorf("notices: %+v", sent)
	}
	r, _ := e.store.Get(ctx, e.id)
	if r.ObjectionDecisions["billing"] != dsr.DecisionLifted || r.Email == "" {
		t.Errorf("states %v, address kept %v", r.ObjectionDecisions, r.Email != "")
	}
	lifted := 0
	for _, a := range e.steps(e.id) {
		if a == dsr.AuditRestrictionLifted {
			lifted++
		}
	}
	if lifted != 1 {
		t.Errorf("restriction_lifted %d times, want once", lifted)
	}
	must(t, e.store.SetDecision(ctx, e.id, "marketing", dsr.RestrictionHeld, lifting, e.now, dsrtest.Step(dsr.AuditRestrictionLiftDecided)))
	if resp, err := e.h.Handle(ctx, sqsEvent(t, dsr.DecisionMessage{RequestID: e.id, Purpose: "marketing", Decision: dsr.DecisionLifted})); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("lifting task: %v %v", resp, err)
	}
	if r, _ := e.store.Get(ctx, e.id); r.Email != "" {
		t.Error("the address is kept after the last lifting")
	}
}
