package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

// certificate returns the request's certificate.
func (e *env) certificate(t *testing.T) dsr.Certificate {
	t.Helper()
	raw, ok := e.objects.Document(e.id, dsr.DocCertificate)
	if !ok {
		t.Fatal("no certificate written")
	}
	var c dsr.Certificate
	must(t, json.Unmarshal(raw, &c))
	return c
}

func outcomes(c dsr.Certificate) map[string]dsr.PurposeOutcome {
	m := map[string]dsr.PurposeOutcome{}
	for _, o := range c.Purposes {
		m[o.Purpose] = o
	}
	return m
}

// statutoryUntil is when the registry's rule ends the statutory restriction
// of e's billing records: billing has no retentionFrom, so every record is
// restricted until the latest end of its duty, counted from the request's
// verification (dsr.RestrictionFor).
func (e *env) statutoryUntil(t *testing.T) time.Time {
	t.Helper()
	if e.billing.RetentionFrom != "" {
		t.Fatalf("billing's records have their own retention (%s): derive each one's end from it", e.billing.RetentionFrom)
	}
	return e.billing.RestrictedUntil(e.now)
}

func TestErasureDeletesRestrictsAndCertifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 35)
	e.contacts.Add(e.marketing, grace, 4)
	e.contacts.Add(e.billing, ada, 3)
	seedEarlierAccess(t, e)

	e.runAll(t)

	until := e.statutoryUntil(t)
	t.Run("tables", func(t *testing.T) { checkErasedTables(t, e, until) })
	t.Run("earlier requests", func(t *testing.T) { checkEarlierRequests(t, e, until) })
	t.Run("certificate", func(t *testing.T) { checkErasureCertificate(t, e, until) })
	t.Run("redelivery", func(t *testing.T) {
		// A redelivered task after completion changes nothing.
		before, _ := e.objects.Document(e.id, dsr.DocCertificate)
		failed := e.deliverTask(t, context.Background(), "marketing")
		if after, _ := e.objects.Document(e.id, dsr.DocCertificate); len(failed) != 0 || !bytes.Equal(after, before) || e.objects.Writes(e.id, dsr.DocCertificate) != 1 {
			t.Error("redelivery after completion changed the certificate")
		}
	})
}

