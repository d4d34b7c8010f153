// Package dispatch consumes the request queue: for each verified request it
// plans one task per purpose and sends them to the task queue.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
	"github.com/privacyops/dsr/internal/slogctx"
	"github.com/privacyops/dsr/internal/sqsbatch"
)

// Store reads requests and moves them on, conditionally.
type Store interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
	SetWaiting(ctx context.Context, id, detail string, now time.Time, steps ...dsr.Step) (bool, error)
}

// Keyed says which purposes' tables the subject-key backfill has keyed
// (dynamo.Keying).
type Keyed interface {
	Keyed(ctx context.Context, purposes []string) (map[string]bool, error)
}

// Requeue sends a request message again, later.
type Requeue interface {
	SendRequestAfter(ctx context.Context, m dsr.RequestMessage, delay time.Duration) error
}

// Queue takes tasks.
type Queue interface {
	SendTasks(ctx context.Context, tasks []dsr.TaskMessage) error
}

// Suppressions is the suppression list.
type Suppressions interface {
	Add(ctx context.Context, entries []dsr.Suppression) error
}

// Handler dispatches request-queue batches.
type Handler struct {
	Store        Store
	Queue        Queue
	Suppressions Suppressions
	// Keyed (nil: every table counts as keyed) and Requeue hold a request
	// back while a planned purpose's table is not keyed yet.
	Keyed    Keyed
	Requeue  Requeue
	Registry dsr.Registry
	Log      *slog.Logger
	Clock    dsr.Clock

	keyed sync.Map // purpose → when it was found keyed (time.Time)
}

// Handle dispatches every message of the batch; a message that fails is
// reported alone, so SQS redelivers only it (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Runner{Failed: "dispatch failed", Log: h.Log}.Run(ctx, ev, h.dispatch), nil
}

func (h *Handler) dispatch(ctx context.Context, msg events.SQSMessage) error {
	m, err := jsonbody.ParseRequestMessage(msg.Body)
	if err != nil {
		return sqsbatch.Poison(fmt.Errorf("message is not a request message: %w", err))
	}
	slogctx.Add(ctx, "dsrId", m.RequestID)
	r, err := h.load(ctx, m.RequestID)
	if err != nil {
		return err
	}
	log := h.Log.With("dsrId", r.ID)
	switch r.Status {
	case dsr.StatusQueued:
		started, err := h.start(ctx, r)
		if err != nil || !started {
			return err
		}
	case dsr.StatusInProgress:
		log.InfoContext(ctx, "redelivered request message; resending tasks not done")
	case dsr.StatusAwaitingVerification:
		return fmt.Errorf("request %s is not verified yet; will retry", r.ID)
	default:
		log.InfoContext(ctx, "request needs no dispatch", "status", r.Status)
		return nil
	}
	if r.AwaitingRectification() {
		log.InfoContext(ctx, "rectification awaits the DPO's decision; its tasks are sent with it", "event", "awaiting_decision")
		return nil
	}
	// The person is suppressed before any item is touched, so that the CRM
	// cannot add them back while the erasure or objection runs.
	if entries := dsr.SuppressionsFor(r, h.Registry.Objectable(r.PlannedPurposes), r.VerifiedAt); len(entries) > 0 {
		if r.SubjectKey == "" {
			return fmt.Errorf("request %s has no subject key to suppress", r.ID)
		}
		if err := h.Suppressions.Add(ctx, entries); err != nil {
			return err
		}
		log.InfoContext(ctx, "subject suppressed", "scopes", len(entries), "event", "suppressed")
	}
	var tasks []dsr.TaskMessage
	for _, p := range r.PlannedPurposes {
		if _, done := r.DoneParts[p]; !done {
			tasks = append(tasks, dsr.TaskMessage{RequestID: r.ID, Purpose: p})
		}
	}
	if err := h.Queue.SendTasks(ctx, tasks); err != nil {
		return err
	}
	log.InfoContext(ctx, "request dispatched", "tasks", len(tasks), "event", "dispatched")
	return nil
}

// load reads request id. Intake queues the message a moment before it
// records the request as queued: that moment is waited out rather than a
// whole visibility timeout.
func (h *Handler) load(ctx context.Context, id string) (*dsr.Request, error) {
	r, err := h.Store.Get(ctx, id)
	for wait := 50 * time.Millisecond; err == nil && r.Status == dsr.StatusAwaitingVerification && wait <= 800*time.Millisecond; wait *= 2 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		r, err = h.Store.Get(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", id, err)
	}
	return r, nil
}

