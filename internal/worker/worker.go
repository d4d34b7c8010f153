// Package worker consumes the task queue. A task carries out one purpose of
// one request for its subject, page by page, each page a chunk: for access
// it keeps the records found (access.go); for erasure and objection it
// deletes or restricts the items, as the registry says, and reads the table
// back (erase.go). The worker that records the last purpose writes the
// report or the certificate, once (access.go, certificate.go). A decision
// message applies a DPO's decision on an objection (decision.go), or lifts
// a restriction request's restriction (decision.go, lift.go).
package worker

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

// Requests reads requests and records their progress, conditionally.
type Requests interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	BySubject(ctx context.Context, subjectKey string) ([]*dsr.Request, error)
	MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time, steps ...dsr.Step) (*dsr.Request, bool, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error
}

// Contacts are the purpose tables: a subject's records and item keys, one
// page at a time through the subject index; deleting, restricting and
// lifting restrictions; reading a table back; its backups.
type Contacts interface {
	FindPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]dsr.Record, string, error)
	KeysPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error)
	Delete(ctx context.Context, p dsr.Purpose, refs []string) error
	Restrict(ctx context.Context, p dsr.Purpose, refs []string, r dsr.Restriction) error
	Unrestrict(ctx context.Context, p dsr.Purpose, refs []string, requestID string) error
	Survey(ctx context.Context, p dsr.Purpose, s dsr.Subject) ([]dsr.ItemRef, error)
	Backups(ctx context.Context, p dsr.Purpose, deletedAt time.Time) ([]dsr.Copy, error)
	// Rectify and SurveyAttribute apply a rectification and read it back.
	Rectify(ctx context.Context, p dsr.Purpose, s dsr.Subject, refs []string, c dsr.Correction) (int, error)
	SurveyAttribute(ctx context.Context, p dsr.Purpose, s dsr.Subject, attr, value string) ([]dsr.AttributeValue, error)
	SetPreferences(ctx context.Context, p dsr.Purpose, s dsr.Subject, refs []string, u dsr.PreferenceUpdate) (int, error)
}

// Objects keep chunks and the finished documents: PutChunk replaces,
// PutChunkOnce and PutDocument write only what does not exist yet.
type Objects interface {
	PutChunk(ctx context.Context, c dsr.Chunk) error
	GetChunk(ctx context.Context, id, purpose string, index int) (dsr.Chunk, error)
	PutChunkOnce(ctx context.Context, c dsr.Chunk) (stored dsr.Chunk, created bool, err error)
	FindChunk(ctx context.Context, id, purpose string, index int) (dsr.Chunk, bool, error)
	PutDocument(ctx context.Context, id string, doc dsr.Document, body []byte) (key string, err error)
	DeleteRequestObjects(ctx context.Context, id string) (int, error)
	Copies(ctx context.Context) ([]dsr.Copy, error)
}

// Provenance reads a subject's provenance entries, removes those of a
// purpose whose records are erased, and says which backups keep them.
type Provenance interface {
	Subject(ctx context.Context, subjectKey, purpose string, asOf time.Time) ([]dsr.ProvenanceEntry, error)
	DeleteSubject(ctx context.Context, subjectKey, purpose string) (int, error)
	Backups(ctx context.Context, deletedAt time.Time) ([]dsr.Copy, error)
}

// Tasks takes the continuations of work that outgrows one invocation.
type Tasks interface {
	SendTask(ctx context.Context, m dsr.TaskMessage) error
	SendDecision(ctx context.Context, m dsr.DecisionMessage) error
}

// Notices takes the Art. 19 notices to recipients.
type Notices interface {
	SendNotices(ctx context.Context, notices []dsr.RecipientNotice) error
}

// Mailer tells the person that their request is answered.
type Mailer interface {
	Send(ctx context.Context, m dsr.Mail) error
}

// Handler processes task-queue batches.
type Handler struct {
	Requests   Requests
	Contacts   Contacts
	Objects    Objects
	Provenance Provenance
	Tasks      Tasks
	Notices    Notices
	Mailer     Mailer
	// Transmitter sends portability exports on (portability.go).
	Transmitter Transmitter
	// StatusPage is the privacy center's address, which the completion
	// mail links to (empty: it names the privacy center without a link).
	StatusPage string

	Registry   dsr.Registry
	Controller dsr.Controller
	// Language answers a request stored without one (before requests
	// kept their language).
	Language dsr.Language
	Log      *slog.Logger
	Clock    dsr.Clock
	// Reserve is the time kept before the function's deadline: work that
	// has less left checkpoints and continues in a new message.
	Reserve time.Duration
}

