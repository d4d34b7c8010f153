package deadletter_test

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

// TestDeadLiftingIsRestrictedAgain: a lifting task that could not be
// applied leaves the purpose restricted, for the DPO to lift again.
func TestDeadLiftingIsRestrictedAgain(t *testing.T) {
	ctx, now := context.Background(), time.Now()
	store := &memstore.Requests{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.Create(ctx, &dsr.Request{ID: "R1", Type: dsr.TypeRestriction, Status: dsr.StatusAwaitingVerification, Email: "a@b.co"}, dsrtest.Step(dsr.AuditReceived)))
	must(store.Transition(ctx, "R1", dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(store.Transition(ctx, "R1", dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"care"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(store.Transition(ctx, "R1", dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{ObjectionDecisions: map[string]string{"care": dsr.Applying(dsr.DecisionLifted)}}, dsrtest.StepTo(dsr.StatusCompleted)))
	h := &deadletter.Handler{Store: store, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	msg := events.SQSMessage{MessageId: "m1", Body: `{"requestId":"R1","purpose":"care","decision":"lifted"}`}
	if resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msg}}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%v %+v", err, resp)
	}
	if r, _ := store.Get(ctx, "R1"); r.ObjectionDecisions["care"] != dsr.RestrictionHeld || r.Email == "" {
		t.Errorf("after the dead lifting: %v, address kept %v", r.ObjectionDecisions, r.Email != "")
	}
}

// TestFailureIsToldOnce: a verified request that fails is told to its
// person by a mail without personal data (no address in the body, a link to
// the status page), sent before the request fails and recorded with the
// failure; a redelivered dead message sends nothing more. A mail that cannot
// be sent does not keep the request from failing, and no step claims it.
func TestFailureIsToldOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mailErr error
		steps   []dsr.AuditAction
		mails   int
	}{
		{"told", nil, []dsr.AuditAction{dsr.AuditFailed, dsr.AuditPersonNotified}, 1},
		{"mail down", errors.New("SES answered Throttling"), []dsr.AuditAction{dsr.AuditFailed}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, now := context.Background(), time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			store := &memstore.Requests{}
			r := &dsr.Request{ID: "RUNNING", Type: dsr.TypeErasure, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com"}
			must(t, store.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
			must(t, store.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)))
			must(t, store.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"billing"}}, dsrtest.StepTo(dsr.StatusInProgress)))
			setup := len(store.Trail().Actions(r.ID))
			mailer := &dsrtest.Mailer{Err: tc.mailErr}
			h := &deadletter.Handler{Store: store, Mailer: mailer, StatusPage: "https://privacy.example/privacy/",
				Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Clock: func() time.Time { return now }}
			for range 2 { // the dead message, and its redelivery
				resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "1", Body: `{"requestId":"RUNNING","purpose":"billing"}`}}})
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("resp %+v err %v", resp, err)
				}
			}
			if got, _ := store.Get(ctx, r.ID); got.Status != dsr.StatusFailed {
				t.Errorf("status %s, want failed", got.Status)
			}
			if got := store.Trail().Actions(r.ID)[setup:]; !slices.Equal(got, tc.steps) {
				t.Errorf("trail %v, want %v", got, tc.steps)
			}
			if len(mailer.Mails) != tc.mails {
				t.Fatalf("%d mails, want %d", len(mailer.Mails), tc.mails)
			}
			for _, m := range mailer.Mails {
				if m.To != "ada@example.com" || strings.Contains(m.Text, "ada@") || !strings.Contains(m.Text, "https://privacy.example/privacy/") ||
					!strings.Contains(m.Text, "RUNNING") || !strings.HasPrefix(m.Event, "failed-") {
					t.Errorf("failure mail %+v", m)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
