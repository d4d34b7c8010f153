package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/worker"
)

// fakeContacts serves each purpose's records in pages of pageSize.
type fakeContacts struct {
	records  map[string][]dsr.Record // purpose → the subject's records
	pageSize int
	err      error
	mu       sync.Mutex
	queries  int
}

func (c *fakeContacts) FindPage(_ context.Context, p dsr.Purpose, _ dsr.Subject, cursor string) ([]dsr.Record, string, error) {
	c.mu.Lock()
	c.queries++
	c.mu.Unlock()
	if c.err != nil {
		return nil, "", c.err
	}
	start := 0
	if cursor != "" {
		start, _ = strconv.Atoi(cursor)
	}
	all := c.records[p.Name]
	end := min(start+c.pageSize, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return append([]dsr.Record{}, all[start:end]...), next, nil
}

// fakeReports keeps objects in memory, with If-None-Match semantics.
type fakeReports struct {
	mu      sync.Mutex
	parts   map[string]dsr.Chunk
	reports map[string][]byte
	writes  map[string]int
}

func newReports() *fakeReports {
	return &fakeReports{parts: map[string]dsr.Chunk{}, reports: map[string][]byte{}, writes: map[string]int{}}
}

func partKey(id, purpose string, chunk int) string {
	return fmt.Sprintf("%s/%s/%d", id, purpose, chunk)
}

func (r *fakeReports) PutChunk(_ context.Context, p dsr.Chunk) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.parts[partKey(p.RequestID, p.Purpose, p.Index)] = p
	return nil
}

func (r *fakeReports) GetChunk(_ context.Context, id, purpose string, chunk int) (dsr.Chunk, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parts[partKey(id, purpose, chunk)]
	if !ok {
		return p, errors.New("no such part")
	}
	return p, nil
}

func (r *fakeReports) PutDocument(_ context.Context, id string, doc dsr.Document, body []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := id + "/" + string(doc)
	if _, ok := r.reports[key]; ok {
		return key, nil
	}
	r.reports[key] = body
	r.writes[key]++
	return key, nil
}

type fakeQueue struct {
	mu        sync.Mutex
	tasks     []dsr.TaskMessage
	decisions []dsr.DecisionMessage
}

func (q *fakeQueue) SendTask(_ context.Context, m dsr.TaskMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, m)
	return nil
}

func (q *fakeQueue) SendDecision(_ context.Context, m dsr.DecisionMessage) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.decisions = append(q.decisions, m)
	return nil
}

// contactTables serves records from fakeContacts and erases in fakeTables.
type contactTables struct {
	*fakeContacts
	*fakeTables
}

type env struct {
	h        *worker.Handler
	store    *memstore.Requests
	contacts *fakeContacts
	reports  *fakeReports
	queue    *fakeQueue
	id       string
}

