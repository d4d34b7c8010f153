// Package deadletter consumes the dead-letter queues: a message that failed
// maxReceiveCount times marks its request failed, with a reason a DPO can
// read, instead of leaving it in progress for ever.
package deadletter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
	"github.com/privacyops/dsr/internal/slogctx"
	"github.com/privacyops/dsr/internal/sqsbatch"
)

// Store moves requests on, conditionally.
type Store interface {
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error
}

// Handler processes dead-letter batches.
type Handler struct {
	Store Store
	Log   *slog.Logger
	Clock dsr.Clock
}

// Handle marks the request of every dead message failed. A message that
// names no request cannot fail one: it is logged with its id for a person to
// look at, and acknowledged.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Runner{Failed: "dead letter not recorded", Log: h.Log}.Run(ctx, ev, h.fail), nil
}

// fail records what the dead message m could not do: a request or task
// message fails its request, a decision message puts the decision back to
// pending.
func (h *Handler) fail(ctx context.Context, msg events.SQSMessage) error {
	m, err := jsonbody.ParseMessage(msg.Body)
	if err != nil {
		h.Log.ErrorContext(ctx, "dead message names no request; left for a person", "messageId", msg.MessageId,
			"queue", msg.EventSourceARN)
		return nil
	}
	slogctx.Add(ctx, "dsrId", m.Request())
	switch m := m.(type) {
	case dsr.DecisionMessage:
		return h.undecide(ctx, m)
	case dsr.TaskMessage:
		return h.failRequest(ctx, msg, m.RequestID, fmt.Sprintf(
			"the records of purpose %q could not be processed after repeated attempts; the task was moved to the dead-letter queue", m.Purpose))
	default:
		return h.failRequest(ctx, msg, m.Request(),
			"the request could not be dispatched after repeated attempts; its message was moved to the dead-letter queue")
	}
}

// undecide puts a DPO's decision that could not be applied back to pending,
// so that the DPO sees it and can decide again.
func (h *Handler) undecide(ctx context.Context, m dsr.DecisionMessage) error {
	now := h.Clock.Now()
	err := h.Store.SetDecision(ctx, m.RequestID, m.Purpose, dsr.Applying(m.Decision), dsr.DecisionPending, now,
		step(fmt.Sprintf("the %s decision on %s could not be applied; it is pending again", m.Decision, m.Purpose), now))
	switch {
	case dsr.ErrorCodeOf(err) == dsr.EConflict:
		return nil // applied by a later delivery, or already reset
	case err != nil:
		return err
	}
	h.Log.WarnContext(ctx, "objection decision not applied; back to pending", "dsrId", m.RequestID, "purpose", m.Purpose, "event", "failed")
	return nil
}

// failRequest fails request id, queued or in progress, for reason. A
// failure after the due date removes the plain address with it
// (dsr.AddressNeeded): a failure notice to the person is sent before, or
// from the request as read before.
func (h *Handler) failRequest(ctx context.Context, msg events.SQSMessage, id, reason string) error {
	now := h.Clock.Now()
	for _, from := range []dsr.Status{dsr.StatusInProgress, dsr.StatusQueued} {
		err := h.Store.Transition(ctx, id, from, dsr.StatusFailed, now, dsr.Changes{FailureReason: reason}, step(reason, now))
		if err == nil {
			h.Log.WarnContext(ctx, "request failed", "dsrId", id, "reason", reason, "event", "failed")
			return nil
		}
		if dsr.ErrorCodeOf(err) != dsr.EConflict {
			return err
		}
	}
	// Neither queued nor in progress: completed by a later delivery, expired
	// before verification, or unknown. Nothing to fail.
	h.Log.InfoContext(ctx, "dead message of a request not in flight", "dsrId", id, "messageId", msg.MessageId)
	return nil
}

// step is the failure step, written with the change it records; a change
// that cannot be written fails the message, which SQS delivers again (the
// queue-consumer policy of dsr.Step).
func step(detail string, at time.Time) dsr.Step {
	return dsr.Step{Actor: dsr.SystemActor("deadletter"), Action: dsr.AuditFailed, Detail: detail, At: at}
}
