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

// Store reads requests and moves them on, conditionally.
type Store interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error
}

// Mailer tells the person that their request failed for now.
type Mailer interface {
	Send(ctx context.Context, m dsr.Mail) error
}

// Handler processes dead-letter batches.
type Handler struct {
	Store  Store
	Mailer Mailer
	// StatusPage is the privacy center's address, which the failure mail
	// links to (empty: it names the privacy center without a link).
	StatusPage string
	Log        *slog.Logger
	Clock      dsr.Clock
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
// so that the DPO sees it and can decide again; a lifting of a restriction
// request's restriction goes back to restricted, for the DPO to lift again
// (the lift route repeats each of its steps harmlessly).
func (h *Handler) undecide(ctx context.Context, m dsr.DecisionMessage) error {
	now := h.Clock.Now()
	back, again := dsr.DecisionPending, "it is pending again"
	if m.Decision == dsr.DecisionLifted {
		back, again = dsr.RestrictionHeld, "it is restricted again, to be lifted again"
	}
	err := h.Store.SetDecision(ctx, m.RequestID, m.Purpose, dsr.Applying(m.Decision), back, now,
		step(fmt.Sprintf("the %s decision on %s could not be applied; %s", m.Decision, m.Purpose, again), now))
	switch {
	case dsr.ErrorCodeOf(err) == dsr.EConflict:
		return nil // applied by a later delivery, or already reset
	case err != nil:
		return err
	}
	h.Log.WarnContext(ctx, "objection decision not applied; back to pending", "dsrId", m.RequestID, "purpose", m.Purpose, "event", "failed")
	return nil
}

// failRequest fails request id, queued or in progress, for reason, and
// tells the person first (tell), from the request as read before: a
// failure after the due date removes the plain address with it
// (dsr.AddressNeeded).
func (h *Handler) failRequest(ctx context.Context, msg events.SQSMessage, id, reason string) error {
	r, err := h.Store.Get(ctx, id)
	switch {
	case dsr.ErrorCodeOf(err) == dsr.ENotFound:
		r = nil
	case err != nil:
		return err
	}
	if r == nil || (r.Status != dsr.StatusInProgress && r.Status != dsr.StatusQueued) {
		// Neither queued nor in progress: completed by a later delivery,
		// expired before verification, or unknown. Nothing to fail.
		h.Log.InfoContext(ctx, "dead message of a request not in flight", "dsrId", id, "messageId", msg.MessageId)
		return nil
	}
	now := h.Clock.Now()
	steps := append([]dsr.Step{step(reason, now)}, h.tell(ctx, r, now)...)
	err = h.Store.Transition(ctx, id, r.Status, dsr.StatusFailed, now, dsr.Changes{FailureReason: reason}, steps...)
	if dsr.ErrorCodeOf(err) == dsr.EConflict {
		return fmt.Errorf("dead message of request %s: the request changed meanwhile; will retry", id)
	}
	if err != nil {
		return err
	}
	h.Log.WarnContext(ctx, "request failed", "dsrId", id, "reason", reason, "event", "failed")
	return nil
}

// tell sends the person the failure mail of r (dsr.FailureMail: no personal
// data, a link to the status page) and returns the step that records it. A
// mail that cannot be sent does not keep the request from failing, where the
// DPO sees it: it is logged, and no step claims it was sent.
func (h *Handler) tell(ctx context.Context, r *dsr.Request, now time.Time) []dsr.Step {
	if r.Email == "" || r.VerifiedAt.IsZero() {
		return nil
	}
	m := dsr.FailureMail(r, h.StatusPage)
	if err := h.Mailer.Send(ctx, m); err != nil {
		h.Log.ErrorContext(ctx, "failure mail not sent", "dsrId", r.ID, "error", err.Error())
		return nil
	}
	return []dsr.Step{{Actor: dsr.SystemActor("deadletter"), Action: dsr.AuditPersonNotified, Detail: dsr.NotifiedDetail(m), At: now}}
}

// step is the failure step, written with the change it records; a change
// that cannot be written fails the message, which SQS delivers again (the
// queue-consumer policy of dsr.Step).
func step(detail string, at time.Time) dsr.Step {
	return dsr.Step{Actor: dsr.SystemActor("deadletter"), Action: dsr.AuditFailed, Detail: detail, At: at}
}
