package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// rectificationEnv is ada's rectification of her name, dispatched and
// waiting for the DPO, over a registry where marketing marks name
// rectifiable and billing does not. Marketing holds 12 items of ada's with
// her old name (two pages) and one without a name, and 2 of grace's;
// billing 3 of ada's; each purpose has a recipient.
func rectificationEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, dsr.Request{Type: dsr.TypeRectification, Language: dsr.LangDE, Rectification: &dsr.Rectification{
		Correction: dsr.Correction{Attribute: "name", Corrected: "Ada King"}, Decision: dsr.RectificationPending}})
	reg := slices.Clone(e.h.Registry)
	reg[0].Rectifiable = []string{"name"}
	e.h.Registry, e.marketing = reg, reg[0]
	named := func(p dsr.Purpose, key string, s dsr.Subject, name string) map[string]any {
		it := map[string]any{"id": key, p.Identifier: s.Email, p.SubjectKeyAttribute: s.Key, "note": "kept"}
		if name != "" {
			it["name"] = name
		}
		return it
	}
	for i := range 12 {
		e.contacts.Put(e.marketing, "id", named(e.marketing, fmt.Sprintf("m-%02d", i), ada, "Ada Lovelace"))
	}
	e.contacts.Put(e.marketing, "id", named(e.marketing, "m-unnamed", ada, ""),
		named(e.marketing, "m-grace-1", grace, "Grace Hopper"), named(e.marketing, "m-grace-2", grace, "Grace Hopper"))
	for i := range 3 {
		e.contacts.Put(e.billing, "id", named(e.billing, fmt.Sprintf("b-%02d", i), ada, "Ada Lovelace"))
	}
	putProvenance(t, e.prov, ada.Key, "marketing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Example Print GmbH", Country: "DE", At: e.now.AddDate(0, -1, 0)})
	putProvenance(t, e.prov, ada.Key, "billing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Tax Advisers LLP", Country: "GB", At: e.now.AddDate(0, -1, 0)})
	return e
}

// decide records the DPO's decision on e's rectification.
func (e *env) decide(t *testing.T, outcome, reasons string) {
	t.Helper()
	must(t, e.store.DecideRectification(context.Background(), e.id, dsr.RectificationDecision{Outcome: outcome, Reasons: reasons}, e.now,
		dsr.Step{Actor: "dpo:test", Action: dsr.AuditRectificationDecided, Detail: outcome, At: e.now}))
}

// names are the names of p's items, by key ("-" for an item without one).
func (e *env) names(p dsr.Purpose) map[string]string {
	out := map[string]string{}
	for _, it := range e.contacts.Items(p) {
		name, ok := it["name"].(string)
		if !ok {
			name = "-"
		}
		out[it["id"].(string)] = name
	}
	return out
}

// count is how often action is in the trail of e's request.
func (e *env) count(action dsr.AuditAction) int {
	n := 0
	for _, a := range e.steps(e.id) {
		if a == action {
			n++
		}
	}
	return n
}

func TestRectificationWaitsForTheDecision(t *testing.T) {
	t.Parallel()
	e := rectificationEnv(t)
	before := e.names(e.marketing)
	e.runAll(t)
	r, _ := e.store.Get(context.Background(), e.id)
	if r.Status != dsr.StatusInProgress || len(r.DoneParts) != 0 || !cmp.Equal(before, e.names(e.marketing)) || len(e.queue.Notices()) != 0 {
		t.Errorf("a task before the decision acted: %s, parts %v", r.Status, r.DoneParts)
	}
	if !r.AwaitingDecision() || !r.DPOView(e.now, false).AwaitingDecision {
		t.Error("the DPO is not shown that the rectification awaits a decision")
	}
}

func TestRectificationCorrectsRectifiablePurposes(t *testing.T) {
	t.Parallel()
	e := rectificationEnv(t)
	e.decide(t, dsr.RectificationConfirmed, "")
	e.runAll(t)
	names := e.names(e.marketing)
	for k, name := range names {
		want := "Ada King"
		switch {
		case k == "m-unnamed":
			want = "-" // an item without the attribute does not gain it
		case strings.HasPrefix(k, "m-grace"):
			want = "Grace Hopper"
		}
		if name != want {
			t.Errorf("marketing %s: %q, want %q", k, name, want)
		}
	}
	for k, name := range e.names(e.billing) {
		if name != "Ada Lovelace" {
			t.Errorf("billing %s: %q; an issued invoice keeps its name", k, name)
		}
	}
	o := outcomes(e.certificate(t))
	m, b := o["marketing"], o["billing"]
	if m.Action != dsr.ActionRectify || m.Rectification.ItemsHolding != 12 || m.Rectification.ItemsCorrected != 12 || !m.Verified {
		t.Errorf("marketing: %+v %+v", m, m.Rectification)
	}
	if b.Action != dsr.ActionNone || b.Rectification.Rectifiable || b.Rectification.ItemsHolding != 3 || !strings.Contains(b.Reason, "not rectifiable") {
		t.Errorf("billing: %+v %+v", b, b.Rectification)
	}
	checkRectificationNotices(t, e)
	r, _ := e.store.Get(context.Background(), e.id)
	if r.Status != dsr.StatusCompleted || r.Email != "" || r.Rectification.Corrected != "" {
		t.Errorf("after completion: %s, address %q, corrected kept %v", r.Status, r.Email, r.Rectification.Corrected != "")
	}
	if len(e.mailer.Mails) != 1 || e.mailer.Mails[0].Event != dsr.EventCompleted || strings.Contains(e.mailer.Mails[0].Text, "Ada King") {
		t.Errorf("mails: %+v", e.mailer.Mails)
	}
}

