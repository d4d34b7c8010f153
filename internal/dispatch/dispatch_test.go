package dispatch_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dispatch"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

type fakeQueue struct {
	sent [][]dsr.TaskMessage
	err  error
}

func (q *fakeQueue) SendTasks(_ context.Context, tasks []dsr.TaskMessage) error {
	if q.err != nil {
		return q.err
	}
	q.sent = append(q.sent, tasks)
	return nil
}

func setup(t *testing.T, status dsr.Status) (*dispatch.Handler, *memstore.Requests, *fakeQueue) {
	t.Helper()
	reg := dsrtest.Registry(t)
	store, q := &memstore.Requests{}, &fakeQueue{}
	ctx, now := context.Background(), time.Now()
	if err := store.Create(ctx, &dsr.Request{ID: "R1", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification}); err != nil {
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
		if err := store.Transition(ctx, "R1", from, s, now, ch); err != nil {
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
			q.err = tc.queueErr
			resp, err := h.Handle(context.Background(), msg(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.BatchItemFailures) == 1; got != tc.failed {
				t.Errorf("failed = %v, want %v", got, tc.failed)
			}
			if diff := cmp.Diff(tc.sent, q.sent); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if r, _ := store.Get(context.Background(), "R1"); r.Status != tc.endStatus {
				t.Errorf("status %s, want %s", r.Status, tc.endStatus)
			}
		})
	}
}
