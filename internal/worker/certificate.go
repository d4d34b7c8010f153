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
	chunks, err := h.chunks(ctx, r)
	if err != nil {
		return err
	}
	in, err := h.certificateInput(ctx, r, chunks)
	if err != nil {
		return err
	}
	cert, err := dsr.AssembleCertificate(r, h.Registry, chunks, in)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(cert, "", "  ")
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	key, err := h.Objects.PutDocument(ctx, r.ID, dsr.DocCertificate, body)
	if err != nil {
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
	return h.complete(ctx, r, dsr.Changes{
		Result:             &dsr.Result{CertificateKey: key, Recipients: cert.Recipients},
		ObjectionDecisions: dsr.PendingObjections(r, h.Registry),
	}, "certificate written", steps...)
}

// certificateInput gathers what the certificate states besides the chunks:
// its time (when the last part was recorded, so that every worker renders
// the same certificate), the earlier reports deleted, the copies that still
// hold erased data until they expire, and the recipients told.
func (h *Handler) certificateInput(ctx context.Context, r *dsr.Request, chunks []dsr.Chunk) (dsr.CertificateInput, error) {
	at := r.UpdatedAt
	in := dsr.CertificateInput{Controller: h.Controller, IssuedAt: at}
	var err error
	if r.Type == dsr.TypeErasure {
		if in.EarlierReportsDeleted, err = h.deleteEarlierReports(ctx, r); err != nil {
			return in, err
		}
		if in.Copies, err = h.Objects.Copies(ctx); err != nil {
			return in, err
		}
	}
	backups, err := h.backups(ctx, r)
	if err != nil {
		return in, err
	}
	in.Copies = append(in.Copies, backups...)
	byPurpose := map[string][]dsr.Recipient{}
	for _, c := range chunks {
		byPurpose[c.Purpose] = append(byPurpose[c.Purpose], c.Recipients...)
	}
	in.Recipients = dsr.NotifiedRecipients(byPurpose, r.PlannedPurposes)
	return in, nil
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
// still under way is failed first, so that it cannot write a report of the
// erased data after its objects are deleted.
func (h *Handler) deleteEarlierReports(ctx context.Context, r *dsr.Request) (int, error) {
	if r.SubjectKey == "" {
		return 0, fmt.Errorf("erasure %s: the request has no subject key", r.ID)
	}
	earlier, err := h.Requests.BySubject(ctx, r.SubjectKey)
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
		if _, err := h.Objects.DeleteRequestObjects(ctx, e.ID); err != nil {
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
		e, err := h.Requests.Get(ctx, id)
		if err != nil {
			return err
		}
		if e.Status != dsr.StatusQueued && e.Status != dsr.StatusInProgress {
			return nil
		}
		err = h.Requests.Transition(ctx, id, e.Status, dsr.StatusFailed, h.Clock.Now(), dsr.Changes{
			FailureReason: dsr.SupersededPrefix + " the subject's data was erased by request " + by + " while this access request was under way",
		}, h.step(dsr.AuditFailed, "superseded by erasure request "+by))
		if dsr.ErrorCodeOf(err) == dsr.EConflict {
			continue
		}
		if err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "access request superseded by an erasure", "dsrId", id, "by", by, "event", "failed")
		return nil
	}
	return fmt.Errorf("supersede access request %s: it keeps changing", id)
}
