package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/slogctx"
	"github.com/privacyops/dsr/internal/worker"
)

// ada makes the tests' requests; grace's records are there to be left alone.
// Values, never assigned: the parallel tests share nothing through them.
var (
	ada   = dsr.Subject{Email: "ada@example.com", Key: "key-ada"}
	grace = dsr.Subject{Email: "grace@example.com", Key: "key-grace"}
)

// env is a worker over the shared fakes (the ones under the adapters'
// contract suites), with one request of ada's in progress. Each test builds
// its own.
type env struct {
	h        *worker.Handler
	store    *memstore.Requests
	contacts *memstore.Contacts // the purpose tables, in pages of 10
	objects  *memstore.Objects  // the reports bucket
	prov     *memstore.Provenance
	queue    *dsrtest.Queue // the worker's tasks, decisions and notices
	mailer   *dsrtest.Mailer
	audit    *memstore.Audit

	marketing, billing dsr.Purpose // the demo registry's (dsrtest.Registry)
	id                 string
	now                time.Time
}

// newEnv stores request r of ada's (type, scope, purposes set by the
// caller) as dispatched: verified, and in progress with its plan; dispatch
// may change what the dispatch sets besides the plan.
func newEnv(t *testing.T, r dsr.Request, dispatch ...func(*dsr.Changes)) *env {
	t.Helper()
	reg := dsrtest.Registry(t)
	e := &env{
		store: &memstore.Requests{}, contacts: &memstore.Contacts{PageSize: 10}, objects: &memstore.Objects{},
		prov: &memstore.Provenance{}, queue: &dsrtest.Queue{}, mailer: &dsrtest.Mailer{},
		id: "01JDREQ", now: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
	}
	e.audit = e.store.Trail()
	e.marketing, _ = reg.Lookup("marketing")
	e.billing, _ = reg.Lookup("billing")
	e.h = &worker.Handler{
		Requests: e.store, Contacts: e.contacts, Objects: e.objects, Tasks: e.queue,
		Provenance: e.prov, Notices: e.queue, Mailer: e.mailer, StatusPage: "https://privacy.example/privacy/",
		Registry: reg, Controller: dsr.Controller{Name: "Shop", Contact: "privacy@shop.example"},
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Reserve: time.Second,
		Clock: func() time.Time { return e.now },
	}
	ctx := context.Background()
	r.ID, r.Status, r.Email, r.SubjectKey = e.id, dsr.StatusAwaitingVerification, ada.Email, ada.Key
	if r.OneClick {
		r.Email = "" // a one-click unsubscribe knows the subject key alone
	}
	r.ReceivedAt, r.UpdatedAt = e.now, e.now
	plan, err := dsr.Plan(&r, reg)
	must(t, err)
	must(t, e.store.Create(ctx, &r, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, e.id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}, dsrtest.StepTo(dsr.StatusQueued)))
	ch := dsr.Changes{PlannedPurposes: plan}
	for _, d := range dispatch {
		d(&ch)
	}
	must(t, e.store.Transition(ctx, e.id, dsr.StatusQueued, dsr.StatusInProgress, e.now, ch, dsrtest.StepTo(dsr.StatusInProgress)))
	return e
}

