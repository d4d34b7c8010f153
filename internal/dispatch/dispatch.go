// Package dispatch consumes the request queue: for each verified request it
// plans one task per purpose and sends them to the task queue.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
)

// Store reads requests and moves them on, conditionally.
type Store interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes) error
}

// Queue takes tasks.
type Queue interface {
	SendTasks(ctx context.Context, tasks []dsr.TaskMessage) error
}

// Suppressions is the suppression list.
type Suppressions interface {
	Add(ctx context.Context, entries []dsr.Suppression) error
}

// Auditor appends steps to a request's audit trail.
type Auditor interface {
	Append(ctx context.Context, id, actor, action, detail string, at time.Time) error
}

// Handler dispatches request-queue batches.
type Handler struct {
	Store        Store
	Queue        Queue
	Suppressions Suppressions
	Audit        Auditor // nil records nothing
	Registry     dsr.Registry
	Log          *slog.Logger
	Now          func() time.Time
}

// Handle dispatches every message of the batch; a message that fails is
// reported alone, so SQS redelivers only it (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, msg := range ev.Records {
		if err := h.dispatch(ctx, msg); err != nil {
			h.Log.ErrorContext(ctx, "dispatch failed", "messageId", msg.MessageId, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	return resp, nil
}

func (h *Handler) dispatch(ctx context.Context, msg events.SQSMessage) error {
	m, err := dsr.ParseRequestMessage(msg.Body)
	if err != nil {
		return fmt.Errorf("message is not a request message: %w", err)
	}
	r, err := h.Store.Get(ctx, m.RequestID)
	// Intake queues the message a moment before it records the request as
	// queued: wait that moment out rather than a whole visibility timeout.
	for wait := 50 * time.Millisecond; err == nil && r.Status == dsr.StatusAwaitingVerification && wait <= 800*time.Millisecond; wait *= 2 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		r, err = h.Store.Get(ctx, m.RequestID)
	}
	if err != nil {
		return fmt.Errorf("request %s: %w", m.RequestID, err)
	}
	log := h.Log.With("dsrId", r.ID)
	switch r.Status {
	case dsr.StatusQueued:
		plan, err := dsr.Plan(r, h.Registry)
		if err != nil {
			return err
		}
		// Move on first, then send: a task that arrives before the request
		// is in progress would only wait. A redelivered message finds the
		// request in progress and resends what is not done (idempotent).
		err = h.Store.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, h.now(), dsr.Changes{PlannedPurposes: plan})
		switch {
		case err == nil:
			r.Status, r.PlannedPurposes, r.DoneParts = dsr.StatusInProgress, plan, map[string]int{}
			if h.Audit != nil {
				detail := "purposes: " + strings.Join(plan, ", ")
				if entries := dsr.SuppressionsFor(r, plan, r.VerifiedAt); len(entries) > 0 {
					detail += "; suppression list: " + entries[0].Reason
				}
				if err := h.Audit.Append(ctx, r.ID, dsr.ActorSystem+":dispatch", dsr.AuditDispatched, detail, h.now()); err != nil {
					return err
				}
			}
		case dsr.ErrorCodeOf(err) != dsr.EConflict:
			return err
		default:
			// Another delivery moved it on (or a DPO rejected it): go by what it stored.
			if r, err = h.Store.Get(ctx, m.RequestID); err != nil {
				return err
			}
			if r.Status != dsr.StatusInProgress {
				return nil
			}
		}
	case dsr.StatusInProgress:
		log.InfoContext(ctx, "redelivered request message; resending tasks not done")
	case dsr.StatusAwaitingVerification:
		return fmt.Errorf("request %s is not verified yet; will retry", r.ID)
	default:
		log.InfoContext(ctx, "request needs no dispatch", "status", r.Status)
		return nil
	}
	// The person is suppressed before any item is touched, so that the CRM
	// cannot add them back while the erasure or objection runs.
	if entries := dsr.SuppressionsFor(r, r.PlannedPurposes, r.VerifiedAt); len(entries) > 0 {
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

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}
