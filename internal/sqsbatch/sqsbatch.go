// Package sqsbatch runs an SQS batch the way every queue consumer of the
// pipeline does: one message at a time, each failure reported alone
// (ReportBatchItemFailures) so that SQS redelivers only it; near the
// function's deadline the messages not yet begun are sent again rather than
// cut off mid-way; and a message that no redelivery can cure is marked
// poison, so that it is handed to the consumer's dead-letter sink, or else
// logged as such and left to the queue's redrive policy.
package sqsbatch

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/slogctx"
)

// Runner runs batches. Its zero Reserve never requeues.
type Runner struct {
	// Failed is the log message of a failed message ("task failed").
	Failed string
	Log    *slog.Logger
	// Reserve is the time kept before the deadline: once the first message
	// is done, a message begun with less left is given to Requeue instead.
	Reserve time.Duration
	Requeue func(ctx context.Context, msg events.SQSMessage) error
	// Dead takes a poison message out of the queue (for example into a
	// dead-letter queue, with the reason); nil leaves it failed, for the
	// queue's redrive policy.
	Dead func(ctx context.Context, msg events.SQSMessage, reason error) error
}

// Run processes every message of ev with process and returns the messages
// SQS must deliver again.
func (r Runner) Run(ctx context.Context, ev events.SQSEvent, process func(context.Context, events.SQSMessage) error) events.SQSEventResponse {
	var resp events.SQSEventResponse
	fail := func(msg events.SQSMessage) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
	}
	for i, msg := range ev.Records {
		if i > 0 && r.nearDeadline(ctx) {
			r.requeue(ctx, ev.Records[i:], fail)
			break
		}
		// Every line logged for the message names it, and the request
		// process adds (slogctx): its failure too.
		mctx := slogctx.Scope(ctx)
		slogctx.Add(mctx, "messageId", msg.MessageId)
		if err := r.one(mctx, msg, process); err != nil {
			r.Log.ErrorContext(mctx, r.Failed, "messageId", msg.MessageId, "error", err.Error(), "poison", IsPoison(err))
			fail(msg)
		}
	}
	return resp
}

// one processes msg; a poison message goes to Dead when there is one.
func (r Runner) one(ctx context.Context, msg events.SQSMessage, process func(context.Context, events.SQSMessage) error) error {
	err := process(ctx, msg)
	if !IsPoison(err) || r.Dead == nil {
		return err
	}
	return r.Dead(ctx, msg, err)
}

// requeue sends rest again as new messages (their processing is idempotent)
// rather than be cut off mid-message, which would redeliver the whole batch,
// or report them failed, which would hold them a visibility timeout.
func (r Runner) requeue(ctx context.Context, rest []events.SQSMessage, fail func(events.SQSMessage)) {
	r.Log.WarnContext(ctx, "deadline near; messages requeued", "left", len(rest))
	for _, msg := range rest {
		if err := r.Requeue(ctx, msg); err != nil {
			r.Log.ErrorContext(ctx, "requeue failed", "messageId", msg.MessageId, "error", err.Error())
			fail(msg)
		}
	}
}

func (r Runner) nearDeadline(ctx context.Context) bool {
	return r.Requeue != nil && NearDeadline(ctx, r.Reserve)
}

// NearDeadline reports whether ctx's deadline is less than reserve away.
func NearDeadline(ctx context.Context, reserve time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < reserve
}

// poison marks an error that no redelivery of its message can cure.
type poison struct{ err error }

func (p poison) Error() string { return p.err.Error() }
func (p poison) Unwrap() error { return p.err }

// Poison marks err as permanent: the message can never be processed (it is
// not a message of this queue, or names what does not exist).
func Poison(err error) error {
	if err == nil {
		return nil
	}
	return poison{err}
}

// IsPoison reports whether err, or an error it wraps, is marked Poison.
func IsPoison(err error) bool {
	var p poison
	return errors.As(err, &p)
}
