package worker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/privacyops/dsr/internal/dsr"
)

// certify writes the certificate once every purpose of erasure or objection
// r is done, tells the recipients (Art. 19) and completes the request. For
// an erasure, the subject's earlier access reports are deleted first. The
// certificate is written create-only and the completion is conditional, so
// racing or redelivered workers do it once.
func (h *Handler) certify(ctx context.Context, r *dsr.Request) error {
	if r.Status != dsr.StatusInProgress || !r.AllPartsDone() {
		return nil
	}
	if pending := r.PendingDecisions(); len(pending) > 0 {
		// Art. 21(1): the DPO decides within the deadline; the worker that
		// applies the last decision answers the request (decided).
		h.Log.InfoContext(ctx, "every part done; the request awaits the DPO's decision", "dsrId", r.ID, "purposes", len(pending))
		return nil
	}
	chunks, err := h.chunks(ctx, r)
	if err != nil {
		return err
	}
	in, superseded, err := h.certificateInput(ctx, r, chunks)
	if err != nil {
		return err
	}
	cert, err := dsr.AssembleCertificate(r, h.Registry, chunks, in)
	if err != nil {
		return err
	}
	key, err := h.putJSON(ctx, r.ID, cert)
	if err != nil {
		return err
	}
	if err := h.answerSuperseded(ctx, superseded, cert); err != nil {
		return err
	}
	// Art. 19: one notice per recipient, before the request completes, so
	// a failure is retried; a retry sends them again with the same ids.
	var steps []dsr.Step
	if n := len(in.Recipients); n > 0 {
		if err := h.Notices.SendNotices(ctx, dsr.RecipientNotices(r, in.Recipients, h.Registry, in.IssuedAt)); err != nil {
			return err
		}
		steps = append(steps, dsr.Step{Action: dsr.AuditRecipientsNotified, Detail: fmt.Sprintf("%d recipient(s) told (Art. 19)", n)})
	}
	ch := dsr.Changes{Result: &dsr.Result{CertificateKey: key, Recipients: cert.Recipients}}
	if r.ObjectionDecisions == nil {
		// Dispatched before dispatch recorded the decisions: they are
		// pending from the answer on, as they were then.
		ch.ObjectionDecisions = dsr.PendingObjections(r, h.Registry)
	}
	if held := dsr.HeldRestrictions(r); held != nil {
		// Answered, the restriction holds until a DPO lifts it (lift.go).
		ch.ObjectionDecisions = held
	}
	return h.complete(ctx, r, ch, "certificate written", steps...)
}

// putJSON writes doc as the certificate document of request id (an
// erasure's or objection's certificate, or a superseded access request's
// answer), create-only, and returns its key.
func (h *Handler) putJSON(ctx context.Context, id string, doc any) (string, error) {
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("certificate of request %s: %w", id, err)
	}
	return h.Objects.PutDocument(ctx, id, dsr.DocCertificate, body)
}

// answerSuperseded writes, for each access request ids that erasure cert
// superseded, its answer (dsr.AnswerSuperseded): what the erasure did,
// without personal data. Its objects were deleted with the subject's other
// reports first; a redelivery writes the same answer again.
func (h *Handler) answerSuperseded(ctx context.Context, ids []string, cert *dsr.Certificate) error {
	for _, id := range ids {
		e, err := h.Requests.Get(ctx, id)
		if err != nil {
			return err
		}
		if _, err := h.putJSON(ctx, id, dsr.AnswerSuperseded(e, cert)); err != nil {
			return err
		}
	}
	return nil
}

// certificateInput gathers what the certificate states besides the chunks:
// its time (when the last part was recorded, so that every worker renders
// the same certificate), the earlier reports deleted, the copies that still
// hold erased data until they expire, and the recipients told. It returns
// too the access requests the erasure superseded, to be answered.
func (h *Handler) certificateInput(ctx context.Context, r *dsr.Request, chunks []dsr.Chunk) (dsr.CertificateInput, []string, error) {
	at := r.UpdatedAt
	in := dsr.CertificateInput{Controller: h.Controller, IssuedAt: at}
	var superseded []string
	var err error
	if r.Type == dsr.TypeErasure {
		if in.EarlierReportsDeleted, superseded, err = h.deleteEarlierReports(ctx, r); err != nil {
			return in, nil, err
		}
		if in.Copies, err = h.Objects.Copies(ctx); err != nil {
			return in, nil, err
		}
	}
	backups, err := h.backups(ctx, r)
	if err != nil {
		return in, nil, err
	}
	in.Copies = append(in.Copies, backups...)
	byPurpose := map[string][]dsr.Recipient{}
	for _, c := range chunks {
		byPurpose[c.Purpose] = append(byPurpose[c.Purpose], c.Recipients...)
	}
	in.Recipients = dsr.NotifiedRecipients(byPurpose, r.PlannedPurposes)
	return in, superseded, nil
}

