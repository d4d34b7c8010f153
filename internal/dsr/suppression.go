package dsr

import (
	"time"
)

// ScopeAll is the suppression scope of an erasure: every purpose, including
// purposes added to the registry later.
const ScopeAll = "*"

// Suppression reasons (docs/api.md).
const (
	SuppressedByErasure   = "erasure"
	SuppressedByObjection = "objection"
)

// Suppression is one entry of the suppression list: the person behind
// SubjectKey (a keyed hash, never the identifier) may not be (re)added to
// Scope: a purpose, ScopeAll, or ScopeDirectMarketing (every purpose the
// registry flags direct marketing, now or later).
type Suppression struct {
	SubjectKey string
	Scope      string
	Reason     string
	Since      time.Time
	RequestID  string
}

// SuppressionsFor returns the entries request r adds to the suppression list
// once verified: every purpose after an erasure; after an objection to direct
// marketing, direct marketing itself (so a purpose flagged direct marketing
// later is covered too: the objection is for good); after an objection to
// named purposes, those; none after access.
func SuppressionsFor(r *Request, plan []string, since time.Time) []Suppression {
	switch {
	case r.Type == TypeErasure:
		return []Suppression{{SubjectKey: r.SubjectKey, Scope: ScopeAll, Reason: SuppressedByErasure, Since: since, RequestID: r.ID}}
	case r.Type == TypeObjection && r.Scope == ScopeDirectMarketing:
		return []Suppression{{SubjectKey: r.SubjectKey, Scope: ScopeDirectMarketing, Reason: SuppressedByObjection, Since: since, RequestID: r.ID}}
	case r.Type == TypeObjection:
		out := make([]Suppression, 0, len(plan))
		for _, p := range plan {
			out = append(out, Suppression{SubjectKey: r.SubjectKey, Scope: p, Reason: SuppressedByObjection, Since: since, RequestID: r.ID})
		}
		return out
	default:
		return nil
	}
}

// SuppressionCheck is a validated suppression check: may the person be
// (re)added to the purpose?
type SuppressionCheck struct {
	Email   string // normalized
	Purpose string
}

// SuppressionCheckInput is a check as the CRM asked it: nil where a field
// is left out.
type SuppressionCheckInput struct {
	Email   *string
	Purpose *string
}

// ParseSuppressionCheck validates a check against the registry.
func ParseSuppressionCheck(in SuppressionCheckInput, reg Registry) (SuppressionCheck, error) {
	var c SuppressionCheck
	var fields []FieldError
	email, errs := emailField(in.Email)
	c.Email, fields = email, append(fields, errs...)
	switch {
	case in.Purpose == nil:
		fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
	default:
		if _, ok := reg.Lookup(*in.Purpose); !ok {
			fields = append(fields, FieldError{Field: "purpose", Reason: "is not a purpose of the registry"})
		}
		c.Purpose = *in.Purpose
	}
	if len(fields) > 0 {
		return SuppressionCheck{}, Invalid("the suppression check is invalid", fields...)
	}
	return c, nil
}

// SuppressionStatus answers a suppression check (docs/api.md).
type SuppressionStatus struct {
	Suppressed bool       `json:"suppressed"`
	Reason     string     `json:"reason,omitempty"`
	Since      *time.Time `json:"since,omitempty"`
}

// Suppressed decides a check for purpose p from the subject's entries: an
// entry for every purpose (erasure), for p, or for direct marketing when p is
// direct marketing suppresses; the earliest such entry gives the reason and
// date.
func Suppressed(entries []Suppression, p Purpose) SuppressionStatus {
	var first *Suppression
	for i, e := range entries {
		if e.Scope != ScopeAll && e.Scope != p.Name && (e.Scope != ScopeDirectMarketing || !p.DirectMarketing) {
			continue
		}
		if first == nil || e.Since.Before(first.Since) {
			first = &entries[i]
		}
	}
	if first == nil {
		return SuppressionStatus{Suppressed: false}
	}
	since := first.Since.UTC()
	return SuppressionStatus{Suppressed: true, Reason: first.Reason, Since: &since}
}