// Handle processes every message of the batch, each failure reported alone;
// near the deadline the rest is queued anew.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r := sqsbatch.Runner{Failed: "task failed", Log: h.Log, Reserve: h.Reserve, Requeue: h.requeue}
	return r.Run(ctx, ev, h.process), nil
}

// parse decodes a task-queue message; one that is not can never be done.
func parse(msg events.SQSMessage) (dsr.Message, error) {
	m, err := jsonbody.ParseTaskQueueMessage(msg.Body)
	if err != nil {
		return nil, sqsbatch.Poison(fmt.Errorf("message is not a task message: %w", err))
	}
	return m, nil
}

// requeue sends msg again as a new message; its work is idempotent.
func (h *Handler) requeue(ctx context.Context, msg events.SQSMessage) error {
	m, err := parse(msg)
	if err != nil {
		return err
	}
	return h.send(ctx, m)
}

// send queues task or decision message m.
func (h *Handler) send(ctx context.Context, m dsr.Message) error {
	if d, ok := m.(dsr.DecisionMessage); ok {
		return h.Tasks.SendDecision(ctx, d)
	}
	return h.Tasks.SendTask(ctx, m.(dsr.TaskMessage))
}

// process does what message msg asks, for its request and purpose.
func (h *Handler) process(ctx context.Context, msg events.SQSMessage) error {
	m, err := parse(msg)
	if err != nil {
		return err
	}
	t := work(m)
	slogctx.Add(ctx, "dsrId", t.RequestID, "purpose", t.Purpose)
	p, ok := h.Registry.Lookup(t.Purpose)
	if !ok {
		return sqsbatch.Poison(fmt.Errorf("task of request %s: unknown purpose %q", t.RequestID, t.Purpose))
	}
	r, err := h.Requests.Get(ctx, t.RequestID)
	if err != nil {
		return fmt.Errorf("task of request %s: %w", t.RequestID, err)
	}
	log := h.Log.With("dsrId", r.ID, "purpose", p.Name)
	if d, ok := m.(dsr.DecisionMessage); ok {
		return h.applyDecision(ctx, log, r, p, d)
	}
	switch {
	case r.Status != dsr.StatusInProgress:
		log.InfoContext(ctx, "task of a request not in progress; nothing to do", "status", r.Status)
		return nil
	case r.Type == dsr.TypeAccess, r.Type == dsr.TypePortability:
		return h.access(ctx, log, r, p, t)
	case r.Type == dsr.TypeRectification:
		return h.rectify(ctx, log, r, p, t)
	case r.Type == dsr.TypePreferences:
		return h.prefer(ctx, log, r, p, t)
	case r.Type == dsr.TypeObjection && p.Refused():
		return h.refuse(ctx, log, r, p)
	default:
		return h.erase(ctx, log, r, p, t)
	}
}

// work is the task of message m: a decision message's request, purpose and
// cursor, as a task.
func work(m dsr.Message) dsr.TaskMessage {
	if d, ok := m.(dsr.DecisionMessage); ok {
		return dsr.TaskMessage{RequestID: d.RequestID, Purpose: d.Purpose, Cursor: d.Cursor}
	}
	return m.(dsr.TaskMessage)
}

// walk calls page with each cursor from cursor on, until page returns no
// next cursor (the last page) or the deadline is near; it returns the cursor
// to go on from, "" when the walk is done.
func (h *Handler) walk(ctx context.Context, cursor string, page func(cursor string) (next string, err error)) (string, error) {
	for {
		next, err := page(cursor)
		if err != nil || next == "" {
			return "", err
		}
		if h.nearDeadline(ctx) {
			return next, nil
		}
		cursor = next
	}
}