// backups are the backups that keep r's deleted data until they expire: the
// tables of the purposes whose items were deleted, and the provenance
// table, whose entries of those purposes went too.
func (h *Handler) backups(ctx context.Context, r *dsr.Request) ([]dsr.Copy, error) {
	var copies []dsr.Copy
	deleted := false
	for _, name := range r.PlannedPurposes {
		p, _ := h.Registry.Lookup(name)
		if action, _ := p.ActionFor(r.Type); action != dsr.ActionDelete {
			continue
		}
		deleted = true
		c, err := h.Contacts.Backups(ctx, p, r.UpdatedAt)
		if err != nil {
			return nil, err
		}
		copies = append(copies, c...)
	}
	if !deleted {
		return copies, nil
	}
	c, err := h.Provenance.Backups(ctx, r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return append(copies, c...), nil
}

// deleteEarlierReports deletes the objects of the subject's other access
// requests (their reports and chunks) and returns how many access reports
// the subject had: all of them are gone afterwards, whether this call, an
// earlier delivery or the bucket's lifecycle deleted them. An access request
// still under way is answered first (supersede), so that it cannot write a
// report of the erased data after its objects are deleted; it returns those
// requests, which this erasure superseded (in this delivery or an earlier
// one), for their answers to be written after.
func (h *Handler) deleteEarlierReports(ctx context.Context, r *dsr.Request) (int, []string, error) {
	if r.SubjectKey == "" {
		return 0, nil, fmt.Errorf("erasure %s: the request has no subject key", r.ID)
	}
	earlier, err := h.Requests.BySubject(ctx, r.SubjectKey)
	if err != nil {
		return 0, nil, err
	}
	reports := 0
	var superseded []string
	for _, e := range earlier {
		if e.ID == r.ID || e.Type != dsr.TypeAccess && e.Type != dsr.TypePortability {
			continue // a portability export is a copy of erased data too
		}
		// The index may lag, but statuses only move forward: one it shows
		// final is final.
		if !e.Status.Final() {
			if e, err = h.supersede(ctx, e.ID, r.ID); err != nil {
				return 0, nil, err
			}
		}
		if e.Superseded() && e.Result.SupersededBy == r.ID {
			superseded = append(superseded, e.ID)
		}
		if _, err := h.Objects.DeleteRequestObjects(ctx, e.ID); err != nil {
			return 0, nil, err
		}
		if e.Result != nil && e.Result.ReportJSONKey != "" {
			reports++
		}
	}
	return reports, superseded, nil
}

// supersede answers access request id, if it is still queued or in
// progress, because erasure request by erased the subject's data meanwhile:
// the person is told (as of every completion), and the request completes,
// to be answered by the erasure's statement (answerSuperseded). A queued
// request is moved in progress first, as dispatch would. It returns the
// request as it is then.
func (h *Handler) supersede(ctx context.Context, id, by string) (*dsr.Request, error) {
	for attempt := 0; attempt < 4; attempt++ {
		e, err := h.Requests.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		now := h.Clock.Now()
		switch e.Status {
		case dsr.StatusQueued:
			err = h.Requests.Transition(ctx, id, e.Status, dsr.StatusInProgress, now, dsr.Changes{},
				h.step(dsr.AuditDispatched, "superseded by erasure request "+by+": nothing to dispatch"))
		case dsr.StatusInProgress:
			err = h.completeSuperseded(ctx, e, by)
		default:
			return e, nil
		}
		if err != nil && dsr.ErrorCodeOf(err) != dsr.EConflict {
			return nil, err
		}
	}
	return nil, fmt.Errorf("supersede access request %s: it keeps changing", id)
}

// completeSuperseded tells the person and completes access request e,
// superseded by erasure request by.
func (h *Handler) completeSuperseded(ctx context.Context, e *dsr.Request, by string) error {
	told, err := h.notify(ctx, e)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	steps := []dsr.Step{}
	for _, s := range append(told, dsr.Step{Action: dsr.AuditCompleted, Detail: dsr.SupersededPrefix + " the subject's data was erased by request " + by +
		" while this access request was under way; answered with what the erasure did"}) {
		steps = append(steps, h.step(s.Action, s.Detail))
	}
	err = h.Requests.Transition(ctx, e.ID, dsr.StatusInProgress, dsr.StatusCompleted, now,
		dsr.Changes{CompletedAt: now, Result: &dsr.Result{SupersededBy: by}}, steps...)
	if err == nil {
		h.Log.InfoContext(ctx, "access request superseded by an erasure; answered", "dsrId", e.ID, "by", by, "event", "completed")
	}
	return err
}
