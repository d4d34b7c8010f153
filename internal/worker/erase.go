package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Eraser deletes or restricts a subject's items in a purpose table, reading
// keys through the subject index, and reads the table back.
type Eraser interface {
	KeysPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error)
	Delete(ctx context.Context, p dsr.Purpose, refs []string) error
	Restrict(ctx context.Context, p dsr.Purpose, refs []string, r dsr.Restriction) error
	Unrestrict(ctx context.Context, p dsr.Purpose, refs []string, requestID string) error
	Survey(ctx context.Context, p dsr.Purpose, s dsr.Subject) ([]dsr.ItemRef, error)
	Backups(ctx context.Context, p dsr.Purpose, deletedAt time.Time) ([]dsr.Copy, error)
}

// Evidence keeps what erasure and objection tasks did, chunk by chunk, and
// removes a subject's earlier reports.
type Evidence interface {
	PutChunkOnce(ctx context.Context, p dsr.Chunk) (stored dsr.Chunk, created bool, err error)
	FindChunk(ctx context.Context, id, purpose string, chunk int) (dsr.Chunk, bool, error)
	DeleteRequestObjects(ctx context.Context, id string) (int, error)
	Copies(ctx context.Context) ([]dsr.Copy, error)
}

// History finds a subject's requests by subject key.
type History interface {
	BySubject(ctx context.Context, subjectKey string) ([]*dsr.Request, error)
}

// readBackRounds bounds how often a read-back deletes or restricts what it
// finds and reads again before the task fails (and SQS retries it).
const readBackRounds = 3

// erase carries out purpose p of erasure or objection r from task t: every
// page of the subject's keys is recorded as a chunk (create-only, so a
// redelivery repeats exactly the first delivery's chunks) and then deleted
// or restricted; the read-back is the last chunk.
func (h *Handler) erase(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, t dsr.TaskMessage) error {
	if _, done := r.DoneParts[p.Name]; done {
		log.InfoContext(ctx, "redelivered task; part already recorded")
		return h.completeIfDone(ctx, r)
	}
	action, err := p.ActionFor(r.Type)
	if err != nil {
		return err
	}
	restriction := dsr.RestrictionFor(r, p, h.Clock.Now())
	apply := func(refs []string) error {
		switch {
		case len(refs) == 0:
			return nil
		case action == dsr.ActionDelete:
			return h.Eraser.Delete(ctx, p, refs)
		default:
			return h.Eraser.Restrict(ctx, p, refs, restriction)
		}
	}
	chunk, cursor := t.Chunk, t.Cursor
	replayed := false // the last chunk was stored by an earlier delivery
	for {
		refs, next, err := h.Eraser.KeysPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return err
		}
		var recipients []dsr.Recipient
		if chunk == 0 {
			// The recipients, read before anything is removed: the first
			// chunk keeps them for the certificate and the notices.
			prov, err := h.provenance(ctx, r, p.Name, time.Time{})
			if err != nil {
				return err
			}
			recipients = prov[p.Name].Recipients
		}
		part, created, err := h.Evidence.PutChunkOnce(ctx, dsr.Chunk{RequestID: r.ID, Purpose: p.Name, Index: chunk, At: h.Clock.Now(), Keys: refs, Next: next, Recipients: recipients})
		if err != nil {
			return err
		}
		replayed = !created
		if part.ReadBack != nil {
			// An earlier delivery finished this purpose up to its read-back.
			return h.purposeDone(ctx, log, r, p, action, chunk+1)
		}
		if err := apply(part.Keys); err != nil {
			return err
		}
		chunk++
		if part.Next == "" {
			break
		}
		cursor = part.Next
		if h.nearDeadline(ctx) {
			if err := h.Queue.SendTask(ctx, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Cursor: cursor, Chunk: chunk}); err != nil {
				return err
			}
			log.InfoContext(ctx, "task checkpointed before the deadline", "chunk", chunk)
			return nil
		}
	}
	if replayed {
		// An earlier delivery got this far: if it also read back, its
		// read-back stands (reading back again could act on items it would
		// not count).
		if stored, ok, err := h.Evidence.FindChunk(ctx, r.ID, p.Name, chunk); err != nil {
			return err
		} else if ok && stored.ReadBack != nil {
			return h.purposeDone(ctx, log, r, p, action, chunk+1)
		}
	}
	rb, err := h.readBack(ctx, p, r, action, apply)
	if err != nil {
		return err
	}
	if _, _, err := h.Evidence.PutChunkOnce(ctx, dsr.Chunk{RequestID: r.ID, Purpose: p.Name, Index: chunk, At: rb.At, ReadBack: &rb}); err != nil {
		return err
	}
	log.InfoContext(ctx, "read back", "action", action, "restricted", rb.Restricted, "fixed", rb.Fixed)
	return h.purposeDone(ctx, log, r, p, action, chunk+1)
}