// checkpoint continues task t in a new message: the next page and chunk go
// on there; a redelivery of this message repeats the same chunks, harmlessly.
func (h *Handler) checkpoint(ctx context.Context, log *slog.Logger, t dsr.TaskMessage) error {
	if err := h.Tasks.SendTask(ctx, t); err != nil {
		return err
	}
	log.InfoContext(ctx, "task checkpointed before the deadline", "chunk", t.Chunk)
	return nil
}

func (h *Handler) nearDeadline(ctx context.Context) bool {
	return sqsbatch.NearDeadline(ctx, h.Reserve)
}

// recordPart records purpose p of r as done in chunks chunks, with its audit
// step, once however often it is delivered, and returns r as it is now.
func (h *Handler) recordPart(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, chunks int, detail string) (*dsr.Request, error) {
	r, recorded, err := h.Requests.MarkPartDone(ctx, r.ID, p.Name, chunks, h.Clock.Now(), h.step(dsr.AuditPurposeDone, dsr.PurposeDoneDetail(p.Name, chunks, detail)))
	if err != nil {
		return nil, err
	}
	if recorded {
		log.InfoContext(ctx, "purpose done", "chunks", chunks, "event", "purpose_done")
	}
	return r, nil
}

// complete moves r from in progress to completed with ch, recording steps
// and then the completed step with it. The completion removes the plain
// address from the stored request (dsr.AddressNeeded): a mail to the person
// about it is sent before, or from r as read here. Completion is conditional: of racing
// or redelivered workers, the one that completes records the steps; the
// others find the request completed and stop. The person is told first
// (notify), while the request still holds the address.
func (h *Handler) complete(ctx context.Context, r *dsr.Request, ch dsr.Changes, done string, steps ...dsr.Step) error {
	told, err := h.notify(ctx, r)
	if err != nil {
		return err
	}
	steps = append(steps, told...)
	now := h.Clock.Now()
	ch.CompletedAt = now
	var record []dsr.Step
	for _, s := range append(steps, dsr.Step{Action: dsr.AuditCompleted, Detail: done}) {
		record = append(record, h.step(s.Action, s.Detail))
	}
	err = h.Requests.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, ch, record...)
	if dsr.ErrorCodeOf(err) == dsr.EConflict {
		return nil
	}
	if err != nil {
		return err
	}
	h.Log.InfoContext(ctx, done+"; request completed", "dsrId", r.ID, "type", r.Type, "event", "completed",
		"secondsToComplete", int64(now.Sub(r.ReceivedAt).Seconds())) // the dashboard's time to complete
	return nil
}

// notify tells the person that r is answered (dsr.CompletionMail: no
// personal data, a link to the status page) and returns the step that
// records it, to be written with the completion. It is sent before the
// completion, which removes the address from the request; a redelivery that
// sends it again sends the same mail id (the outbox writes it once). A mail
// that cannot be sent fails the task, and SQS delivers it again.
func (h *Handler) notify(ctx context.Context, r *dsr.Request) ([]dsr.Step, error) {
	if r.Email == "" {
		h.Log.WarnContext(ctx, "completion mail not sent: the request holds no address", "dsrId", r.ID)
		return nil, nil
	}
	m := dsr.CompletionMail(r, h.StatusPage)
	if err := h.Mailer.Send(ctx, m); err != nil {
		return nil, fmt.Errorf("completion mail of request %s: %w", r.ID, err)
	}
	return []dsr.Step{{Action: dsr.AuditPersonNotified, Detail: dsr.NotifiedDetail(m)}}, nil
}

// chunks reads every recorded chunk of every planned purpose of r.
func (h *Handler) chunks(ctx context.Context, r *dsr.Request) ([]dsr.Chunk, error) {
	var chunks []dsr.Chunk
	for _, purpose := range r.PlannedPurposes {
		for i := 0; i < r.DoneParts[purpose]; i++ {
			c, err := h.Objects.GetChunk(ctx, r.ID, purpose, i)
			if err != nil {
				return nil, err
			}
			chunks = append(chunks, c)
		}
	}
	return chunks, nil
}

// step is a step of the worker, now, which the change it records writes
// with it. A change that cannot be written fails the message, and SQS
// delivers it again (the queue consumers' rule: see dsr.Step).
func (h *Handler) step(action dsr.AuditAction, detail string) dsr.Step {
	return dsr.Step{Actor: dsr.SystemActor("worker"), Action: action, Detail: detail, At: h.Clock.Now()}
}
