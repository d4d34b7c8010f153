package deadletter_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/deadletter"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

func TestDeadLettersFailTheirRequest(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	store := &memstore.Requests{}
	mk := func(id string, path ...dsr.Status) {
		if err := store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification}, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
		from := dsr.StatusAwaitingVerification
		for _, s := range path {
			if err := store.Transition(ctx, id, from, s, now, dsr.Changes{}, dsrtest.StepTo(s)); err != nil {
				t.Fatal(err)
			}
			from = s
		}
	}
	mk("QUEUED", dsr.StatusQueued)
	mk("RUNNING", dsr.StatusQueued, dsr.StatusInProgress)
	mk("DONE", dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusCompleted)
	mk("UNVERIFIED")
	audit := store.Trail()
	setup := map[string]int{}
	for _, id := range []string{"QUEUED", "RUNNING", "DONE", "UNVERIFIED"} {
		setup[id] = len(audit.Actions(id))
	}
	h := &deadletter.Handler{Store: store, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "1", Body: `{"requestId":"QUEUED"}`},
		{MessageId: "2", Body: `{"requestId":"RUNNING","purpose":"billing"}`},
		{MessageId: "3", Body: `{"requestId":"DONE","purpose":"billing"}`},
		{MessageId: "4", Body: `{"requestId":"UNVERIFIED"}`},
		{MessageId: "5", Body: `{"requestId":"NOPE"}`},
		{MessageId: "6", Body: `garbage`},
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	for id, want := range map[string]struct {
		status dsr.Status
		reason string
	}{
		"QUEUED":     {dsr.StatusFailed, "could not be dispatched"},
		"RUNNING":    {dsr.StatusFailed, `purpose "billing"`},
		"DONE":       {dsr.StatusCompleted, ""},
		"UNVERIFIED": {dsr.StatusAwaitingVerification, ""},
	} {
		r, _ := store.Get(ctx, id)
		if r.Status != want.status || !strings.Contains(r.FailureReason, want.reason) {
			t.Errorf("%s: %s %q, want %s %q", id, r.Status, r.FailureReason, want.status, want.reason)
		}
		var steps []dsr.AuditAction
		if want.status == dsr.StatusFailed {
			steps = []dsr.AuditAction{dsr.AuditFailed}
		}
		if got := audit.Actions(id)[setup[id]:]; !slices.Equal(got, steps) {
			t.Errorf("%s: trail %v, want %v", id, got, steps)
		}
	}
}

// TestDeadDecisionGoesBackToPending: a decision task that could not be
// applied puts the decision back to pending, for the DPO to see, and says
// so in the trail; the request stays completed.
func TestDeadDecisionGoesBackToPending(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	store := &memstore.Requests{}
	audit := store.Trail()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.Create(ctx, &dsr.Request{ID: "O1", Type: dsr.TypeObjection, Status: dsr.StatusAwaitingVerification}, dsrtest.Step(dsr.AuditReceived)))
	must(store.Transition(ctx, "O1", dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(store.Transition(ctx, "O1", dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"care"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(store.Transition(ctx, "O1", dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{ObjectionDecisions: map[string]string{"care": dsr.Applying(dsr.DecisionUpheld)}}, dsrtest.StepTo(dsr.StatusCompleted)))
	setup := len(audit.Actions("O1"))
	h := &deadletter.Handler{Store: store, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	msg := events.SQSMessage{MessageId: "m1", Body: `{"requestId":"O1","purpose":"care","decision":"upheld"}`}
	for range 2 { // a second delivery finds nothing to reset
		resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msg}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%v %+v", err, resp)
		}
	}
	r, _ := store.Get(ctx, "O1")
	if r.Status != dsr.StatusCompleted || r.ObjectionDecisions["care"] != dsr.DecisionPending {
		t.Errorf("after the dead decision: %s %v", r.Status, r.ObjectionDecisions)
	}
	if got := audit.Actions("O1")[setup:]; len(got) != 1 || got[0] != dsr.AuditFailed {
		t.Errorf("trail: %v", got)
	}
}