// seedEarlierAccess gives ada an earlier access request with its report, to
// be deleted with her data, and another still under way with a chunk
// written, which must not write a report of the erased data afterwards; and
// someone else a report.
func seedEarlierAccess(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	key, err := e.objects.PutDocument(ctx, "01JDACCESS", dsr.DocReportJSON, []byte("{}"))
	must(t, err)
	must(t, e.store.Create(ctx, &dsr.Request{ID: "01JDACCESS", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, SubjectKey: ada.Key, Email: ada.Email}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, "01JDACCESS", dsr.StatusAwaitingVerification, dsr.StatusRejected, e.now, dsr.Changes{Result: &dsr.Result{ReportJSONKey: key}}, dsrtest.StepTo(dsr.StatusRejected)))
	must(t, e.store.Create(ctx, &dsr.Request{ID: "01JDRUNNING", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, SubjectKey: ada.Key, Email: ada.Email}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, "01JDRUNNING", dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, "01JDRUNNING", dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(t, e.objects.PutChunk(ctx, dsr.Chunk{RequestID: "01JDRUNNING", Purpose: "marketing", Index: 0}))
	must(t, e.store.Create(ctx, &dsr.Request{ID: "01JDQUEUED", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, SubjectKey: ada.Key, Email: ada.Email}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, "01JDQUEUED", dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}, dsrtest.StepTo(dsr.StatusQueued)))
	_, err = e.objects.PutDocument(ctx, "01JDOTHER", dsr.DocReportJSON, []byte("{}"))
	must(t, err)
}

// checkErasedTables: ada's marketing items are gone, grace's untouched, and
// ada's billing items restricted by the erasure until the registry says.
func checkErasedTables(t *testing.T, e *env, until time.Time) {
	if refs := e.contacts.Owned(e.marketing, ada); len(refs) != 0 {
		t.Errorf("ada's marketing items left: %v", refs)
	}
	if refs := e.contacts.Owned(e.marketing, grace); len(refs) != 4 {
		t.Errorf("grace's items touched: %d left", len(refs))
	}
	for _, ref := range e.contacts.Owned(e.billing, ada) {
		r, ok := e.contacts.Restriction(e.billing, ref)
		if !ok || r.Reason != dsr.RestrictionStatutory || !r.Until.Equal(until) || r.RequestID != e.id {
			t.Errorf("billing item %s restriction %+v (%v)", ref, r, ok)
		}
	}
}

// checkEarlierRequests: ada's earlier report is deleted; the access
// requests under way (one in progress, one queued) are completed with an
// answer (what the erasure did, without personal data) instead of a report,
// their person told, their trails whole; their chunks are deleted;
// someone else's report is left.
func checkEarlierRequests(t *testing.T, e *env, until time.Time) {
	ctx := context.Background()
	if _, ok := e.objects.Document("01JDACCESS", dsr.DocReportJSON); ok {
		t.Error("earlier access report not deleted")
	}
	for id, trail := range map[string][]dsr.AuditAction{
		"01JDRUNNING": {dsr.AuditPersonNotified, dsr.AuditCompleted},
		"01JDQUEUED":  {dsr.AuditDispatched, dsr.AuditPersonNotified, dsr.AuditCompleted},
	} {
		r, _ := e.store.Get(ctx, id)
		if r.Status != dsr.StatusCompleted || !r.Superseded() || r.Result.SupersededBy != e.id || r.View().Result.Answer != dsr.DocCertificate {
			t.Errorf("%s: %s %+v, want completed, superseded by %s", id, r.Status, r.Result, e.id)
		}
		if got := e.steps(id); !slices.Equal(got, trail) {
			t.Errorf("%s's trail: %v, want %v", id, got, trail)
		}
		c := dsr.NewAuditChecker(id)
		entries, _ := e.audit.Entries(ctx, id)
		for _, en := range entries {
			c.Add(en)
		}
		if check := c.Check(r); !check.Intact {
			t.Errorf("%s's trail check: %+v", id, check)
		}
		raw, ok := e.objects.Document(id, dsr.DocCertificate)
		if !ok {
			t.Fatalf("%s has no answer", id)
		}
		var a dsr.SupersededAnswer
		must(t, json.Unmarshal(raw, &a))
		kept := map[string]*time.Time{}
		for _, p := range a.Purposes {
			kept[p.Purpose] = p.KeptUntil
		}
		if a.ErasureRequestID != e.id || a.RequestID != id || len(a.Purposes) != 2 || kept["marketing"] != nil ||
			kept["billing"] == nil || !kept["billing"].Equal(until) || !strings.Contains(a.Answer, "erased on 29 November 2026") {
			t.Errorf("%s's answer: %s", id, raw)
		}
		if strings.Contains(string(raw), ada.Email) || strings.Contains(string(raw), ada.Key) {
			t.Errorf("%s's answer holds personal data: %s", id, raw)
		}
		told := 0
		for _, m := range e.mailer.Mails {
			if m.RequestID == id && m.Event == dsr.EventCompleted && m.To == ada.Email {
				told++
			}
		}
		if told != 1 {
			t.Errorf("%s: %d completion mails, want 1", id, told)
		}
	}
	if got := e.steps(e.id); !slices.Equal(got, []dsr.AuditAction{dsr.AuditPurposeDone, dsr.AuditPurposeDone, dsr.AuditPersonNotified, dsr.AuditCompleted}) {
		t.Errorf("erasure's trail: %v", got)
	}
	if _, ok, _ := e.objects.FindChunk(ctx, "01JDRUNNING", "marketing", 0); ok {
		t.Error("the running access request's parts were not deleted")
	}
	if _, ok := e.objects.Document("01JDOTHER", dsr.DocReportJSON); !ok {
		t.Error("someone else's report deleted")
	}
}

// checkErasureCertificate: the request is completed with its certificate,
// which states what was deleted and restricted, and holds nothing personal.
func checkErasureCertificate(t *testing.T, e *env, until time.Time) {
	r, _ := e.store.Get(context.Background(), e.id)
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.CertificateKey != "reports/"+e.id+"/certificate.json" || r.ObjectionDecisions != nil {
		t.Fatalf("request: %+v", r)
	}
	c := e.certificate(t)
	o := outcomes(c)
	if m := o["marketing"]; m.ItemsDeleted != 35 || m.Action != dsr.ActionDelete || !m.Verified || m.ReadBack.Unrestricted != 0 {
		t.Errorf("marketing outcome: %+v", m)
	}
	if b := o["billing"]; b.ItemsRestricted != 3 || b.ItemsDeleted != 0 || b.RestrictedUntil == nil || !b.RestrictedUntil.Equal(until) || b.ReadBack.Restricted != 3 || !b.Verified {
		t.Errorf("billing outcome: %+v", b)
	}
	if c.EarlierReportsDeleted != 1 || len(c.CopiesElsewhere) != 1 || c.Recipients == nil ||
		!cmp.Equal(c.Suppress.Purposes, []string{dsr.ScopeAll}) || c.Suppress.Reason != dsr.SuppressedByErasure {
		t.Errorf("certificate: %+v", c)
	}
	raw, _ := e.objects.Document(e.id, dsr.DocCertificate)
	for _, personal := range []string{"ada@", "example.com", "key-ada", "marketing-ada"} {
		if strings.Contains(string(raw), personal) {
			t.Errorf("certificate holds %q:\n%s", personal, raw)
		}
	}
}

// TestErasureRedeliveryCountsOnce fails a task after it deleted two pages,
// and lets SQS deliver it again: the count is exact, neither doubled nor
// missing the pages the first delivery deleted.
func TestErasureRedeliveryCountsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 45)
	e.contacts.Add(e.billing, ada, 2)
	e.contacts.SetHook(func(op string, _ dsr.Purpose) error {
		if op == "Delete" && e.contacts.Calls("Delete") == 3 { // the third Delete call fails
			return errors.New("throttled for good")
		}
		return nil
	})
	ctx := context.Background()
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 1 {
		t.Fatalf("first delivery should fail on the third page, failed %v", failed)
	}
	if left := len(e.contacts.Owned(e.marketing, ada)); left != 25 {
		t.Fatalf("%d left after two pages", left)
	}
	// The same message again, twice (SQS may deliver more than once).
	for range 2 {
		if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
			t.Fatalf("redelivery failed")
		}
	}
	if failed := e.deliverTask(t, ctx, "billing"); len(failed) != 0 {
		t.Fatal("billing failed")
	}
	o := outcomes(e.certificate(t))
	if o["marketing"].ItemsDeleted != 45 || o["billing"].ItemsRestricted != 2 {
		t.Errorf("counts: marketing %d deleted, billing %d restricted; want 45 and 2", o["marketing"].ItemsDeleted, o["billing"].ItemsRestricted)
	}
}