// readBack reads p's table back until nothing of the subject is left that
// the action should have removed: what it still finds (added meanwhile, or
// missed) it deletes or restricts and reads again, a few rounds at most.
func (h *Handler) readBack(ctx context.Context, p dsr.Purpose, r *dsr.Request, action dsr.Action, apply func([]string) error) (dsr.ReadBack, error) {
	var fixed []string
	for round := 0; ; round++ {
		items, err := h.Eraser.Survey(ctx, p, r.Subject())
		if err != nil {
			return dsr.ReadBack{}, err
		}
		var left []string
		rb := dsr.ReadBack{Fixed: len(fixed), FixedKeys: fixed}
		for _, it := range items {
			if action == dsr.ActionDelete || !it.Restricted {
				left = append(left, it.Key)
				continue
			}
			rb.Restricted++
			if u := it.Until; !u.IsZero() {
				if rb.FirstDeletable.IsZero() || u.Before(rb.FirstDeletable) {
					rb.FirstDeletable = u
				}
				if u.After(rb.LastDeletable) {
					rb.LastDeletable = u
				}
			}
		}
		if len(left) == 0 {
			rb.At = h.Clock.Now()
			return rb, nil
		}
		if round == readBackRounds {
			return dsr.ReadBack{}, fmt.Errorf("read back %s of request %s: %d items still there after %d rounds", p.Name, r.ID, len(left), round)
		}
		if err := apply(left); err != nil {
			return dsr.ReadBack{}, err
		}
		fixed = append(fixed, left...)
	}
}

// purposeDone removes p's provenance if its records were deleted (their
// recipients are in the first chunk), records p's part as done in chunks
// chunks and completes the request if it was the last.
func (h *Handler) purposeDone(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, action dsr.Action, chunks int) error {
	if err := h.deleteProvenance(ctx, log, r, p, action); err != nil {
		return err
	}
	r, recorded, err := h.Store.MarkPartDone(ctx, r.ID, p.Name, chunks, h.Clock.Now())
	if err != nil {
		return err
	}
	if recorded {
		if err := h.audit(ctx, r.ID, dsr.AuditPurposeDone, fmt.Sprintf("purpose %s: %d chunk(s), read back", p.Name, chunks)); err != nil {
			return err
		}
		log.InfoContext(ctx, "purpose done", "chunks", chunks, "event", "purpose_done")
	}
	return h.completeIfDone(ctx, r)
}

// deleteProvenance removes the subject's provenance entries of p when its
// records are deleted: with the records gone, where they came from and went
// to is of no use and is personal data too. Restricted records keep theirs.
func (h *Handler) deleteProvenance(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, action dsr.Action) error {
	if action != dsr.ActionDelete || h.Provenance == nil || r.SubjectKey == "" {
		return nil
	}
	n, err := h.Provenance.DeleteSubject(ctx, r.SubjectKey, p.Name)
	if err != nil {
		return err
	}
	if n > 0 {
		log.InfoContext(ctx, "provenance of the erased purpose deleted", "entries", n)
	}
	return nil
}

