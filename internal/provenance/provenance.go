// Package provenance consumes the provenance queue: each message is one
// event of the CRM (data collected from a source, or disclosed to a
// recipient). A valid event is stored once, keyed by the subject's keyed
// hash, with its expiry (its purpose's provenance years); an invalid one goes to the dead-letter queue at
// once with the reason, alone; one that cannot be stored is retried, and on
// its last attempt dead-lettered with the reason too. Nothing is dropped
// silently.
package provenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
	"github.com/privacyops/dsr/internal/sqsbatch"
)

// Store keeps provenance entries; Put reports false for an entry stored
// already.
type Store interface {
	Put(ctx context.Context, e dsr.ProvenanceEntry) (bool, error)
}

// DeadLetters takes messages that can never be processed, with the reason.
type DeadLetters interface {
	Reject(ctx context.Context, body, reason, messageID string) error
}

// Hasher keys a normalized address.
type Hasher interface {
	Subject(normalized string) string
}

// Handler processes provenance-queue batches.
type Handler struct {
	Store       Store
	DeadLetters DeadLetters
	Hasher      Hasher
	Registry    dsr.Registry
	// Years is how long an entry is kept from its event where its purpose
	// says nothing else (dsr.Registry.ProvenanceYears).
	Years int
	// Adequacy is the deployment's adequacy list (dsr.TransferBasis): a
	// recipient outside the EEA and off it needs a safeguard.
	Adequacy dsr.Adequacy
	// MaxReceives is the queue's maxReceiveCount: on that receive, a
	// message that still cannot be stored is dead-lettered with the reason
	// rather than left for SQS to move without one.
	MaxReceives int
	Log         *slog.Logger
	Clock       dsr.Clock
}

// Handle processes every message of the batch; one that fails is reported
// alone (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Runner{Failed: "provenance event not stored; left for redelivery", Log: h.Log, Dead: h.reject}.Run(ctx, ev, h.process), nil
}

func (h *Handler) process(ctx context.Context, msg events.SQSMessage) error {
	now := h.Clock.Now()
	ev, err := jsonbody.ParseProvenanceEvent([]byte(msg.Body), h.Registry, now, dsr.ProvenancePolicy{Years: h.Years, Adequacy: h.Adequacy})
	if err != nil {
		return sqsbatch.Poison(errors.New(Reason(err)))
	}
	e := dsr.NewProvenanceEntry(ev, h.Hasher.Subject(ev.Email), h.Registry.ProvenanceYears(ev.Purpose, h.Years))
	created, err := h.Store.Put(ctx, e)
	if err != nil {
		if n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"]); h.MaxReceives > 0 && n >= h.MaxReceives {
			return sqsbatch.Poison(fmt.Errorf("could not be stored in %d attempts: %v", n, err))
		}
		return err
	}
	h.Log.InfoContext(ctx, "provenance event", "event", "provenance_stored", "messageId", msg.MessageId,
		"purpose", e.Purpose, "kind", e.Event, "transferBasis", e.TransferBasis, "entry", e.ID, "duplicate", !created)
	return nil
}

// reject moves a poison message to the dead-letter queue with its reason.
func (h *Handler) reject(ctx context.Context, msg events.SQSMessage, why error) error {
	reason := why.Error()
	if err := h.DeadLetters.Reject(ctx, msg.Body, reason, msg.MessageId); err != nil {
		return err
	}
	h.Log.WarnContext(ctx, "provenance event dead-lettered", "event", "provenance_rejected", "messageId", msg.MessageId, "reason", reason)
	return nil
}

// Reason says why a message was refused, without its values: the message
// and each field at fault.
func Reason(err error) string {
	var de *dsr.Error
	if !errors.As(err, &de) {
		return "invalid: " + err.Error()
	}
	var b strings.Builder
	b.WriteString(de.Message)
	for i, f := range de.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + " " + f.Reason)
	}
	return b.String()
}
