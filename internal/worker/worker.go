// Package worker consumes the task queue: each task carries out one purpose
// of one request for its subject, every page. For access it writes the
// records found as a part of the report; for erasure and objection it
// deletes or restricts the items, as the registry says, and reads the table
// back. The worker that completes the last part assembles the report or the
// certificate, once.
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
)

// Store reads requests and records progress, conditionally.
type Store interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time) (*dsr.Request, bool, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time) error
}

// Contacts finds a subject's records in a purpose table, one page at a time.
type Contacts interface {
	FindPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]dsr.Record, string, error)
}

// Reports keeps parts and finished reports.
type Reports interface {
	PutChunk(ctx context.Context, p dsr.Chunk) error
	GetChunk(ctx context.Context, id, purpose string, chunk int) (dsr.Chunk, error)
	PutDocument(ctx context.Context, id string, doc dsr.Document, body []byte) (string, error)
}

// Queue takes continuations of tasks that outgrow one invocation.
type Queue interface {
	SendTask(ctx context.Context, m dsr.TaskMessage) error
}

// Auditor appends steps to a request's audit trail.
type Auditor interface {
	Append(ctx context.Context, s dsr.Step) error
}

// Provenance reads a subject's provenance entries, removes those of a
// purpose whose records are erased, and says which backups keep them.
type Provenance interface {
	Subject(ctx context.Context, subjectKey, purpose string, asOf time.Time) ([]dsr.ProvenanceEntry, error)
	DeleteSubject(ctx context.Context, subjectKey, purpose string) (int, error)
	Backups(ctx context.Context, deletedAt time.Time) ([]dsr.Copy, error)
}

// Notices takes the Art. 19 notices to recipients.
type Notices interface {
	SendNotices(ctx context.Context, notices []dsr.RecipientNotice) error
}

// Handler processes task-queue batches.
type Handler struct {
	Store    Store
	Contacts Contacts
	Reports  Reports
	Queue    Queue
	// Erasure and objection.
	Eraser   Eraser
	Evidence Evidence
	History  History
	Audit    Auditor // nil records nothing
	// Provenance: sources and recipients for reports, recipients to tell
	// after erasure and objection (Art. 19) through Notices.
	Provenance Provenance
	Notices    Notices

	Registry   dsr.Registry
	Controller dsr.Controller
	Log        *slog.Logger
	Clock      dsr.Clock
	// Reserve is the time kept before the function's deadline: a task that
	// has less left checkpoints and continues in a new message.
	Reserve time.Duration
}

// Handle processes every task of the batch; a task that fails is reported
// alone (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for i, msg := range ev.Records {
		if i > 0 && h.nearDeadline(ctx) {
			// Too little time for another task: queue the rest anew rather
			// than be cut off mid-task (which redelivers the whole batch), or
			// report them failed (which holds them a visibility timeout).
			h.Log.WarnContext(ctx, "deadline near; tasks requeued", "left", len(ev.Records)-i)
			for _, rest := range ev.Records[i:] {
				if err := h.requeue(ctx, rest); err != nil {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
				}
			}
			break
		}
		if err := h.process(ctx, msg); err != nil {
			h.Log.ErrorContext(ctx, "task failed", "messageId", msg.MessageId, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	return resp, nil
}

func parseTask(msg events.SQSMessage) (dsr.TaskMessage, error) {
	t, err := dsr.ParseTaskMessage(msg.Body, true)
	if err != nil {
		return t, fmt.Errorf("message is not a task message: %w", err)
	}
	return t, nil
}

// requeue sends msg's task again as a new message; the task is idempotent.
func (h *Handler) requeue(ctx context.Context, msg events.SQSMessage) error {
	t, err := parseTask(msg)
	if err != nil {
		return err
	}
	return h.Queue.SendTask(ctx, t)
}

func (h *Handler) process(ctx context.Context, msg events.SQSMessage) error {
	t, err := parseTask(msg)
	if err != nil {
		return err
	}
	p, ok := h.Registry.Lookup(t.Purpose)
	if !ok {
		return fmt.Errorf("task of request %s: unknown purpose %q", t.RequestID, t.Purpose)
	}
	r, err := h.Store.Get(ctx, t.RequestID)
	if err != nil {
		return fmt.Errorf("task of request %s: %w", t.RequestID, err)
	}
	log := h.Log.With("dsrId", r.ID, "purpose", p.Name)
	if t.Decision != "" {
		return h.applyDecision(ctx, log, r, p, t)
	}
	switch {
	case r.Status != dsr.StatusInProgress:
		log.InfoContext(ctx, "task of a request not in progress; nothing to do", "status", r.Status)
		return nil
	case r.Type != dsr.TypeAccess:
		return h.erase(ctx, log, r, p, t)
	}
	if _, done := r.DoneParts[p.Name]; done {
		// Redelivered: the part is recorded; finish the report if the
		// worker that recorded the last part did not.
		log.InfoContext(ctx, "redelivered task; part already recorded")
		return h.assembleIfDone(ctx, r)
	}
	chunk, cursor := t.Chunk, t.Cursor
	for {
		records, next, err := h.Contacts.FindPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return err
		}
		if err := h.Reports.PutChunk(ctx, dsr.Chunk{RequestID: r.ID, Purpose: p.Name, Index: chunk, Records: records}); err != nil {
			return err
		}
		chunk++
		if next == "" {
			break
		}
		cursor = next
		if h.nearDeadline(ctx) {
			// Checkpoint: the next page and chunk go on in a new message;
			// a redelivery of this one repeats the same chunks, harmlessly.
			if err := h.Queue.SendTask(ctx, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Cursor: cursor, Chunk: chunk}); err != nil {
				return err
			}
			log.InfoContext(ctx, "task checkpointed before the deadline", "chunk", chunk)
			return nil
		}
	}
	r, recorded, err := h.Store.MarkPartDone(ctx, r.ID, p.Name, chunk, h.Clock.Now())
	if err != nil {
		return err
	}
	if recorded {
		if err := h.audit(ctx, r.ID, dsr.AuditPurposeDone, fmt.Sprintf("purpose %s: %d chunk(s) of records", p.Name, chunk)); err != nil {
			return err
		}
		log.InfoContext(ctx, "part done", "chunks", chunk, "event", "purpose_done")
	}
	if r.AllPartsDone() && r.Status == dsr.StatusInProgress && h.nearDeadline(ctx) {
		// Assembling reads every part: do it in a fresh invocation, which
		// finds this part recorded and goes straight to assembly.
		if err := h.Queue.SendTask(ctx, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name}); err != nil {
			return err
		}
		log.InfoContext(ctx, "assembly continues in a new message before the deadline")
		return nil
	}
	return h.assembleIfDone(ctx, r)
}