// completeIfDone writes the certificate once every purpose is done and
// completes the request: the subject's earlier access reports are deleted
// first (erasure), the certificate is written once (If-None-Match), and the
// completion is conditional, so racing or redelivered workers do it once.
func (h *Handler) completeIfDone(ctx context.Context, r *dsr.Request) error {
	if r.Status != dsr.StatusInProgress || !r.AllPartsDone() {
		return nil
	}
	parts, err := h.parts(ctx, r)
	if err != nil {
		return err
	}
	// The certificate's time is when its last part was recorded, so that
	// every worker renders the same certificate.
	at := r.UpdatedAt
	in := dsr.CertificateInput{Controller: h.Controller, IssuedAt: at}
	if r.Type == dsr.TypeErasure {
		if in.EarlierReportsDeleted, err = h.deleteEarlierReports(ctx, r); err != nil {
			return err
		}
		if in.Copies, err = h.Evidence.Copies(ctx); err != nil {
			return err
		}
	}
	deleted := false
	for _, name := range r.PlannedPurposes {
		p, _ := h.Registry.Lookup(name)
		if action, _ := p.ActionFor(r.Type); action != dsr.ActionDelete {
			continue
		}
		deleted = true
		copies, err := h.Eraser.Backups(ctx, p, at)
		if err != nil {
			return err
		}
		in.Copies = append(in.Copies, copies...)
	}
	if deleted && h.Provenance != nil {
		// The deleted purposes' provenance went too; its backups keep it.
		copies, err := h.Provenance.Backups(ctx, at)
		if err != nil {
			return err
		}
		in.Copies = append(in.Copies, copies...)
	}
	byPurpose := map[string][]dsr.Recipient{}
	for _, part := range parts {
		byPurpose[part.Purpose] = append(byPurpose[part.Purpose], part.Recipients...)
	}
	in.Recipients = dsr.NotifiedRecipients(byPurpose, r.PlannedPurposes)
	cert, err := dsr.AssembleCertificate(r, h.Registry, parts, in)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(cert, "", "  ")
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	key, err := h.Reports.PutDocument(ctx, r.ID, dsr.DocCertificate, body)
	if err != nil {
		return err
	}
	// Art. 19: one notice per recipient, before the request completes, so
	// a failure is retried; a retry sends them again with the same ids.
	if len(in.Recipients) > 0 {
		if err := h.Notices.SendNotices(ctx, dsr.RecipientNotices(r, in.Recipients, h.Registry, at)); err != nil {
			return err
		}
	}
	now := h.Clock.Now()
	err = h.Store.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{
		CompletedAt: now, Result: &dsr.Result{CertificateKey: key, Recipients: cert.Recipients},
		ObjectionDecisions: dsr.PendingObjections(r, h.Registry),
	})
	if err != nil && dsr.ErrorCodeOf(err) != dsr.EConflict {
		return err
	}
	if err == nil {
		if len(in.Recipients) > 0 {
			if err := h.audit(ctx, r.ID, dsr.AuditRecipientsNotified, fmt.Sprintf("%d recipient(s) told (Art. 19)", len(in.Recipients))); err != nil {
				return err
			}
		}
		if err := h.audit(ctx, r.ID, dsr.AuditCompleted, "certificate written"); err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "certificate written; request completed", "dsrId", r.ID, "type", r.Type, "event", "completed",
			"secondsToComplete", int64(now.Sub(r.ReceivedAt).Seconds())) // the dashboard's time to complete
	}
	return nil
}

// parts reads every recorded chunk of every planned purpose of r.
func (h *Handler) parts(ctx context.Context, r *dsr.Request) ([]dsr.Chunk, error) {
	var parts []dsr.Chunk
	for _, purpose := range r.PlannedPurposes {
		for c := 0; c < r.DoneParts[purpose]; c++ {
			part, err := h.Reports.GetChunk(ctx, r.ID, purpose, c)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		}
	}
	return parts, nil
}

// deleteEarlierReports deletes the objects of the subject's other access
// requests (their reports and parts) and returns how many access reports the
// subject had: all of them are gone afterwards, whether this call, an earlier
// delivery or the bucket's lifecycle deleted them. An access request still
// under way is failed first, so that it cannot write a report of the erased
// data after its objects are deleted.
func (h *Handler) deleteEarlierReports(ctx context.Context, r *dsr.Request) (int, error) {
	if r.SubjectKey == "" {
		return 0, fmt.Errorf("erasure %s: the request has no subject key", r.ID)
	}
	earlier, err := h.History.BySubject(ctx, r.SubjectKey)
	if err != nil {
		return 0, err
	}
	reports := 0
	for _, e := range earlier {
		if e.ID == r.ID || e.Type != dsr.TypeAccess {
			continue
		}
		// The index may lag, but statuses only move forward: one it shows
		// final is final.
		if !e.Status.Final() {
			if err := h.supersede(ctx, e.ID, r.ID); err != nil {
				return 0, err
			}
		}
		if _, err := h.Evidence.DeleteRequestObjects(ctx, e.ID); err != nil {
			return 0, err
		}
		if e.Result != nil && e.Result.ReportJSONKey != "" {
			reports++
		}
	}
	return reports, nil
}

