package dispatch_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dispatch"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

func setup(t *testing.T, status dsr.Status) (*dispatch.Handler, *memstore.Requests, *dsrtest.Queue) {
	t.Helper()
	reg := dsrtest.Registry(t)
	store, q := &memstore.Requests{}, &dsrtest.Queue{}
	ctx, now := context.Background(), time.Now()
	if err := store.Create(ctx, &dsr.Request{ID: "R1", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification}, dsrtest.Step(dsr.AuditReceived)); err != nil {
		t.Fatal(err)
	}
	path := []dsr.Status{dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusCompleted}
	from := dsr.StatusAwaitingVerification
	for _, s := range path {
		if from == status {
			break
		}
		ch := dsr.Changes{}
		if s == dsr.StatusInProgress {
			ch.PlannedPurposes = reg.Names()
		}
		if err := store.Transition(ctx, "R1", from, s, now, ch, dsrtest.StepTo(s)); err != nil {
			t.Fatal(err)
		}
		from = s
	}
	return &dispatch.Handler{Store: store, Queue: q, Registry: reg, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}, store, q
}

func msg(body string) events.SQSEvent {
	return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}}}
}

func TestDispatch(t *testing.T) {
	want := []dsr.TaskMessage{{RequestID: "R1", Purpose: "marketing"}, {RequestID: "R1", Purpose: "billing"}}
	tests := []struct {
		name      string
		status    dsr.Status
		body      string
		queueErr  error
		failed    bool
		sent      [][]dsr.TaskMessage
		endStatus dsr.Status
	}{
		{name: "queued: one task per purpose", status: dsr.StatusQueued, body: `{"requestId":"R1"}`, sent: [][]dsr.TaskMessage{want}, endStatus: dsr.StatusInProgress},
		{name: "redelivered: resends what is not done", status: dsr.StatusInProgress, body: `{"requestId":"R1"}`, sent: [][]dsr.TaskMessage{want}, endStatus: dsr.StatusInProgress},
		{name: "completed: nothing", status: dsr.StatusCompleted, body: `{"requestId":"R1"}`, endStatus: dsr.StatusCompleted},
		{name: "not verified yet: retry", status: dsr.StatusAwaitingVerification, body: `{"requestId":"R1"}`, failed: true, endStatus: dsr.StatusAwaitingVerification},
		{name: "unknown request", status: dsr.StatusQueued, body: `{"requestId":"R2"}`, failed: true, endStatus: dsr.StatusQueued},
		{name: "malformed", status: dsr.StatusQueued, body: `nope`, failed: true, endStatus: dsr.StatusQueued},
		{name: "queue down: retry", status: dsr.StatusQueued, body: `{"requestId":"R1"}`, queueErr: errors.New("down"), failed: true, endStatus: dsr.StatusInProgress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, store, q := setup(t, tc.status)
			q.SetErr(tc.queueErr)
			resp, err := h.Handle(context.Background(), msg(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.BatchItemFailures) == 1; got != tc.failed {
				t.Errorf("failed = %v, want %v", got, tc.failed)
			}
			if diff := cmp.Diff(tc.sent, q.TaskBatches()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if r, _ := store.Get(context.Background(), "R1"); r.Status != tc.endStatus {
				t.Errorf("status %s, want %s", r.Status, tc.endStatus)
			}
		})
	}
}

type failingSuppressions struct{ err error }

func (f failingSuppressions) Add(context.Context, []dsr.Suppression) error { return f.err }

// TestSuppressesBeforeAnyTask: an erasure or objection puts the person on the
// suppression list before any task is sent, and a failure to do so sends
// nothing (SQS retries the message).
func TestSuppressesBeforeAnyTask(t *testing.T) {
	reg := dsrtest.Registry(t)
	ctx, now := context.Background(), time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		r     dsr.Request
		want  []string // scopes
		tasks []string
	}{
		{"erasure: every purpose", dsr.Request{Type: dsr.TypeErasure}, []string{dsr.ScopeAll}, []string{"marketing", "billing"}},
		{"objection to direct marketing", dsr.Request{Type: dsr.TypeObjection, Scope: dsr.ScopeDirectMarketing}, []string{dsr.ScopeDirectMarketing}, []string{"marketing"}},
		{"objection to billing", dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"billing"}}, []string{"billing"}, []string{"billing"}},
		{"access: none", dsr.Request{Type: dsr.TypeAccess}, nil, []string{"marketing", "billing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, q, list := &memstore.Requests{}, &dsrtest.Queue{}, &memstore.Suppressions{}
			r := tc.r
			r.ID, r.Status, r.SubjectKey = "R1", dsr.StatusAwaitingVerification, "key-1"
			if err := store.Create(ctx, &r, dsrtest.Step(dsr.AuditReceived)); err != nil {
				t.Fatal(err)
			}
			if err := store.Transition(ctx, "R1", dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
				t.Fatal(err)
			}
			h := &dispatch.Handler{Store: store, Queue: q, Suppressions: list, Registry: reg, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			if resp, _ := h.Handle(ctx, msg(`{"requestId":"R1"}`)); len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures: %+v", resp)
			}
			entries, _ := list.Entries(ctx, "key-1")
			var scopes []string
			for _, e := range entries {
				scopes = append(scopes, e.Scope)
				if !e.Since.Equal(now) || e.RequestID != "R1" {
					t.Errorf("entry %+v: want since the verification, by R1", e)
				}
			}
			var tasks []string
			for _, m := range q.TaskBatches()[0] {
				tasks = append(tasks, m.Purpose)
			}
			if diff := cmp.Diff(tc.want, scopes); diff != "" {
				t.Errorf("scopes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.tasks, tasks); diff != "" {
				t.Errorf("tasks (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("a failed suppression sends no task", func(t *testing.T) {
		store, q := &memstore.Requests{}, &dsrtest.Queue{}
		if err := store.Create(ctx, &dsr.Request{ID: "R1", Type: dsr.TypeErasure, Status: dsr.StatusAwaitingVerification, SubjectKey: "k"}, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
		_ = store.Transition(ctx, "R1", dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued))
		h := &dispatch.Handler{Store: store, Queue: q, Suppressions: failingSuppressions{errors.New("throttled")}, Registry: reg, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		if resp, _ := h.Handle(ctx, msg(`{"requestId":"R1"}`)); len(resp.BatchItemFailures) != 1 || len(q.TaskBatches()) != 0 {
			t.Errorf("failures %+v, sent %v", resp.BatchItemFailures, q.TaskBatches())
		}
		// The redelivery finds the request in progress and suppresses then.
		h.Suppressions = &memstore.Suppressions{}
		if resp, _ := h.Handle(ctx, msg(`{"requestId":"R1"}`)); len(resp.BatchItemFailures) != 0 || len(q.TaskBatches()) != 1 {
			t.Errorf("redelivery: failures %+v, sent %v", resp.BatchItemFailures, q.TaskBatches())
		}
	})
}

// A request waits, queued and with why for the DPO, while a planned
// purpose's table is not keyed; once the backfill completed, it goes on, and
// the purposes found keyed are not asked again.
func TestDispatchWaitsForTheBackfill(t *testing.T) {
	h, store, q := setup(t, dsr.StatusQueued)
	ctx := context.Background()
	keying, requeue, audit := &memstore.Keying{}, &dsrtest.Queue{}, store.Trail()
	h.Keyed, h.Requeue = keying, requeue
	setup := len(audit.Actions("R1"))
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if _, err := keying.SavePass(ctx, dsr.BackfillPass{Purpose: "marketing", StartedAt: now, Segments: 4, CompletedAt: now}); err != nil {
		t.Fatal(err)
	}
	billing, err := keying.SavePass(ctx, dsr.BackfillPass{Purpose: "billing", StartedAt: now, Segments: 4})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := h.Handle(ctx, msg(`{"requestId":"R1"}`)); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	r, _ := store.Get(ctx, "R1")
	if r.Status != dsr.StatusQueued || len(q.TaskBatches()) != 0 || !cmp.Equal(requeue.Delayed(), []dsrtest.Delayed{{Message: dsr.RequestMessage{RequestID: "R1"}, Delay: dispatch.KeyWait}}) {
		t.Fatalf("while billing is backfilled: %s, %d task batches, requeued %v", r.Status, len(q.TaskBatches()), requeue.Delayed())
	}
	if v := r.DPOView(now, true); v.WaitingFor == "" || !strings.Contains(v.WaitingFor, "billing") || strings.Contains(v.WaitingFor, "marketing") {
		t.Errorf("the DPO sees %q", v.WaitingFor)
	}
	// The message comes back while the backfill runs: the wait is one step.
	for range 2 {
		if resp, err := h.Handle(ctx, msg(`{"requestId":"R1"}`)); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%+v %v", resp, err)
		}
	}
	if got := audit.Actions("R1")[setup:]; !slices.Equal(got, []dsr.AuditAction{dsr.AuditWaiting}) {
		t.Errorf("trail while waiting: %v, want one waiting step", got)
	}
	billing.CompletedAt = now
	if _, err := keying.SavePass(ctx, billing); err != nil {
		t.Fatal(err)
	}
	if resp, err := h.Handle(ctx, msg(`{"requestId":"R1"}`)); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", resp, err)
	}
	r, _ = store.Get(ctx, "R1")
	if r.Status != dsr.StatusInProgress || len(q.TaskBatches()) != 1 {
		t.Errorf("once keyed: %s, %d task batches", r.Status, len(q.TaskBatches()))
	}
	if got := audit.Actions("R1")[setup:]; !slices.Equal(got, []dsr.AuditAction{dsr.AuditWaiting, dsr.AuditDispatched}) {
		t.Errorf("trail: %v", got)
	}
	if v := r.DPOView(now, true); v.WaitingFor != "" {
		t.Errorf("a request in progress still shows %q", v.WaitingFor)
	}
}

// A table found keyed is trusted for KeyedFor only: a new pass over it (a
// restart, or a stream batch Lambda discarded) holds requests back again.
func TestDispatchSeesANewPass(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	keying := &memstore.Keying{}
	for _, p := range []string{"marketing", "billing"} {
		if _, err := keying.SavePass(ctx, dsr.BackfillPass{Purpose: p, StartedAt: now, Segments: 4, CompletedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	keyedFor := dispatch.KeyedFor
	h, store, _ := setup(t, dsr.StatusQueued)
	clock := now
	h.Keyed, h.Requeue, h.Clock = keying, &dsrtest.Queue{}, func() time.Time { return clock }
	dispatch := func(id string) dsr.Status {
		t.Helper()
		if resp, err := h.Handle(ctx, msg(`{"requestId":"`+id+`"}`)); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%+v %v", resp, err)
		}
		r, _ := store.Get(ctx, id)
		return r.Status
	}
	queued := func(id string) {
		t.Helper()
		if err := store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification}, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
		if err := store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, clock, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
			t.Fatal(err)
		}
	}
	if got := dispatch("R1"); got != dsr.StatusInProgress {
		t.Fatalf("keyed tables: %s", got)
	}
	// billing's backfill starts a new pass.
	if _, err := keying.SavePass(ctx, dsr.BackfillPass{Purpose: "billing", StartedAt: now.Add(time.Second), Segments: 4, Version: 1}); err != nil {
		t.Fatal(err)
	}
	queued("R2")
	clock = now.Add(keyedFor + time.Second)
	if got := dispatch("R2"); got != dsr.StatusQueued {
		t.Errorf("during billing's new pass: %s, want queued", got)
	}
}

// TestRectificationWaitsForTheDPO: a verified rectification is moved in
// progress with its plan, and no task is sent, however often its message
// comes: the DPO's decision sends them.
func TestRectificationWaitsForTheDPO(t *testing.T) {
	reg := dsrtest.Registry(t)
	store, q := &memstore.Requests{}, &dsrtest.Queue{}
	ctx, now := context.Background(), time.Now()
	r := &dsr.Request{ID: "R1", Type: dsr.TypeRectification, Status: dsr.StatusAwaitingVerification,
		Rectification: &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Corrected: "Ada King"}, Decision: dsr.RectificationPending}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
	must(store.Transition(ctx, "R1", dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)))
	h := &dispatch.Handler{Store: store, Queue: q, Registry: reg, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	for range 2 {
		if resp, err := h.Handle(ctx, msg(`{"requestId":"R1"}`)); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("dispatch: %v %v", resp, err)
		}
	}
	got, _ := store.Get(ctx, "R1")
	if got.Status != dsr.StatusInProgress || !cmp.Equal(reg.Names(), got.PlannedPurposes) || len(q.TaskBatches()) != 0 || !got.AwaitingRectification() {
		t.Errorf("%s, plan %v, %d task batches", got.Status, got.PlannedPurposes, len(q.TaskBatches()))
	}
}
