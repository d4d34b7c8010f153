package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/sqsbatch"
)

// rectify carries out purpose p of rectification r from task t, once the
// DPO has decided (the tasks are sent with the decision). A refusal
// records the part unchanged. A confirmed correction is applied, page by
// page, to every item of the subject holding the attribute where p marks
// it rectifiable (a conditional update each, so a redelivery changes
// nothing twice), then read back; a purpose that does not mark it is only
// read, to say in the certificate what it holds unchanged. The read-back
// is the purpose's one chunk, create-only, with the recipients to tell
// where items were corrected (Art. 19).
func (h *Handler) rectify(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, t dsr.TaskMessage) error {
	if _, done := r.DoneParts[p.Name]; done {
		log.InfoContext(ctx, "redelivered task; part already recorded")
		return h.certify(ctx, r)
	}
	if r.Rectification == nil {
		return sqsbatch.Poison(fmt.Errorf("rectification %s without its correction", r.ID))
	}
	switch r.Rectification.Decision {
	case dsr.RectificationPending:
		log.InfoContext(ctx, "task of a rectification not decided yet; nothing to do")
		return nil
	case dsr.RectificationRefused:
		return h.recordAndCertify(ctx, log, r, p, 0, "; correction refused by the DPO: no record changed")
	}
	if stored, ok, err := h.Objects.FindChunk(ctx, r.ID, p.Name, 0); err != nil {
		return err
	} else if ok && stored.Rectified != nil {
		return h.recordAndCertify(ctx, log, r, p, 1, rectifiedDetail(*stored.Rectified))
	}
	if p.Rectifies(r.Rectification.Attribute) {
		rest, err := h.applyCorrection(ctx, r, p, t.Cursor)
		if err != nil || rest != "" {
			if err == nil {
				err = h.checkpoint(ctx, log, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Cursor: rest})
			}
			return err
		}
	}
	part, err := h.readBackCorrection(ctx, r, p)
	if err != nil {
		return err
	}
	return h.recordCorrection(ctx, log, r, p, part)
}

// applyCorrection applies r's correction to every page of the subject's
// items in p from cursor on, and returns the cursor to go on from near the
// deadline ("" when done).
func (h *Handler) applyCorrection(ctx context.Context, r *dsr.Request, p dsr.Purpose, cursor string) (string, error) {
	return h.walk(ctx, cursor, func(cursor string) (string, error) {
		refs, next, err := h.Contacts.KeysPage(ctx, p, r.Subject(), cursor)
		if err != nil || len(refs) == 0 {
			return next, err
		}
		_, err = h.Contacts.Rectify(ctx, p, r.Subject(), refs, r.Rectification.Correction)
		return next, err
	})
}

// readBackCorrection reads p's table back: how many of the subject's items
// hold the attribute, and how many the corrected value. Where p marks the
// attribute rectifiable, what does not hold it yet (added meanwhile, or
// missed by a lagging index) is corrected and read again, a few rounds at
// most.
func (h *Handler) readBackCorrection(ctx context.Context, r *dsr.Request, p dsr.Purpose) (dsr.RectifiedPart, error) {
	corr := r.Rectification.Correction
	fixed := 0
	for round := 0; ; round++ {
		items, err := h.Contacts.SurveyAttribute(ctx, p, r.Subject(), corr.Attribute, corr.Corrected)
		if err != nil {
			return dsr.RectifiedPart{}, err
		}
		part, left := dsr.SurveyCorrection(items, corr.Attribute, p.Rectifies(corr.Attribute))
		part.Fixed = fixed
		if len(left) == 0 {
			return part, nil
		}
		if round == readBackRounds {
			return dsr.RectifiedPart{}, fmt.Errorf("read back %s of request %s: %d items not corrected after %d rounds", p.Name, r.ID, len(left), round)
		}
		n, err := h.Contacts.Rectify(ctx, p, r.Subject(), left, corr)
		if err != nil {
			return dsr.RectifiedPart{}, err
		}
		fixed += n
	}
}

// recordCorrection stores part as p's one chunk (create-only: of racing
// deliveries the first stands), with the recipients of p where items were
// corrected, and records the part.
func (h *Handler) recordCorrection(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, part dsr.RectifiedPart) error {
	var recipients []dsr.Recipient
	if part.Rectifiable && part.Holding > 0 {
		prov, err := h.provenance(ctx, r, p.Name, time.Time{})
		if err != nil {
			return err
		}
		recipients = prov[p.Name].Recipients
	}
	stored, _, err := h.Objects.PutChunkOnce(ctx, dsr.Chunk{RequestID: r.ID, Purpose: p.Name, Index: 0, At: h.Clock.Now(),
		Rectified: &part, Recipients: recipients})
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "correction read back", "holding", part.Holding, "corrected", part.Corrected, "fixed", part.Fixed)
	return h.recordAndCertify(ctx, log, r, p, 1, rectifiedDetail(*stored.Rectified))
}

// recordAndCertify records p's part of r in chunks chunks, once, and
// answers r if it was the last.
func (h *Handler) recordAndCertify(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, chunks int, detail string) error {
	r, err := h.recordPart(ctx, log, r, p, chunks, detail)
	if err != nil {
		return err
	}
	return h.certify(ctx, r)
}

// rectifiedDetail is the purpose_done detail of a rectified part: counts
// and the attribute, never a value.
func rectifiedDetail(part dsr.RectifiedPart) string {
	if !part.Rectifiable {
		return fmt.Sprintf("; %s not rectifiable here: %d item(s) holding it left unchanged", part.Attribute, part.Holding)
	}
	return fmt.Sprintf("; %s corrected in %d of %d item(s), read back (%d fixed)", part.Attribute, part.Corrected, part.Holding, part.Fixed)
}