func TestErasureReadBackRemovesWhatReappears(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 5)
	e.contacts.Add(e.billing, ada, 1)
	once := sync.Once{}
	e.contacts.SetHook(func(op string, p dsr.Purpose) error {
		if op == "Survey" && p.Name == "marketing" {
			// The CRM re-imports ada while the erasure runs.
			once.Do(func() { e.contacts.Add(e.marketing, ada, 1) })
		}
		return nil
	})
	e.runAll(t)
	m := outcomes(e.certificate(t))["marketing"]
	if len(e.contacts.Owned(e.marketing, ada)) != 0 || m.ItemsDeleted != 6 || m.ReadBack.Fixed != 1 || !m.Verified {
		t.Errorf("marketing after a re-import: %+v", m)
	}
}

func TestObjectionToDirectMarketingTouchesNothingElse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeObjection, Scope: dsr.ScopeDirectMarketing})
	e.contacts.Add(e.marketing, ada, 12)
	e.contacts.Add(e.billing, ada, 2)
	e.runAll(t)
	if len(e.contacts.Owned(e.marketing, ada)) != 0 {
		t.Error("marketing items left")
	}
	for _, ref := range e.contacts.Owned(e.billing, ada) {
		if _, restricted := e.contacts.Restriction(e.billing, ref); restricted {
			t.Errorf("billing item %s restricted by a marketing objection", ref)
		}
	}
	r, _ := e.store.Get(context.Background(), e.id)
	c := e.certificate(t)
	if r.Status != dsr.StatusCompleted || len(c.Purposes) != 1 || c.Purposes[0].ItemsDeleted != 12 || r.ObjectionDecisions != nil ||
		!cmp.Equal(c.Suppress.Purposes, []string{dsr.ScopeDirectMarketing}) || c.Scope != dsr.ScopeDirectMarketing {
		t.Errorf("request %+v, certificate %+v", r, c)
	}
}

