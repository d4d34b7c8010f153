package dpo

import (
	"context"
	"fmt"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// Lift answers POST /v1/dpo/requests/{id}/lift: the DPO lifts the
// restriction an answered restriction request holds on a purpose. The
// person is told first (Art. 18(3)): only once the notice is in the outbox
// is the lifting recorded, and the task that unrestricts the items queued;
// a notice that cannot be sent leaves the restriction as it is, and the
// route answers 503. Then the restriction's suppression entry is removed.
// A lifting under way (its task or the removal failed) may be lifted
// again: each step is idempotent, and the trail records the lifting once.
func (s *Service) Lift(ctx context.Context, actor, id string, body []byte) (dsr.DPOView, error) {
	x, err := jsonbody.ParseLift(body)
	if err != nil {
		return dsr.DPOView{}, err
	}
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	lifting := dsr.Applying(dsr.DecisionLifted)
	again := r.ObjectionDecisions[x.Purpose] == lifting && r.Type == dsr.TypeRestriction
	if err := dsr.CheckLift(r, x.Purpose); err != nil && !again {
		return dsr.DPOView{}, err
	}
	purpose, _ := s.Registry.Lookup(x.Purpose)
	mail := dsr.LiftMail(r, x, purpose)
	if err := s.Mailer.Send(ctx, mail); err != nil {
		s.Log.ErrorContext(ctx, "lifting notice not sent; the restriction stays", "dsrId", r.ID, "error", err.Error())
		return dsr.DPOView{}, dsr.Unavailable(fmt.Errorf("lift: the person could not be told before the restriction is lifted (Art. 18(3)), so it stays; try again: %w", err))
	}
	now := s.Clock.Now()
	if !again {
		told := dsr.Step{Actor: actor, Action: dsr.AuditPersonNotified, Detail: dsr.NotifiedDetail(mail), At: now}
		if err := s.Store.SetDecision(ctx, r.ID, x.Purpose, dsr.RestrictionHeld, lifting, now, dsr.LiftDecidedStep(actor, x.Purpose, mail, now), told); err != nil {
			return dsr.DPOView{}, err
		}
	}
	if err := s.Tasks.SendDecision(ctx, dsr.DecisionMessage{RequestID: r.ID, Purpose: x.Purpose, Decision: dsr.DecisionLifted}); err != nil {
		return dsr.DPOView{}, dsr.Unavailable(fmt.Errorf("lift: the lifting is recorded but could not be queued; lift again: %w", err))
	}
	if err := s.Suppressions.Remove(ctx, r.SubjectKey, dsr.RestrictionScope(x.Purpose, r.ID), r.ID); err != nil {
		return dsr.DPOView{}, dsr.Unavailable(fmt.Errorf("lift: the lifting is under way but its suppression entry could not be removed; lift again: %w", err))
	}
	s.Log.InfoContext(ctx, "restriction lifted", "dsrId", r.ID, "actor", actor, "purpose", x.Purpose, "event", "restriction_lift_decided")
	r.ObjectionDecisions[x.Purpose] = lifting
	return dpoView(r, now, true), nil
}
