package dsr

import (
	"slices"
	"strings"
	"time"
)

// Pending Art. 21(1) decisions: an objection to a purpose of legitimate
// interests restricts its records until the DPO decides on compelling
// grounds (registry objection "restrict"). The decision is due within the
// request's deadline, and the request is not answered (completed) until
// every such decision is taken and applied.

// DecisionFinal reports whether decision state d is taken and applied
// (upheld or overridden), not pending or being applied.
func DecisionFinal(d string) bool {
	return d == DecisionUpheld || d == DecisionOverridden || d == DecisionLifted
}

// PendingDecisions are the purposes of r whose decision is not final yet
// (pending, or taken and being applied), sorted.
func (r *Request) PendingDecisions() []string {
	var out []string
	for p, d := range r.ObjectionDecisions {
		if !DecisionFinal(d) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// AwaitingDecision reports whether r is an open objection that waits for
// a DPO's decision on a purpose before it can be answered.
func (r *Request) AwaitingDecision() bool {
	return r.Type == TypeObjection && r.Open() && len(r.PendingDecisions()) > 0 || r.AwaitingRectification()
}

// DecisionDue is when the DPO's decisions on r are due: within the
// request's deadline (Art. 12(3)), so its due date (zero before its clock
// runs).
func (r *Request) DecisionDue() time.Time { return r.DueAt }

// DecisionsFor are the decisions a dispatched objection r awaits, one
// pending per planned purpose restricted on objection, as dispatch stores
// them with the plan; nil for other requests.
func DecisionsFor(r *Request, plan []string, reg Registry) map[string]string {
	c := *r
	c.PlannedPurposes = plan
	return PendingObjections(&c, reg)
}

// decidedOutcome sets o, an objection's restricted purpose, to what the
// DPO's decision d did.
func (o *PurposeOutcome) decidedOutcome(d string, n int) {
	o.Decision = d
	switch d {
	case DecisionUpheld:
		o.Action, o.ItemsDeleted = ActionDelete, n
		o.Reason = "objection upheld: no compelling legitimate grounds (Art. 21(1)); the records were erased (Art. 17(1)(c))"
	default:
		o.ItemsRestricted = 0
		o.Reason = "objection overridden: compelling legitimate grounds override the person's interests (Art. 21(1)); the restriction was lifted"
	}
}

// decisionWords names a decision state for the DPO's digest.
func decisionWords(d string) string {
	if d == DecisionPending {
		return "pending"
	}
	return strings.TrimSuffix(d, applyingSuffix) + ", being applied"
}

// DecisionSummary says, for the DPO, which decisions r awaits: "purpose
// (pending), ...".
func (r *Request) DecisionSummary() string {
	var parts []string
	for _, p := range r.PendingDecisions() {
		parts = append(parts, p+" ("+decisionWords(r.ObjectionDecisions[p])+")")
	}
	return strings.Join(parts, ", ")
}