func TestObjectionToLegitimateInterestRestrictsPendingDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"billing"}, Grounds: "moved"})
	refs := e.contacts.Add(e.billing, ada, 3)
	// One item is under a statutory restriction already: it stays so.
	statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, Until: e.statutoryUntil(t)}
	must(t, e.contacts.Restrict(context.Background(), e.billing, refs[:1], statutory))
	e.runAll(t)
	for _, ref := range e.contacts.Owned(e.billing, ada) {
		want := dsr.RestrictionObjection
		if ref == refs[0] {
			want = dsr.RestrictionStatutory
		}
		if r, ok := e.contacts.Restriction(e.billing, ref); !ok || r.Reason != want {
			t.Errorf("item %s: %+v (%v), want %s", ref, r, ok, want)
		}
	}
	r, _ := e.store.Get(context.Background(), e.id)
	b := outcomes(e.certificate(t))["billing"]
	if !cmp.Equal(r.ObjectionDecisions, map[string]string{"billing": dsr.DecisionPending}) || !b.DecisionPending || b.ItemsRestricted != 3 || b.RestrictedUntil != nil {
		t.Errorf("decisions %v, outcome %+v", r.ObjectionDecisions, b)
	}
}

func TestErasureCheckpointsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 25)
	e.contacts.Add(e.billing, ada, 1)
	e.h.Reserve = time.Hour // always near the deadline: one page per invocation
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
		t.Fatal("first page failed")
	}
	// Every continuation sent, in order, each delivered once.
	for i := 0; i < len(e.queue.Tasks()); i++ {
		if i > 10 {
			t.Fatal("continuations do not end")
		}
		resp, err := e.h.Handle(ctx, sqsEvent(t, e.queue.Tasks()[i]))
		must(t, err)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatal("continuation failed")
		}
	}
	e.h.Reserve = time.Second
	e.deliverTask(t, ctx, "billing")
	if m := outcomes(e.certificate(t))["marketing"]; m.ItemsDeleted != 25 || len(e.contacts.Owned(e.marketing, ada)) != 0 {
		t.Errorf("after continuations: %+v", m)
	}
}

// flakyStore fails MarkPartDone once, as a crash between the read-back and
// the progress record would.
type flakyStore struct {
	*memstore.Requests
	failed bool
}

func (s *flakyStore) MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time, steps ...dsr.Step) (*dsr.Request, bool, error) {
	if !s.failed {
		s.failed = true
		return nil, false, errors.New("connection reset")
	}
	return s.Requests.MarkPartDone(ctx, id, purpose, chunks, now, steps...)
}

// TestRedeliveryKeepsTheFirstReadBack: a delivery that read back but could
// not record its progress is redelivered; the redelivery finds the read-back
// chunk and does not read back again, so what it certifies is what was read.
func TestRedeliveryKeepsTheFirstReadBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 15)
	e.contacts.Add(e.billing, ada, 1)
	e.h.Requests = &flakyStore{Requests: e.store}
	ctx := context.Background()
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 1 {
		t.Fatal("the first delivery should fail to record its progress")
	}
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
		t.Fatal("redelivery failed")
	}
	surveys := e.contacts.Calls("Survey") // marketing's read-backs: billing's is yet to come
	e.deliverTask(t, ctx, "billing")
	m := outcomes(e.certificate(t))["marketing"]
	if surveys != 1 || m.ItemsDeleted != 15 || !m.Verified {
		t.Errorf("%d read-backs, outcome %+v; want one read-back and 15 deleted", surveys, m)
	}
}

