package dsr

import (
	"fmt"
	"slices"
)

// Plan returns the purposes a verified request acts on, in registry order:
// every purpose for access and erasure; for an objection, every purpose
// flagged direct marketing (scope "direct_marketing") or the purposes named,
// those where Art. 21 does not apply included: that part is answered with
// the reasons (RefusalFor) and changes no record; for portability, the
// purposes in its scope (Registry.Portable).
func Plan(r *Request, reg Registry) ([]string, error) {
	switch r.Type {
	case TypeAccess, TypeErasure:
		return reg.Names(), nil
	case TypeRestriction:
		return restrictionPlan(r, reg), nil
	case TypePreferences:
		if plan := planPreferences(r, reg); len(plan) > 0 {
			return plan, nil
		}
		return nil, fmt.Errorf("plan request %s: the preferences concern no purpose of the registry", r.ID)
	case TypeObjection:
		var plan []string
		for _, p := range reg {
			if r.Scope == ScopeDirectMarketing && p.DirectMarketing || slices.Contains(r.Purposes, p.Name) {
				plan = append(plan, p.Name)
			}
		}
		if len(plan) == 0 {
			return nil, fmt.Errorf("plan request %s: the objection concerns no purpose of the registry", r.ID)
		}
		return plan, nil
	case TypeRectification:
		return rectificationPlan(r, reg)
	case TypePortability:
		if plan := reg.Portable(); len(plan) > 0 {
			return plan, nil
		}
		return nil, fmt.Errorf("plan request %s: no purpose of the registry is portable", r.ID)
	default:
		return nil, fmt.Errorf("plan request %s: unknown type %q", r.ID, r.Type)
	}
}