// start plans queued request r and moves it in progress, once every planned
// purpose's table is keyed; it reports whether r is in progress now (r is
// updated), or waits.
func (h *Handler) start(ctx context.Context, r *dsr.Request) (bool, error) {
	plan, err := dsr.Plan(r, h.Registry)
	if err != nil {
		return false, err
	}
	if wait, err := h.awaitKeys(ctx, r, plan); err != nil || wait {
		return false, err
	}
	// Move on first, then send: a task that arrives before the request is
	// in progress would only wait. A redelivered message finds the request
	// in progress and resends what is not done (idempotent).
	detail := "purposes: " + strings.Join(plan, ", ")
	if entries := dsr.SuppressionsFor(r, h.Registry.Objectable(plan), r.VerifiedAt); len(entries) > 0 {
		detail += "; suppression list: " + entries[0].Reason
	}
	now := h.Clock.Now()
	// An objection to a purpose of legitimate interests awaits the DPO's
	// decision on it, pending from now on: the request is answered once
	// every decision is taken (Art. 21(1)).
	decisions := dsr.DecisionsFor(r, plan, h.Registry)
	if len(decisions) > 0 {
		detail += "; decisions pending: " + strings.Join(slices.Sorted(maps.Keys(decisions)), ", ")
	}
	err = h.Store.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: plan, ObjectionDecisions: decisions},
		dsr.Step{Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditDispatched, Detail: detail, At: now})
	switch {
	case err == nil:
		r.Status, r.PlannedPurposes, r.DoneParts, r.ObjectionDecisions = dsr.StatusInProgress, plan, map[string]int{}, decisions
		return true, nil
	case dsr.ErrorCodeOf(err) != dsr.EConflict:
		return false, err
	}
	// Another delivery moved it on (or a DPO rejected it): go by what it stored.
	stored, err := h.Store.Get(ctx, r.ID)
	if err != nil {
		return false, err
	}
	*r = *stored
	return r.Status == dsr.StatusInProgress, nil
}

// KeyedFor is how long dispatch trusts that a table found keyed still is.
const KeyedFor = time.Minute

// KeyWait is how long a request waits before it is dispatched again while
// a planned purpose's table is being keyed.
const KeyWait = 5 * time.Minute

// awaitKeys holds request r back while the table of a purpose of plan is
// not keyed yet (its subject-key backfill has not completed): answering then
// could miss the person's records. The request waits, queued, with why for
// the DPO, and its message comes back in KeyWait. Keyed purposes are
// remembered for KeyedFor: a table stays keyed while its stream keys every
// write, but a new pass (a restart, or a stream batch Lambda discarded)
// makes it unkeyed until that pass completes.
func (h *Handler) awaitKeys(ctx context.Context, r *dsr.Request, plan []string) (bool, error) {
	if h.Keyed == nil {
		return false, nil
	}
	var unknown []string
	for _, p := range plan {
		if at, ok := h.keyed.Load(p); !ok || h.Clock.Now().Sub(at.(time.Time)) > KeyedFor {
			unknown = append(unknown, p)
		}
	}
	if len(unknown) == 0 {
		return false, nil
	}
	keyed, err := h.Keyed.Keyed(ctx, unknown)
	if err != nil {
		return false, err
	}
	var waiting []string
	for _, p := range unknown {
		if keyed[p] {
			h.keyed.Store(p, h.Clock.Now())
		} else {
			waiting = append(waiting, p)
		}
	}
	if len(waiting) == 0 {
		return false, nil
	}
	detail := "the subject-key backfill of " + strings.Join(waiting, ", ") + " has not completed; dispatched once it has"
	// The wait and its step are one write, made once per reason: a look
	// that finds the request waiting for it already records nothing.
	now := h.Clock.Now()
	if _, err := h.Store.SetWaiting(ctx, r.ID, detail, now, dsr.Step{Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditWaiting, Detail: detail, At: now}); err != nil {
		if dsr.ErrorCodeOf(err) == dsr.EConflict {
			return true, nil // no longer queued (a DPO rejected it): nothing to wait for
		}
		return true, err
	}
	if err := h.Requeue.SendRequestAfter(ctx, dsr.RequestMessage{RequestID: r.ID}, KeyWait); err != nil {
		return true, err
	}
	h.Log.WarnContext(ctx, "request waits for the subject-key backfill", "dsrId", r.ID, "purposes", strings.Join(waiting, ","), "event", "waiting")
	return true, nil
}