// TestObjectionDecisionApplied: a DPO's decision on an objection to a
// legitimate-interest purpose is applied to every page: upheld erases the
// items, overridden lifts only this objection's marks; a redelivery after
// that does nothing.
func TestObjectionDecisionApplied(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{dsr.DecisionUpheld, dsr.DecisionOverridden} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			e := objectionAwaitingDecision(t)
			ctx := context.Background()
			must(t, e.store.SetDecision(ctx, e.id, "billing", dsr.DecisionPending, dsr.Applying(outcome), e.now, dsrtest.Step(dsr.AuditObjectionDecided)))
			task := dsr.DecisionMessage{RequestID: e.id, Purpose: "billing", Decision: outcome}
			for range 2 { // the second is a redelivery
				resp, err := e.h.Handle(ctx, sqsEvent(t, task))
				must(t, err)
				if len(resp.BatchItemFailures) != 0 {
					t.Fatal("decision task failed")
				}
			}
			kept, _ := e.prov.Subject(ctx, ada.Key, "", time.Time{})
			if outcome == dsr.DecisionUpheld {
				checkUpheld(t, e, kept)
			} else {
				checkOverridden(t, e, kept)
			}
			if n := len(e.contacts.Owned(e.billing, grace)); n != 2 {
				t.Errorf("grace's items: %d", n)
			}
			r, _ := e.store.Get(ctx, e.id)
			if r.ObjectionDecisions["billing"] != outcome {
				t.Errorf("decision %q, want %q", r.ObjectionDecisions["billing"], outcome)
			}
			if got := e.steps(e.id); got[len(got)-1] != dsr.AuditObjectionApplied || slices.Index(got, dsr.AuditObjectionApplied) != len(got)-1 {
				t.Errorf("trail %v: want one objection_applied at the end", got)
			}
		})
	}
}

// objectionAwaitingDecision runs ada's objection to billing, 25 items of
// hers and 2 of grace's, until it awaits the DPO's decision. One of ada's
// items carries a statutory mark, which an override leaves; billing's data
// went to a printer, told of the restriction (and of the erasure if the
// objection is upheld).
func objectionAwaitingDecision(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"billing"}, Grounds: "moved"})
	refs := e.contacts.Add(e.billing, ada, 25)
	e.contacts.Add(e.billing, grace, 2)
	must(t, e.contacts.Restrict(context.Background(), e.billing, refs[:1], dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "01JDOTHER"}))
	putProvenance(t, e.prov, ada.Key, "billing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Example Print GmbH", Country: "DE", At: e.now.AddDate(0, -1, 0)})
	e.runAll(t)
	if sent := e.notices(); len(sent) != 1 || sent[0].Purposes[0].Action != dsr.ActionRestrict {
		t.Fatalf("notices of the objection: %+v", sent)
	}
	return e
}

// checkUpheld: ada's items are gone with the purpose's provenance, and the
// printer got one erasure notice (the redelivery finds the decision
// applied), under a new id.
func checkUpheld(t *testing.T, e *env, kept []dsr.ProvenanceEntry) {
	t.Helper()
	if left := e.contacts.Owned(e.billing, ada); len(left) != 0 {
		t.Errorf("%d of ada's items left after an upheld objection", len(left))
	}
	if sent := e.notices(); len(sent) != 2 || sent[1].Purposes[0].Action != dsr.ActionDelete || sent[1].NoticeID == sent[0].NoticeID {
		t.Errorf("notices after upholding: %+v", sent)
	}
	if len(kept) != 0 {
		t.Errorf("provenance of the erased purpose kept: %+v", kept)
	}
}

// checkOverridden: no notice, the provenance kept, every item of ada's kept
// and only the statutory mark left.
func checkOverridden(t *testing.T, e *env, kept []dsr.ProvenanceEntry) {
	t.Helper()
	if sent := e.notices(); len(sent) != 1 || len(kept) != 1 {
		t.Errorf("an override sends no notice and keeps the provenance: %+v, %+v", sent, kept)
	}
	left, restricted := e.contacts.Owned(e.billing, ada), 0
	for _, ref := range left {
		if _, ok := e.contacts.Restriction(e.billing, ref); ok {
			restricted++
		}
	}
	if len(left) != 25 || restricted != 1 {
		t.Errorf("after an override: %d items, %d restricted; want 25 and the statutory one", len(left), restricted)
	}
}

