package dpo

import (
	"context"
	"fmt"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// DecideRectification answers POST
// /v1/dpo/requests/{id}/rectification-decision: the DPO confirms or
// refuses the correction a verified rectification asks (Art. 16), which
// waits in progress for it. The decision is recorded once, with its step;
// then it is carried out (carryOut). Repeating the same decision, after a
// failure to carry it out, carries it out again; another decision is a
// conflict.
func (s *Service) DecideRectification(ctx context.Context, actor, id string, body []byte) (dsr.DPOView, error) {
	d, err := jsonbody.ParseRectificationDecision(body)
	if err != nil {
		return dsr.DPOView{}, err
	}
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	if err := decidable(r, d); err != nil {
		return dsr.DPOView{}, err
	}
	now := s.Clock.Now()
	if r.Rectification.Decision == dsr.RectificationPending {
		// The reasons go to the person, not into the trail.
		err := s.Store.DecideRectification(ctx, r.ID, d, now,
			dsr.Step{Actor: actor, Action: dsr.AuditRectificationDecided, Detail: dsr.RectificationDecidedDetail(r, d), At: now})
		if dsr.ErrorCodeOf(err) == dsr.EConflict { // decided meanwhile: go by what was stored
			return s.redecide(ctx, actor, id, d)
		}
		if err != nil {
			return dsr.DPOView{}, err
		}
		r.Rectification.Decision, r.Rectification.Reasons = d.Outcome, d.Reasons
		s.Log.InfoContext(ctx, "rectification decided", "dsrId", r.ID, "actor", actor, "outcome", d.Outcome, "event", "rectification_decided")
	}
	if err := s.carryOut(ctx, r); err != nil {
		return dsr.DPOView{}, err
	}
	return dpoView(r, now, true), nil
}

// redecide answers a decision d on request id that another call recorded
// first: the same decision is carried out, another is a conflict.
func (s *Service) redecide(ctx context.Context, actor, id string, d dsr.RectificationDecision) (dsr.DPOView, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	if err := decidable(r, d); err != nil {
		return dsr.DPOView{}, err
	}
	if r.Rectification.Decision == dsr.RectificationPending {
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "the rectification changed meanwhile; try again")
	}
	if err := s.carryOut(ctx, r); err != nil {
		return dsr.DPOView{}, err
	}
	s.Log.InfoContext(ctx, "rectification decision carried out again", "dsrId", r.ID, "actor", actor, "outcome", d.Outcome)
	return dpoView(r, s.Clock.Now(), true), nil
}

// decidable checks that r is a rectification in progress whose decision is
// pending, or already d's outcome.
func decidable(r *dsr.Request, d dsr.RectificationDecision) error {
	switch {
	case r.Type != dsr.TypeRectification || r.Rectification == nil || r.Status != dsr.StatusInProgress:
		return dsr.Errorf(dsr.EConflict, "only a rectification in progress awaits this decision; this is a %s %s request", r.Status, r.Type)
	case r.Rectification.Decision != dsr.RectificationPending && r.Rectification.Decision != d.Outcome:
		return dsr.Errorf(dsr.EConflict, "the rectification is already decided: %s", r.Rectification.Decision)
	}
	return nil
}

// carryOut carries out r's decision: a refusal is told to the person with
// the reasons, the restriction they may ask for while accuracy is
// contested and the right to complain, before anything else (one mail,
// however often it is sent); then every purpose not done yet gets its task,
// which applies a confirmed correction, or records the refused part
// unchanged, and the worker of the last one answers the request with its
// certificate. Tasks are idempotent: sending them again is harmless.
func (s *Service) carryOut(ctx context.Context, r *dsr.Request) error {
	if r.Rectification.Decision == dsr.RectificationRefused {
		if err := s.Mailer.Send(ctx, dsr.RectificationRefusalMail(r)); err != nil {
			return dsr.Unavailable(fmt.Errorf("decide rectification: the decision stands but the person could not be told; repeat it: %w", err))
		}
	}
	var tasks []dsr.TaskMessage
	for _, p := range r.PlannedPurposes {
		if _, done := r.DoneParts[p]; !done {
			tasks = append(tasks, dsr.TaskMessage{RequestID: r.ID, Purpose: p})
		}
	}
	if err := s.Tasks.SendTasks(ctx, tasks); err != nil {
		return dsr.Unavailable(fmt.Errorf("decide rectification: the decision stands but its tasks could not be queued; repeat it: %w", err))
	}
	return nil
}