func newEnv(t *testing.T, pageSize int, records map[string][]dsr.Record) *env {
	t.Helper()
	reg := dsrtest.Registry(t)
	e := &env{store: &memstore.Requests{}, contacts: &fakeContacts{records: records, pageSize: pageSize}, reports: newReports(), queue: &fakeQueue{}, id: "01JDREQ"}
	e.h = &worker.Handler{
		Requests: e.store, Contacts: contactTables{e.contacts, &fakeTables{}}, Objects: e.reports, Tasks: e.queue,
		Provenance: &memstore.Provenance{}, Notices: &fakeNotices{}, Audit: &memstore.Audit{},
		Registry: reg, Controller: dsr.Controller{Name: "Shop", Contact: "privacy@shop.example"},
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Reserve: time.Second,
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	must(t, e.store.Create(ctx, &dsr.Request{ID: e.id, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com", SubjectKey: "key-ada", ReceivedAt: now, UpdatedAt: now}))
	must(t, e.store.Transition(ctx, e.id, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}))
	must(t, e.store.Transition(ctx, e.id, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: reg.Names()}))
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func records(purpose string, n int) []dsr.Record {
	var rs []dsr.Record
	for i := range n {
		rs = append(rs, dsr.Record{Table: purpose, Item: map[string]any{"n": float64(i), "email": "ada@example.com"}})
	}
	return rs
}

func task(t *testing.T, id string, m dsr.Message) events.SQSMessage {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(b)}
}

func (e *env) deliver(t *testing.T, ctx context.Context, msgs ...events.SQSMessage) events.SQSEventResponse {
	t.Helper()
	resp, err := e.h.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (e *env) report(t *testing.T) dsr.Report {
	t.Helper()
	var rep dsr.Report
	raw, ok := e.reports.reports[e.id+"/report.json"]
	if !ok {
		t.Fatal("no report written")
	}
	must(t, json.Unmarshal(raw, &rep))
	return rep
}

func TestLastPartAssemblesReportOnce(t *testing.T) {
	e := newEnv(t, 10, map[string][]dsr.Record{"marketing": records("marketing", 3), "billing": records("billing", 2)})
	ctx := context.Background()
	if resp := e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"})); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp)
	}
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusInProgress || len(e.reports.reports) != 0 {
		t.Fatalf("completed before the last part: %s", r.Status)
	}
	e.deliver(t, ctx, task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.ReportJSONKey != e.id+"/report.json" {
		t.Fatalf("after the last part: %+v", r)
	}
	rep := e.report(t)
	if len(rep.Purposes) != 2 || len(rep.Purposes[0].Records) != 3 || len(rep.Purposes[1].Records) != 2 || rep.Purposes[1].Description != "Invoices" {
		t.Errorf("report: %+v", rep.Purposes)
	}
	if _, ok := e.reports.reports[e.id+"/report.html"]; !ok {
		t.Error("no HTML report")
	}
	// Redelivered tasks: no second report, no state change, no failure.
	queries := e.contacts.queries
	resp := e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}), task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	if len(resp.BatchItemFailures) != 0 || e.contacts.queries != queries {
		t.Errorf("redelivery failed or queried again: %+v", resp)
	}
	for key, n := range e.reports.writes {
		if n != 1 {
			t.Errorf("%s written %d times", key, n)
		}
	}
}

func TestRedeliveryFinishesAnInterruptedAssembly(t *testing.T) {
	e := newEnv(t, 10, map[string][]dsr.Record{"marketing": records("marketing", 1)})
	ctx := context.Background()
	e.deliver(t, ctx, task(t, "m1", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}))
	// The worker that recorded the last part died before assembling.
	must(t, e.reports.PutChunk(ctx, dsr.Chunk{RequestID: e.id, Purpose: "billing", Index: 0, Records: []dsr.Record{}}))
	if _, ok, err := e.store.MarkPartDone(ctx, e.id, "billing", 1, time.Now()); !ok || err != nil {
		t.Fatal("could not record the part", err)
	}
	e.deliver(t, ctx, task(t, "b1", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusCompleted {
		t.Fatalf("status %s, want completed", r.Status)
	}
}

func TestConcurrentLastPartsCompleteOnce(t *testing.T) {
	e := newEnv(t, 10, map[string][]dsr.Record{"marketing": records("marketing", 2), "billing": records("billing", 2)})
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
	for key, n := range e.reports.writes {
		if n != 1 {
			t.Errorf("%s written %d times", key, n)
		}
	}
	if rep := e.report(t); len(rep.Purposes[0].Records)+len(rep.Purposes[1].Records) != 4 {
		t.Errorf("report records: %+v", rep.Purposes)
	}
}

func TestCheckpointsBeforeTheDeadline(t *testing.T) {
	// 25 records in pages of 2: 13 pages. With the deadline already within
	// the reserve, each invocation does one page and continues in a message.
	e := newEnv(t, 2, map[string][]dsr.Record{"marketing": records("marketing", 25), "billing": records("billing", 1)})
	e.h.Reserve = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.deliver(t, ctx, task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	pending := []dsr.TaskMessage{{RequestID: e.id, Purpose: "marketing"}}
	invocations := 0
	for len(pending) > 0 && invocations < 50 {
		m := pending[0]
		pending = pending[1:]
		before := len(e.queue.tasks)
		// Deliver every continuation twice: redelivery must be harmless.
		for range 2 {
			if resp := e.deliver(t, ctx, task(t, "x", m)); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failure: %+v", resp)
			}
			invocations++
		}
		if len(e.queue.tasks) > before {
			pending = append(pending, e.queue.tasks[before])
		}
	}
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || r.DoneParts["marketing"] != 13 {
		t.Fatalf("after continuations: status %s, parts %v", r.Status, r.DoneParts)
	}
	rep := e.report(t)
	if got := rep.Purposes[0].Records; len(got) != 25 || got[0].Item["n"] != 0.0 || got[24].Item["n"] != 24.0 {
		t.Errorf("records: %d, first %v, last %v", len(got), got[0].Item, got[len(got)-1].Item)
	}
}

func TestBadMessagesFailAlone(t *testing.T) {
	e := newEnv(t, 10, map[string][]dsr.Record{})
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
	e.contacts.err = errors.New("throttled")
	if resp := e.deliver(t, ctx, task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"})); len(resp.BatchItemFailures) != 1 {
		t.Errorf("query error not reported: %+v", resp)
	}
}

func TestTaskOfFinishedRequestIsDropped(t *testing.T) {
	e := newEnv(t, 10, map[string][]dsr.Record{})
	ctx := context.Background()
	must(t, e.store.Transition(ctx, e.id, dsr.StatusInProgress, dsr.StatusFailed, time.Now(), dsr.Changes{FailureReason: "x"}))
	if resp := e.deliver(t, ctx, task(t, "m", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"})); len(resp.BatchItemFailures) != 0 || e.contacts.queries != 0 {
		t.Errorf("task of a failed request processed: %+v", resp)
	}
}

func TestNearDeadlineRequeuesTheRestOfTheBatch(t *testing.T) {
	e := newEnv(t, 10, map[string][]dsr.Record{"marketing": records("marketing", 1), "billing": records("billing", 1)})
	e.h.Reserve = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp := e.deliver(t, ctx, task(t, "m", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}),
		task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	if len(resp.BatchItemFailures) != 0 || len(e.queue.tasks) != 1 || e.queue.tasks[0].Purpose != "billing" {
		t.Fatalf("failures %+v, requeued %+v; want the second task requeued", resp.BatchItemFailures, e.queue.tasks)
	}
	if r, _ := e.store.Get(ctx, e.id); r.DoneParts["marketing"] != 1 || len(r.DoneParts) != 1 {
		t.Errorf("first task not done alone: %v", r.DoneParts)
	}
	// The last part, near the deadline: assembly goes on in a new message.
	e.deliver(t, ctx, task(t, "b", e.queue.tasks[0]))
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusInProgress || len(e.queue.tasks) != 2 {
		t.Fatalf("status %s, continuations %v", r.Status, e.queue.tasks)
	}
	e.deliver(t, ctx, task(t, "c", e.queue.tasks[1]))
	if r, _ := e.store.Get(ctx, e.id); r.Status != dsr.StatusCompleted {
		t.Errorf("continuation did not assemble: %s", r.Status)
	}
}