// TestObjectionAnswersRefusedPurposes: an objection to marketing and billing
// (where Art. 21 does not apply) erases marketing, touches no billing record,
// and answers billing in the certificate with the reasons and the right to
// complain (Art. 12(4)); redelivered, it records the refused part once. An
// objection naming only billing completes with that answer alone.
func TestObjectionAnswersRefusedPurposes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		purposes []string
	}{
		{"a valid and a refused purpose", []string{"marketing", "billing"}},
		{"only a refused purpose", []string{"billing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dsr.Request{Type: dsr.TypeObjection, Purposes: tc.purposes})
			refusing(e)
			e.contacts.Add(e.marketing, ada, 3)
			e.contacts.Add(e.billing, ada, 2)
			ctx := context.Background()
			must(t, errors.Join(failedErr(e.deliverTask(t, ctx, "billing")), failedErr(e.deliverTask(t, ctx, "billing"))))
			e.runAll(t)
			r, _ := e.store.Get(ctx, e.id)
			if r.Status != dsr.StatusCompleted {
				t.Fatalf("status %s, want completed", r.Status)
			}
			for _, ref := range e.contacts.Owned(e.billing, ada) {
				if _, restricted := e.contacts.Restriction(e.billing, ref); restricted {
					t.Errorf("billing record %s restricted by a refused objection", ref)
				}
			}
			if n := len(e.contacts.Owned(e.billing, ada)); n != 2 {
				t.Errorf("%d billing records left, want 2", n)
			}
			wantMarketing := 3
			if slices.Contains(tc.purposes, "marketing") {
				wantMarketing = 0
			}
			if n := len(e.contacts.Owned(e.marketing, ada)); n != wantMarketing {
				t.Errorf("%d marketing records left, want %d", n, wantMarketing)
			}
			b := outcomes(e.certificate(t))["billing"]
			if b.Action != dsr.ActionNone || b.Refusal == nil || b.RecordsFound != 0 ||
				!strings.Contains(b.Refusal.Reason, "Art. 6(1)(e) or (f)") || !strings.Contains(b.Refusal.Remedies, "Art. 77") {
				t.Errorf("billing outcome %+v (refusal %+v)", b, b.Refusal)
			}
			done := 0
			for _, a := range e.steps(e.id) {
				if a == dsr.AuditPurposeDone {
					done++
				}
			}
			if done != len(tc.purposes) {
				t.Errorf("%d purpose_done steps, want %d: %v", done, len(tc.purposes), e.steps(e.id))
			}
		})
	}
}

// refusing makes billing, in e's registry, a purpose where Art. 21 does not
// apply (objection "none"), as in the demo registry.
func refusing(e *env) {
	reg := slices.Clone(e.h.Registry)
	for i := range reg {
		if reg[i].Name == "billing" {
			reg[i].Objection = dsr.ActionNone
			e.billing = reg[i]
		}
	}
	e.h.Registry = reg
}

// failedErr is an error naming the failed messages, nil when none failed.
func failedErr(failed []string) error {
	if len(failed) == 0 {
		return nil
	}
	return errors.New("messages failed: " + strings.Join(failed, ", "))
}

// TestPendingDecisionHoldsTheAnswer: an objection to a purpose of legitimate
// interests (billing, in the test registry) restricts its records and then
// waits, in progress, for the DPO's decision, due by the request's deadline
// (Art. 21(1), 12(3)): no certificate, no completion mail, visible as
// awaiting a decision. The worker that applies the decision answers the
// request once, with the decision in the certificate, and tells the person;
// the trail passes the audit check.
func TestPendingDecisionHoldsTheAnswer(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{dsr.DecisionUpheld, dsr.DecisionOverridden} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"marketing", "billing"}}, func(ch *dsr.Changes) {
				ch.ObjectionDecisions = map[string]string{"billing": dsr.DecisionPending}
			})
			ctx := context.Background()
			due := e.now.AddDate(0, 1, 0)
			must(t, e.store.SetDeadline(ctx, e.id, 0, dsr.Extension{DueAt: due, At: e.now}, dsrtest.Step(dsr.AuditExtended)))
			e.contacts.Add(e.marketing, ada, 2)
			e.contacts.Add(e.billing, ada, 3)
			e.runAll(t)
			r, _ := e.store.Get(ctx, e.id)
			v := r.DPOView(e.now, true)
			if r.Status != dsr.StatusInProgress || !r.AwaitingDecision() || len(e.documents()) != 0 || len(e.mailer.Mails) != 0 ||
				!v.AwaitingDecision || v.DecisionDueAt == nil || !v.DecisionDueAt.Equal(due) {
				t.Fatalf("before the decision: %s, awaiting %v, documents %v, %d mails, view %+v", r.Status, r.AwaitingDecision(), e.documents(), len(e.mailer.Mails), v)
			}
			must(t, e.store.SetDecision(ctx, e.id, "billing", dsr.DecisionPending, dsr.Applying(outcome), e.now, dsrtest.Step(dsr.AuditObjectionDecided)))
			task := dsr.DecisionMessage{RequestID: e.id, Purpose: "billing", Decision: outcome}
			for range 2 { // the second is a redelivery
				if resp, err := e.h.Handle(ctx, sqsEvent(t, task)); err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("decision task: %+v %v", resp, err)
				}
			}
			r, _ = e.store.Get(ctx, e.id)
			b := outcomes(e.certificate(t))["billing"]
			if r.Status != dsr.StatusCompleted || r.AwaitingDecision() || b.Decision != outcome || b.DecisionPending || len(e.mailer.Mails) != 1 {
				t.Fatalf("after the decision: %s, billing %+v, %d mails", r.Status, b, len(e.mailer.Mails))
			}
			if outcome == dsr.DecisionUpheld && (b.ItemsDeleted != 3 || len(e.contacts.Owned(e.billing, ada)) != 0) ||
				outcome == dsr.DecisionOverridden && (b.ItemsRestricted != 0 || len(e.contacts.Owned(e.billing, ada)) != 3) {
				t.Errorf("billing after %s: %+v, %d records", outcome, b, len(e.contacts.Owned(e.billing, ada)))
			}
			c := dsr.NewAuditChecker(e.id)
			entries, _ := e.audit.Entries(ctx, e.id)
			for _, en := range entries {
				c.Add(en)
			}
			if check := c.Check(r); !check.Intact {
				t.Errorf("trail check: %+v", check)
			}
			if got := e.steps(e.id); !slices.Equal(got[len(got)-3:], []dsr.AuditAction{dsr.AuditObjectionApplied, dsr.AuditPersonNotified, dsr.AuditCompleted}) {
				t.Errorf("trail %v: want the decision applied, then the answer", got)
			}
		})
	}
}

