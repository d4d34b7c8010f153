package worker

import (
	"context"
	"log/slog"

	"github.com/privacyops/dsr/internal/dsr"
)

// lifted finishes the lifting of restriction r's restriction of p once its
// items are unrestricted (applyDecision): the recipients told of the
// restriction are told it is lifted (Art. 19; a redelivery sends the same
// notices again, with the same ids), and the lifting is recorded as
// applied, once: a concurrent delivery that recorded it first leaves
// nothing to do.
func (h *Handler) lifted(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose) error {
	now := h.Clock.Now()
	notices := dsr.LiftedNotices(r, p.Name, now)
	if len(notices) > 0 {
		if err := h.Notices.SendNotices(ctx, notices); err != nil {
			return err
		}
	}
	err := h.Requests.SetDecision(ctx, r.ID, p.Name, dsr.Applying(dsr.DecisionLifted), dsr.DecisionLifted, now,
		h.step(dsr.AuditRestrictionLifted, dsr.LiftedDetail(p.Name, len(notices))))
	switch {
	case dsr.ErrorCodeOf(err) == dsr.EConflict:
		return nil
	case err != nil:
		return err
	}
	log.InfoContext(ctx, "restriction lifted", "recipients", len(notices), "event", "restriction_lifted")
	return nil
}