// supersede fails access request id if it is still queued or in progress,
// because erasure request by erased the subject's data meanwhile.
func (h *Handler) supersede(ctx context.Context, id, by string) error {
	for attempt := 0; attempt < 3; attempt++ {
		e, err := h.Store.Get(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != dsr.StatusQueued && e.Status != dsr.StatusInProgress {
			return nil
		}
		err = h.Store.Transition(ctx, id, e.Status, dsr.StatusFailed, h.Clock.Now(), dsr.Changes{
			FailureReason: dsr.SupersededPrefix + " the subject's data was erased by request " + by + " while this access request was under way",
		})
		if dsr.ErrorCodeOf(err) != dsr.EConflict {
			if err == nil {
				if err := h.audit(ctx, id, dsr.AuditFailed, "superseded by erasure request "+by); err != nil {
					return err
				}
				h.Log.InfoContext(ctx, "access request superseded by an erasure", "dsrId", id, "by", by, "event", "failed")
			}
			return err
		}
	}
	return fmt.Errorf("supersede access request %s: it keeps changing", id)
}

// applyDecision applies a DPO's decision on objection r to purpose p, every
// page of the subject's items: upheld erases them (and reads the table back),
// overridden lifts the objection's restriction. It checkpoints like a task,
// and records the decision as applied at the end; a redelivery after that
// does nothing.
func (h *Handler) applyDecision(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, t dsr.TaskMessage) error {
	applying := dsr.Applying(t.Decision)
	if r.ObjectionDecisions[p.Name] != applying {
		log.InfoContext(ctx, "decision task with nothing to apply", "decision", r.ObjectionDecisions[p.Name])
		return nil
	}
	if t.Decision != dsr.DecisionUpheld && t.Decision != dsr.DecisionOverridden {
		return fmt.Errorf("decision task of request %s: unknown outcome %q", r.ID, t.Decision)
	}
	apply := func(refs []string) error {
		switch {
		case len(refs) == 0:
			return nil
		case t.Decision == dsr.DecisionUpheld:
			return h.Eraser.Delete(ctx, p, refs)
		default:
			return h.Eraser.Unrestrict(ctx, p, refs, r.ID)
		}
	}
	for cursor := t.Cursor; ; {
		refs, next, err := h.Eraser.KeysPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return err
		}
		if err := apply(refs); err != nil {
			return err
		}
		if next == "" {
			break
		}
		cursor = next
		if h.nearDeadline(ctx) {
			return h.Queue.SendTask(ctx, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Decision: t.Decision, Cursor: cursor})
		}
	}
	detail := fmt.Sprintf("purpose %s: objection overridden; restriction lifted", p.Name)
	if t.Decision == dsr.DecisionUpheld {
		rb, err := h.readBack(ctx, p, r, dsr.ActionDelete, apply)
		if err != nil {
			return err
		}
		detail = fmt.Sprintf("purpose %s: objection upheld; records erased, read back (%d fixed)", p.Name, rb.Fixed)
		if err := h.deleteProvenance(ctx, log, r, p, dsr.ActionDelete); err != nil {
			return err
		}
		// Art. 19: the recipients told of the restriction are told of the
		// erasure (a redelivery sends the same notices again, same ids).
		if notices := dsr.UpheldNotices(r, p.Name, h.Clock.Now()); len(notices) > 0 {
			if err := h.Notices.SendNotices(ctx, notices); err != nil {
				return err
			}
			detail += fmt.Sprintf("; %d recipient(s) told (Art. 19)", len(notices))
		}
	}
	now := h.Clock.Now()
	if err := h.Store.SetDecision(ctx, r.ID, p.Name, applying, t.Decision, now); err != nil {
		if dsr.ErrorCodeOf(err) == dsr.EConflict {
			return nil // a concurrent delivery recorded it
		}
		return err
	}
	if err := h.audit(ctx, r.ID, dsr.AuditObjectionApplied, detail); err != nil {
		return err
	}
	log.InfoContext(ctx, "objection decision applied", "decision", t.Decision, "event", "objection_decided")
	return nil
}