// TestErasureDeletesWhatIsPastItsDuty: an erasure on 29 November 2026 of
// ada's invoices under an 8-year duty (Art. 17(3)(b)) deletes the one of
// 2014, whose duty ended on 2023-01-01 (Art. 17(1)), and restricts those of
// 2020 and 2026, each keeping only what the duty covers and holding her
// subject key for her address; the certificate counts both, without
// personal data. A redelivery changes nothing.
func TestErasureDeletesWhatIsPastItsDuty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	billing := e.billing
	billing.RetentionYears, billing.RetentionFrom = 8, "issuedOn"
	e.h.Registry = dsr.Registry{e.marketing, billing}
	var items []map[string]any
	for i, issued := range []string{"2014-01-15", "2020-01-15", "2026-01-15"} {
		items = append(items, map[string]any{"id": fmt.Sprintf("inv-%d", i), billing.Identifier: ada.Email, billing.SubjectKeyAttribute: ada.Key,
			"issuedOn": issued, "invoiceNumber": fmt.Sprintf("INV-%d", i), "amountCents": 4990, "name": "Ada Lovelace", "street": "St James's Square"})
	}
	e.contacts.Put(billing, "id", items...)
	e.runAll(t)
	e.runAll(t) // a redelivery of every task
	left := e.contacts.Items(billing)
	if len(left) != 2 {
		t.Fatalf("billing holds %d items, want the 2020 and 2026 invoices", len(left))
	}
	for _, it := range left {
		var names []string
		for name := range it {
			names = append(names, name)
		}
		slices.Sort(names)
		if want := []string{"amountCents", billing.Identifier, "dsrRestriction", billing.SubjectKeyAttribute, "id", "invoiceNumber", "issuedOn"}; !slices.Equal(names, want) || it[billing.Identifier] != ada.Key {
			t.Errorf("restricted invoice %v holds %v, want %v with the subject key for the address", it["id"], names, want)
		}
	}
	b := outcomes(e.certificate(t))["billing"]
	if b.ItemsDeleted != 1 || b.ItemsRestricted != 2 || b.RecordsFound != 3 || b.FirstDeletableAt == nil || b.FirstDeletableAt.Format(time.DateOnly) != "2029-01-01" ||
		b.RestrictedUntil == nil || b.RestrictedUntil.Format(time.DateOnly) != "2035-01-01" || !strings.Contains(b.Reason, "Art. 17(1)") || !b.Verified {
		t.Errorf("billing outcome: %+v", b)
	}
	if due := e.contacts.Due(); len(due) != 2 || due[0].Until.Format(time.DateOnly) != "2029-01-01" || due[1].Until.Format(time.DateOnly) != "2035-01-01" {
		t.Errorf("due list: %+v", due)
	}
}