// steps is the trail of request id without the test's own setup steps.
func (e *env) steps(id string) []dsr.AuditAction {
	entries, _ := e.audit.Entries(context.Background(), id)
	var out []dsr.AuditAction
	for _, en := range entries {
		if en.Actor != dsrtest.Step("").Actor {
			out = append(out, en.Action)
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func task(t *testing.T, id string, m dsr.Message) events.SQSMessage {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(b)}
}

func sqsEvent(t *testing.T, m dsr.Message) events.SQSEvent {
	return events.SQSEvent{Records: []events.SQSMessage{task(t, "msg-"+m.Request(), m)}}
}

// deliver hands the worker a batch of messages.
func (e *env) deliver(t *testing.T, ctx context.Context, msgs ...events.SQSMessage) events.SQSEventResponse {
	t.Helper()
	resp, err := e.h.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// deliverTask hands the worker the task of the request's purpose and
// returns the ids of the messages that failed.
func (e *env) deliverTask(t *testing.T, ctx context.Context, purpose string) []string {
	t.Helper()
	resp, err := e.h.Handle(ctx, sqsEvent(t, dsr.TaskMessage{RequestID: e.id, Purpose: purpose}))
	must(t, err)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

// runAll delivers the task of every planned purpose, each of which must
// succeed.
func (e *env) runAll(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	r, _ := e.store.Get(ctx, e.id)
	for _, p := range r.PlannedPurposes {
		if resp := e.deliverTask(t, ctx, p); len(resp) != 0 {
			t.Fatalf("task %s failed", p)
		}
	}
}

// documents returns the request's documents that are written.
func (e *env) documents() []dsr.Document {
	var docs []dsr.Document
	for _, doc := range []dsr.Document{dsr.DocReportJSON, dsr.DocReportHTML, dsr.DocCertificate} {
		if _, ok := e.objects.Document(e.id, doc); ok {
			docs = append(docs, doc)
		}
	}
	return docs
}

// report returns the request's JSON report, numbers as the tables gave them
// (json.Number, digit for digit).
func (e *env) report(t *testing.T) dsr.Report {
	t.Helper()
	raw, ok := e.objects.Document(e.id, dsr.DocReportJSON)
	if !ok {
		t.Fatal("no report written")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rep dsr.Report
	must(t, dec.Decode(&rep))
	return rep
}

// notices returns every recipient notice sent, in order.
func (e *env) notices() []dsr.RecipientNotice {
	var all []dsr.RecipientNotice
	for _, batch := range e.queue.Notices() {
		all = append(all, batch...)
	}
	return all
}

// TestReportInTheRequestsLanguage: the report is in the request's
// language; one stored without a language is in the handler's default.
func TestReportInTheRequestsLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		request, fallback, want dsr.Language
		description             string
	}{
		{dsr.LangDE, dsr.LangEN, dsr.LangDE, "Rechnungen"},
		{dsr.LangEN, dsr.LangDE, dsr.LangEN, "Invoices"},
		{"", dsr.LangDE, dsr.LangDE, "Rechnungen"},
	} {
		e := newEnv(t, dsr.Request{Type: dsr.TypeAccess, Language: tc.request})
		e.h.Language = tc.fallback
		e.contacts.Add(e.billing, ada, 1)
		ctx := context.Background()
		e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}))
		e.deliver(t, ctx, task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
		rep := e.report(t)
		if rep.Language != tc.want || rep.Purposes[1].Description != tc.description || len(rep.Purposes[1].Records) != 1 {
			t.Errorf("request %q, default %q: report in %q, billing %+v", tc.request, tc.fallback, rep.Language, rep.Purposes[1])
		}
		page, _ := e.objects.Document(e.id, dsr.DocReportHTML)
		if !bytes.Contains(page, []byte(`<html lang="`+string(tc.want)+`">`)) {
			t.Errorf("request %q: the HTML is not in %s", tc.request, tc.want)
		}
	}
}

func TestLastPartAssemblesReportOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	e.contacts.Add(e.marketing, ada, 3)
	e.contacts.Add(e.billing, ada, 2)
	ctx := context.Background()
	if resp := e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"})); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp)
	}
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusInProgress || len(e.documents()) != 0 {
		t.Fatalf("completed before the last part: %s", r.Status)
	}
	e.deliver(t, ctx, task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.ReportJSONKey != "reports/"+e.id+"/report.json" {
		t.Fatalf("after the last part: %+v", r)
	}
	rep := e.report(t)
	if len(rep.Purposes) != 2 || len(rep.Purposes[0].Records) != 3 || len(rep.Purposes[1].Records) != 2 || rep.Purposes[1].Description != "Invoices" {
		t.Errorf("report: %+v", rep.Purposes)
	}
	if _, ok := e.objects.Document(e.id, dsr.DocReportHTML); !ok {
		t.Error("no HTML report")
	}
	// Redelivered tasks: no second report, no state change, no failure.
	queries := e.contacts.Calls("FindPage")
	resp := e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}), task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	if len(resp.BatchItemFailures) != 0 || e.contacts.Calls("FindPage") != queries {
		t.Errorf("redelivery failed or queried again: %+v", resp)
	}
	for _, doc := range e.documents() {
		if n := e.objects.Writes(e.id, doc); n != 1 {
			t.Errorf("%s written %d times", doc, n)
		}
	}
}

func TestRedeliveryFinishesAnInterruptedAssembly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	e.contacts.Add(e.marketing, ada, 1)
	ctx := context.Background()
	e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}))
	// The worker that recorded the last part died before assembling.
	must(t, e.objects.PutChunk(ctx, dsr.Chunk{RequestID: e.id, Purpose: "billing", Index: 0, Records: []dsr.Record{}}))
	if _, ok, err := e.store.MarkPartDone(ctx, e.id, "billing", 1, time.Now(), dsrtest.Step(dsr.AuditPurposeDone)); !ok || err != nil {
		t.Fatal("could not record the part", err)
	}
	e.deliver(t, ctx, task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusCompleted {
		t.Fatalf("status %s, want completed", r.Status)
	}
}

func TestConcurrentLastPartsCompleteOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	e.contacts.Add(e.marketing, ada, 2)
	e.contacts.Add(e.billing, ada, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 3 { // both tasks, and a duplicate of one, at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			purpose := []string{"marketing", "billing", "billing"}[i]
			e.deliver(t, ctx, task(t, fmt.Sprint(i), dsr.TaskMessage{RequestID: e.id, Purpose: purpose}))
		}()
	}
	wg.Wait()
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusCompleted {
		t.Fatalf("status %s", r.Status)
	}
	for _, doc := range e.documents() {
		if n := e.objects.Writes(e.id, doc); n != 1 {
			t.Errorf("%s written %d times", doc, n)
		}
	}
	if rep := e.report(t); len(rep.Purposes[0].Records)+len(rep.Purposes[1].Records) != 4 {
		t.Errorf("report records: %+v", rep.Purposes)
	}
}

func TestCheckpointsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	// 25 records in pages of 2: 13 pages. With the deadline already within
	// the reserve, each invocation does one page and continues in a message.
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	e.contacts.PageSize = 2
	e.contacts.Add(e.marketing, ada, 25)
	e.contacts.Add(e.billing, ada, 1)
	e.h.Reserve = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.deliver(t, ctx, task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	pending := []dsr.TaskMessage{{RequestID: e.id, Purpose: "marketing"}}
	invocations := 0
	for len(pending) > 0 && invocations < 50 {
		m := pending[0]
		pending = pending[1:]
		before := len(e.queue.Tasks())
		// Deliver every continuation twice: redelivery must be harmless.
		for range 2 {
			if resp := e.deliver(t, ctx, task(t, "x", m)); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failure: %+v", resp)
			}
			invocations++
		}
		if sent := e.queue.Tasks(); len(sent) > before {
			pending = append(pending, sent[before])
		}
	}
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || r.DoneParts["marketing"] != 13 {
		t.Fatalf("after continuations: status %s, parts %v", r.Status, r.DoneParts)
	}
	rep := e.report(t)
	// Numbers come back from the tables as stored (json.Number), in order.
	if got := rep.Purposes[0].Records; len(got) != 25 || got[0].Item["n"] != json.Number("0") || got[24].Item["n"] != json.Number("24") {
		t.Errorf("records: %d, first %v, last %v", len(got), got[0].Item, got[len(got)-1].Item)
	}
}

func TestBadMessagesFailAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	ctx := context.Background()
	resp := e.deliver(t, ctx,
		events.SQSMessage{MessageId: "junk", Body: "{"},
		task(t, "unknown-purpose", dsr.TaskMessage{RequestID: e.id, Purpose: "astrology"}),
		task(t, "unknown-request", dsr.TaskMessage{RequestID: "01JDNOPE", Purpose: "marketing"}),
		task(t, "good", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}),
	)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if fmt.Sprint(failed) != "[junk unknown-purpose unknown-request]" {
		t.Errorf("failed %v", failed)
	}
	if r, _ := e.store.Get(ctx, e.id); r.DoneParts["marketing"] != 1 {
		t.Errorf("good message not processed: %v", r.DoneParts)
	}
	e.contacts.SetHook(func(op string, _ dsr.Purpose) error {
		if op == "FindPage" {
			return errors.New("throttled")
		}
		return nil
	})
	if resp := e.deliver(t, ctx, task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"})); len(resp.BatchItemFailures) != 1 {
		t.Errorf("query error not reported: %+v", resp)
	}
}

// TestFailedTaskLogNamesRequestAndMessage: the "task failed" line, and
// every line logged for the task, carry the request id and the message id
// (through slogctx, as Lambda's logger is built).
func TestFailedTaskLogNamesRequestAndMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	logs := &dsrtest.LockedBuffer{}
	e.h.Log = slog.New(slogctx.New(slog.NewJSONHandler(logs, nil)))
	e.contacts.SetHook(func(op string, _ dsr.Purpose) error { return errors.New("throttled") })
	ctx := context.Background()
	if resp := e.deliver(t, ctx, task(t, "msg-7", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"})); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures %+v, want the task failed", resp)
	}
	var line struct{ Msg, DsrID, MessageID, Purpose string }
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		must(t, json.Unmarshal([]byte(l), &m))
		if m["msg"] == "task failed" {
			line.Msg, line.DsrID, line.MessageID, line.Purpose = "task failed", fmt.Sprint(m["dsrId"]), fmt.Sprint(m["messageId"]), fmt.Sprint(m["purpose"])
		}
		if strings.Count(l, `"messageId"`) != 1 {
			t.Errorf("a line without the message id, or with it twice: %s", l)
		}
	}
	want := struct{ Msg, DsrID, MessageID, Purpose string }{"task failed", e.id, "msg-7", "billing"}
	if diff := cmp.Diff(want, line); diff != "" {
		t.Errorf("task failed line (-want +got):\n%s\n%s", diff, logs.String())
	}
}

func TestTaskOfFinishedRequestIsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	ctx := context.Background()
	must(t, e.store.Transition(ctx, e.id, dsr.StatusInProgress, dsr.StatusFailed, time.Now(), dsr.Changes{FailureReason: "x"}, dsrtest.StepTo(dsr.StatusFailed)))
	if resp := e.deliver(t, ctx, task(t, "m", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"})); len(resp.BatchItemFailures) != 0 || e.contacts.Calls("FindPage") != 0 {
		t.Errorf("task of a failed request processed: %+v", resp)
	}
}

func TestNearDeadlineRequeuesTheRestOfTheBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	e.contacts.Add(e.marketing, ada, 1)
	e.contacts.Add(e.billing, ada, 1)
	e.h.Reserve = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp := e.deliver(t, ctx, task(t, "m", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}),
		task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	if sent := e.queue.Tasks(); len(resp.BatchItemFailures) != 0 || len(sent) != 1 || sent[0].Purpose != "billing" {
		t.Fatalf("failures %+v, requeued %+v; want the second task requeued", resp.BatchItemFailures, sent)
	}
	if r, _ := e.store.Get(ctx, e.id); r.DoneParts["marketing"] != 1 || len(r.DoneParts) != 1 {
		t.Errorf("first task not done alone: %v", r.DoneParts)
	}
	// The last part, near the deadline: assembly goes on in a new message.
	e.deliver(t, ctx, task(t, "b", e.queue.Tasks()[0]))
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusInProgress || len(e.queue.Tasks()) != 2 {
		t.Fatalf("status %s, continuations %v", r.Status, e.queue.Tasks())
	}
	e.deliver(t, ctx, task(t, "c", e.queue.Tasks()[1]))
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusCompleted {
		t.Errorf("continuation did not assemble: %s", r.Status)
	}
}

// TestCompletionIsToldOnce: the worker that completes a request tells the
// person, before the completion (which removes the address), by a mail
// without personal data: no address in the body, no link to the document,
// only the request id and the status page. The step is written with the
// completion; a redelivered last task sends no second mail. A mail that
// cannot be sent leaves the request in progress, for SQS to retry.
func TestCompletionIsToldOnce(t *testing.T) {
	t.Parallel()
	for _, typ := range []dsr.Type{dsr.TypeAccess, dsr.TypeErasure} {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dsr.Request{Type: typ})
			e.contacts.Add(e.marketing, ada, 2)
			ctx := context.Background()
			e.mailer.Err = errors.New("SES answered Throttling")
			if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
				t.Fatalf("first part failed: %v", failed)
			}
			if failed := e.deliverTask(t, ctx, "billing"); len(failed) != 1 {
				t.Fatalf("last part with the mail down: failures %v, want 1", failed)
			}
			if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusInProgress {
				t.Fatalf("completed without telling the person: %s", r.Status)
			}
			e.mailer.Err = nil
			for range 2 { // SQS's retry, and a redelivery after the completion
				if failed := e.deliverTask(t, ctx, "billing"); len(failed) != 0 {
					t.Fatalf("last part failed: %v", failed)
				}
			}
			r, _ := e.store.Get(ctx, e.id)
			if r.Status != dsr.StatusCompleted || len(e.mailer.Mails) != 1 {
				t.Fatalf("status %s, %d mails; want completed, 1 mail", r.Status, len(e.mailer.Mails))
			}
			m := e.mailer.Mails[0]
			if m.To != ada.Email || m.Event != dsr.EventCompleted || m.MailID() != e.id+"-completed" ||
				strings.Contains(m.Text, ada.Email) || strings.Contains(m.Text, "reports/") ||
				!strings.Contains(m.Text, "https://privacy.example/privacy/") || !strings.Contains(m.Text, e.id) {
				t.Errorf("completion mail %+v", m)
			}
			steps := e.steps(e.id)
			if n := len(steps); n < 2 || steps[n-2] != dsr.AuditPersonNotified || steps[n-1] != dsr.AuditCompleted ||
				slices.Index(steps, dsr.AuditPersonNotified) != n-2 {
				t.Errorf("trail %v: want one person_notified, written with completed", steps)
			}
		})
	}
}