func (h *Handler) nearDeadline(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < h.Reserve
}

// assembleIfDone writes the report once every part is recorded and completes
// the request. Objects are written with If-None-Match, and the completion is
// a conditional transition: racing or redelivered workers do it once.
func (h *Handler) assembleIfDone(ctx context.Context, r *dsr.Request) error {
	if r.Status != dsr.StatusInProgress || !r.AllPartsDone() {
		return nil
	}
	parts, err := h.parts(ctx, r)
	if err != nil {
		return err
	}
	// Provenance as of the request's receipt: what had expired by then is
	// not reported, and what has expired since is held for the request
	// (the retention job does not delete it while the request is open).
	// Only what was recorded by the time the last part was (r.UpdatedAt),
	// so that a redelivered assembly renders the same report.
	prov, err := h.provenance(ctx, r, "", r.UpdatedAt)
	if err != nil {
		return err
	}
	// The report's time is when its last part was recorded, so that every
	// assembler renders the same report.
	rep, err := dsr.AssembleReport(r, h.Registry, h.Controller, parts, prov, r.UpdatedAt)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("assemble report: %w", err)
	}
	page, err := dsr.RenderHTML(rep)
	if err != nil {
		return err
	}
	jsonKey, err := h.Reports.PutDocument(ctx, r.ID, dsr.DocReportJSON, body)
	if err != nil {
		return err
	}
	htmlKey, err := h.Reports.PutDocument(ctx, r.ID, dsr.DocReportHTML, page)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	err = h.Store.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{
		CompletedAt: now, Result: &dsr.Result{ReportJSONKey: jsonKey, ReportHTMLKey: htmlKey},
	})
	if err != nil && dsr.ErrorCodeOf(err) != dsr.EConflict {
		return err
	}
	if err == nil {
		if err := h.audit(ctx, r.ID, dsr.AuditCompleted, "report written (JSON and HTML)"); err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "report written; request completed", "dsrId", r.ID, "type", r.Type, "event", "completed",
			"secondsToComplete", int64(now.Sub(r.ReceivedAt).Seconds())) // the dashboard's time to complete
	}
	return nil
}

// provenance returns the provenance of r's subject for purpose (every
// purpose if ""), as of r's receipt, by purpose, leaving out events after
// until (unless zero). A request stored before subject keys existed has none.
func (h *Handler) provenance(ctx context.Context, r *dsr.Request, purpose string, until time.Time) (map[string]dsr.Provenance, error) {
	if h.Provenance == nil || r.SubjectKey == "" {
		return nil, nil
	}
	entries, err := h.Provenance.Subject(ctx, r.SubjectKey, purpose, r.ReceivedAt)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		entries = slices.DeleteFunc(entries, func(e dsr.ProvenanceEntry) bool { return e.At.After(until) })
	}
	return dsr.ProvenanceByPurpose(entries, r.ReceivedAt), nil
}

// audit appends a step of the worker to request id's trail.
func (h *Handler) audit(ctx context.Context, id string, action dsr.AuditAction, detail string) error {
	if h.Audit == nil {
		return nil
	}
	return h.Audit.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.SystemActor("worker"), Action: action, Detail: detail, At: h.Clock.Now()})
}
