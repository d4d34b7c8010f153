package worker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/privacyops/dsr/internal/dsr"
)

// applyDecision applies a DPO's decision d on objection r to purpose p,
// every page of the subject's items: upheld erases them (and reads the
// table back), overridden lifts the objection's restriction; on restriction
// request r, lifted lifts its restriction (lifted). It checkpoints
// like a task, and records the decision as applied at the end; a redelivery
// after that does nothing.
func (h *Handler) applyDecision(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, d dsr.DecisionMessage) error {
	applying := dsr.Applying(d.Decision)
	if r.ObjectionDecisions[p.Name] != applying {
		log.InfoContext(ctx, "decision task with nothing to apply", "decision", r.ObjectionDecisions[p.Name])
		return nil
	}
	apply := func(refs []string) error {
		switch {
		case len(refs) == 0:
			return nil
		case d.Decision == dsr.DecisionUpheld:
			return h.Contacts.Delete(ctx, p, refs)
		default:
			return h.Contacts.Unrestrict(ctx, p, refs, r.ID)
		}
	}
	rest, err := h.walk(ctx, d.Cursor, func(cursor string) (string, error) {
		refs, next, err := h.Contacts.KeysPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return "", err
		}
		return next, apply(refs)
	})
	if err != nil {
		return err
	}
	if rest != "" {
		d.Cursor = rest
		return h.Tasks.SendDecision(ctx, d)
	}
	if d.Decision == dsr.DecisionLifted {
		return h.lifted(ctx, log, r, p)
	}
	detail := fmt.Sprintf("purpose %s: objection overridden; restriction lifted", p.Name)
	if d.Decision == dsr.DecisionUpheld {
		if detail, err = h.upheld(ctx, log, r, p, apply); err != nil {
			return err
		}
	}
	return h.decided(ctx, log, r, p, d.Decision, detail)
}

// upheld finishes an upheld objection to p once its items are deleted: the
// table is read back, the purpose's provenance deleted, and the recipients
// told of the restriction are told of the erasure (Art. 19; a redelivery
// sends the same notices again, with the same ids). It returns the step's
// detail.
func (h *Handler) upheld(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, apply func([]string) error) (string, error) {
	rb, err := h.readBack(ctx, p, r, dsr.ActionDelete, apply)
	if err != nil {
		return "", err
	}
	detail := fmt.Sprintf("purpose %s: objection upheld; records erased, read back (%d fixed)", p.Name, rb.Fixed)
	if err := h.deleteProvenance(ctx, log, r, p, dsr.ActionDelete); err != nil {
		return "", err
	}
	if notices := dsr.UpheldNotices(r, p.Name, h.Clock.Now()); len(notices) > 0 {
		if err := h.Notices.SendNotices(ctx, notices); err != nil {
			return "", err
		}
		detail += fmt.Sprintf("; %d recipient(s) told (Art. 19)", len(notices))
	}
	return detail, nil
}

// decided records outcome as applied to p, once: a concurrent delivery that
// recorded it first leaves nothing to do.
func (h *Handler) decided(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, outcome, detail string) error {
	err := h.Requests.SetDecision(ctx, r.ID, p.Name, dsr.Applying(outcome), outcome, h.Clock.Now(), h.step(dsr.AuditObjectionApplied, detail))
	if err != nil && dsr.ErrorCodeOf(err) != dsr.EConflict {
		return err
	}
	if err == nil {
		log.InfoContext(ctx, "objection decision applied", "decision", outcome, "event", "objection_decided")
	}
	return h.answerDecided(ctx, r.ID)
}

// answerDecided answers objection id once its last decision is applied:
// an objection in progress waits for its decisions (certify); a redelivery
// finds it answered, or answers it.
func (h *Handler) answerDecided(ctx context.Context, id string) error {
	r, err := h.Requests.Get(ctx, id)
	if err != nil {
		return err
	}
	return h.certify(ctx, r)
}