// checkRectificationNotices: the recipients of marketing, whose items were
// corrected, are told the corrected value (Art. 19); billing's are not.
func checkRectificationNotices(t *testing.T, e *env) {
	t.Helper()
	var sent []dsr.RecipientNotice
	for _, batch := range e.queue.Notices() {
		sent = append(sent, batch...)
	}
	if len(sent) == 0 {
		t.Fatal("no notice sent")
	}
	for _, n := range sent {
		want := []dsr.NoticePurpose{{Purpose: "marketing", Action: dsr.ActionRectify, Attribute: "name", Corrected: "Ada King"}}
		if n.Recipient != "Example Print GmbH" || !cmp.Equal(want, n.Purposes) || n.NoticeID != sent[0].NoticeID {
			t.Errorf("notice %+v", n)
		}
	}
	cert := e.certificate(t)
	if len(cert.Recipients) != 1 || cert.Recipients[0].Recipient != "Example Print GmbH" {
		t.Errorf("certificate's recipients %+v", cert.Recipients)
	}
}

// TestRectificationRedeliveryAppliesOnce: a delivery that fails half-way
// is delivered again, and again after it succeeded: every item is
// corrected once, and each part and the completion recorded once.
func TestRectificationRedeliveryAppliesOnce(t *testing.T) {
	t.Parallel()
	e := rectificationEnv(t)
	e.decide(t, dsr.RectificationConfirmed, "")
	var mu sync.Mutex
	calls := 0
	e.contacts.SetHook(func(op string, _ dsr.Purpose) error {
		mu.Lock()
		defer mu.Unlock()
		if op == "Rectify" {
			if calls++; calls == 2 { // the second page's update fails
				return errors.New("throttled")
			}
		}
		return nil
	})
	ctx := context.Background()
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 1 {
		t.Fatalf("first delivery: failed %v", failed)
	}
	if n := e.names(e.marketing)["m-00"]; n != "Ada King" {
		t.Fatalf("the first page is not corrected: %q", n)
	}
	for range 2 {
		if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
			t.Fatal("redelivery failed")
		}
	}
	e.runAll(t)
	e.runAll(t) // after completion: nothing to do
	if got := e.count(dsr.AuditPurposeDone); got != 2 {
		t.Errorf("%d purpose_done steps, want 2 (one per purpose)", got)
	}
	if got := e.count(dsr.AuditCompleted); got != 1 {
		t.Errorf("%d completed steps", got)
	}
	if m := outcomes(e.certificate(t))["marketing"]; m.Rectification.ItemsCorrected != 12 || m.ReadBack.Fixed != 0 {
		t.Errorf("marketing: %+v", m.Rectification)
	}
	checkRectificationNotices(t, e)
}

// TestRectificationReadBackCorrectsWhatReappears: an item the CRM writes
// with the old name while the correction runs is found by the read-back
// and corrected too.
func TestRectificationReadBackCorrectsWhatReappears(t *testing.T) {
	t.Parallel()
	e := rectificationEnv(t)
	e.decide(t, dsr.RectificationConfirmed, "")
	once := sync.Once{}
	e.contacts.SetHook(func(op string, p dsr.Purpose) error {
		if op == "SurveyAttribute" && p.Name == "marketing" {
			once.Do(func() {
				e.contacts.Put(e.marketing, "id", map[string]any{"id": "m-late", "email": ada.Email, "dsrSubjectKey": ada.Key, "name": "Ada Lovelace"})
			})
		}
		return nil
	})
	e.runAll(t)
	m := outcomes(e.certificate(t))["marketing"]
	if e.names(e.marketing)["m-late"] != "Ada King" || m.Rectification.ItemsCorrected != 13 || m.ReadBack.Fixed != 1 {
		t.Errorf("after a late write: %+v, fixed %d", m.Rectification, m.ReadBack.Fixed)
	}
}

func TestRectificationRefusedChangesNothing(t *testing.T) {
	t.Parallel()
	e := rectificationEnv(t)
	before := e.names(e.marketing)
	e.decide(t, dsr.RectificationRefused, "Ihr Name steht so im Vertrag.")
	e.runAll(t)
	if !cmp.Equal(before, e.names(e.marketing)) || len(e.queue.Notices()) != 0 {
		t.Error("a refusal changed records or told recipients")
	}
	cert := e.certificate(t)
	if a := cert.Rectification; a == nil || a.Decision != dsr.RectificationRefused || a.Reasons != "Ihr Name steht so im Vertrag." || !strings.Contains(a.Remedies, "Art. 18(1)(a)") {
		t.Errorf("answer %+v", a)
	}
	for _, o := range cert.Purposes {
		if o.Action != dsr.ActionNone {
			t.Errorf("%s: %s", o.Purpose, o.Action)
		}
	}
	if r, _ := e.store.Get(context.Background(), e.id); r.Status != dsr.StatusCompleted {
		t.Errorf("status %s", r.Status)
	}
}

func TestRectificationCheckpointsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	e := rectificationEnv(t)
	e.decide(t, dsr.RectificationConfirmed, "")
	e.h.Reserve = time.Hour // always near the deadline: one page per invocation
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
		t.Fatal("first page failed")
	}
	tasks := e.queue.Tasks()
	if len(tasks) != 1 || tasks[0].Cursor == "" {
		t.Fatalf("continuations %+v", tasks)
	}
	e.h.Reserve = time.Second
	if resp, err := e.h.Handle(ctx, sqsEvent(t, tasks[0])); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatal("continuation failed")
	}
	e.deliverTask(t, ctx, "billing")
	if m := outcomes(e.certificate(t))["marketing"]; m.Rectification.ItemsCorrected != 12 {
		t.Errorf("after the continuation: %+v", m.Rectification)
	}
}
