package dpo_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

// answeredRestriction stores a restriction request of ada's, answered,
// holding customer_care and billing restricted, with its suppression
// entries.
func answeredRestriction(t *testing.T, e *env, list *memstore.Suppressions, id string) {
	t.Helper()
	ctx := context.Background()
	plan := []string{"customer_care", "billing"}
	must(t, e.store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeRestriction, Ground: dsr.GroundAccuracyContested, Purposes: plan, Status: dsr.StatusAwaitingVerification,
		Email: "ada@example.com", SubjectKey: "key-ada", ReceivedAt: e.now, VerifiedAt: e.now, DueAt: e.now.AddDate(0, 1, 0)}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: plan}, dsrtest.StepTo(dsr.StatusInProgress)))
	r, _ := e.store.Get(ctx, id)
	must(t, e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now,
		ObjectionDecisions: dsr.HeldRestrictions(r)}, dsrtest.StepTo(dsr.StatusCompleted)))
	must(t, list.Add(ctx, []dsr.Suppression{
		{SubjectKey: "key-ada", Scope: dsr.RestrictionScope("customer_care", id), Reason: dsr.SuppressedByRestriction, RequestID: id},
		{SubjectKey: "key-ada", Scope: dsr.RestrictionScope("billing", id), Reason: dsr.SuppressedByRestriction, RequestID: id},
	}))
}

// TestLiftToldBeforeLifting: Art. 18(3): the person is told before a
// restriction is lifted. While the notice cannot be sent, the answer is
// 503 and nothing changes: no task, the suppression entry, the state, the
// trail. Once the mail is accepted, the lifting is recorded once, its task
// queued after the mail, and the purpose's entry (only it) removed.
func TestLiftToldBeforeLifting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasks, list := &dsrtest.Queue{}, &memstore.Suppressions{}
	mailer := &orderedMailer{tasks: tasks, Mailer: dsrtest.Mailer{Err: errors.New("SES throttled")}}
	e.h.Service.Tasks, e.h.Service.Suppressions, e.h.Service.Mailer = tasks, list, mailer
	id := "01JD0000000000000000000012"
	answeredRestriction(t, e, list, id)
	setup := len(e.audit.Actions(id))
	body := `{"purpose":"customer_care","reason":"We verified your address: it is correct."}`

	if status, m := e.call(t, dpo.RouteLift, id, dpoClaims, nil, body); status != 503 {
		t.Fatalf("lift while the mail fails: %d %v, want 503", status, m)
	}
	r, _ := e.store.Get(ctx, id)
	entries, _ := list.Entries(ctx, "key-ada")
	if len(tasks.Decisions()) != 0 || len(entries) != 2 || r.ObjectionDecisions["customer_care"] != dsr.RestrictionHeld || len(e.audit.Actions(id)) != setup {
		t.Errorf("after a failed notice: tasks %+v, entries %d, states %v, trail %v; want nothing changed", tasks.Decisions(), len(entries), r.ObjectionDecisions, e.audit.Actions(id)[setup:])
	}

	mailer.Err = nil
	if status, m := e.call(t, dpo.RouteLift, id, dpoClaims, nil, body); status != 200 {
		t.Fatalf("lift once the mail works: %d %v", status, m)
	}
	sent := tasks.Decisions()
	if len(mailer.Mails) != 1 || !slices.Equal(mailer.tasksBefore, []int{0, 0}) || len(sent) != 1 || sent[0] != (dsr.DecisionMessage{RequestID: id, Purpose: "customer_care", Decision: dsr.DecisionLifted}) {
		t.Errorf("mails %d, tasks queued before each attempt %v, tasks %+v: want the one accepted mail before the one task", len(mailer.Mails), mailer.tasksBefore, sent)
	}
	if m := mailer.Mails[0]; m.To != "ada@example.com" || m.MailID() != id+"-lifting-customer_care" || !strings.Contains(m.Text, "We verified your address") || !strings.Contains(m.Text, "Art. 18(3)") {
		t.Errorf("notice: %+v", m)
	}
	if entries, _ := list.Entries(ctx, "key-ada"); len(entries) != 1 || entries[0].Scope != dsr.RestrictionScope("billing", id) {
		t.Errorf("suppression after the lifting: %+v, want billing's only", entries)
	}
	if r, _ := e.store.Get(ctx, id); r.ObjectionDecisions["customer_care"] != dsr.Applying(dsr.DecisionLifted) || r.ObjectionDecisions["billing"] != dsr.RestrictionHeld || r.Email == "" {
		t.Errorf("states %v, address kept %v", r.ObjectionDecisions, r.Email != "")
	}
	if got := e.audit.Actions(id)[setup:]; !slices.Equal(got, []dsr.AuditAction{dsr.AuditRestrictionLiftDecided, dsr.AuditPersonNotified}) {
		t.Errorf("trail: %v", got)
	}
}

// TestLiftAgainGoesOn: a lifting whose task could not be queued stays
// under way; sent again, it mails the same notice (one id), queues the
// task and records nothing twice.
func TestLiftAgainGoesOn(t *testing.T) {
	e := newEnv(t)
	tasks, list := &dsrtest.Queue{}, &memstore.Suppressions{}
	tasks.SetErr(errors.New("SQS down"))
	e.h.Service.Tasks, e.h.Service.Suppressions = tasks, list
	id := "01JD0000000000000000000013"
	answeredRestriction(t, e, list, id)
	setup := len(e.audit.Actions(id))
	body := `{"purpose":"billing","reason":"Verified."}`
	if status, m := e.call(t, dpo.RouteLift, id, dpoClaims, nil, body); status != 503 {
		t.Fatalf("lift while the queue fails: %d %v, want 503", status, m)
	}
	tasks.SetErr(nil)
	if status, m := e.call(t, dpo.RouteLift, id, dpoClaims, nil, body); status != 200 {
		t.Fatalf("lift again: %d %v", status, m)
	}
	ids := map[string]bool{}
	for _, m := range e.mailer.Mails {
		ids[m.MailID()] = true
	}
	if len(ids) != 1 || len(tasks.Decisions()) != 1 {
		t.Errorf("mail ids %v, tasks %+v: want one notice id, one task", ids, tasks.Decisions())
	}
	if got := e.audit.Actions(id)[setup:]; !slices.Equal(got, []dsr.AuditAction{dsr.AuditRestrictionLiftDecided, dsr.AuditPersonNotified}) {
		t.Errorf("trail: %v, want the lifting once", got)
	}
}

// TestLiftRefused: the body's fields, the request's type and status, and
// the purpose's state are checked before anything is sent.
func TestLiftRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasks, list := &dsrtest.Queue{}, &memstore.Suppressions{}
	e.h.Service.Tasks, e.h.Service.Suppressions = tasks, list
	id := "01JD0000000000000000000014"
	answeredRestriction(t, e, list, id)
	must(t, e.store.SetDecision(ctx, id, "billing", dsr.RestrictionHeld, dsr.DecisionLifted, e.now, dsrtest.Step(dsr.AuditRestrictionLifted)))
	for _, tc := range []struct {
		name, id, body string
		status         int
	}{
		{"no reason", id, `{"purpose":"customer_care"}`, 400},
		{"blank reason", id, `{"purpose":"customer_care","reason":"  "}`, 400},
		{"unknown field", id, `{"purpose":"customer_care","reason":"r","until":"2030-01-01"}`, 400},
		{"not restricted by it", id, `{"purpose":"marketing","reason":"r"}`, 400},
		{"lifted already", id, `{"purpose":"billing","reason":"r"}`, 409},
		{"not a restriction", ids["complete"], `{"purpose":"billing","reason":"r"}`, 409},
		{"an access in progress", ids["running"], `{"purpose":"marketing","reason":"r"}`, 409},
		{"no such request", "01JD0000000000000000000099", `{"purpose":"billing","reason":"r"}`, 404},
	} {
		if status, m := e.call(t, dpo.RouteLift, tc.id, dpoClaims, nil, tc.body); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, status, m, tc.status)
		}
	}
	if len(e.mailer.Mails) != 0 || len(tasks.Decisions()) != 0 {
		t.Errorf("refused liftings sent mails %d, tasks %d", len(e.mailer.Mails), len(tasks.Decisions()))
	}
}
