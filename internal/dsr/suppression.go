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
	// Channel narrows the entry to one channel of Scope (a withdrawn
	// consent: SuppressedByWithdrawal); empty: the purpose as a whole.
	Channel   Channel
	Reason    string
	Since     time.Time
	RequestID string
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
	case r.Type == TypeRestriction:
		return restrictionSuppressions(r, plan, since)
	case r.Type == TypePreferences:
		return preferenceSuppressions(r, since)
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
// (re)added to the purpose? ConsentAt is when the person gave the consent
// the CRM holds for a consent-based purpose (zero: none given).
type SuppressionCheck struct {
	Email     string // normalized
	Purpose   string
	ConsentAt time.Time
	// Channel asks for one channel of the purpose (empty: the purpose as
	// a whole).
	Channel Channel
}

// SuppressionCheckInput is a check as the CRM asked it: nil where a field
// is left out.
type SuppressionCheckInput struct {
	Email     *string
	Purpose   *string
	ConsentAt *string
	Channel   *string
}

// ParseSuppressionCheck validates a check against the registry. consentAt
// is an RFC 3339 time, for a purpose whose legal basis is consent only.
func ParseSuppressionCheck(in SuppressionCheckInput, reg Registry) (SuppressionCheck, error) {
	var c SuppressionCheck
	var fields []FieldError
	email, errs := emailField(in.Email)
	c.Email, fields = email, append(fields, errs...)
	var p Purpose
	if in.Purpose == nil {
		fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
	} else {
		var ok bool
		if p, ok = reg.Lookup(*in.Purpose); !ok {
			fields = append(fields, FieldError{Field: "purpose", Reason: "is not a purpose of the registry"})
		}
		c.Purpose = *in.Purpose
	}
	if in.ConsentAt != nil {
		at, err := time.Parse(time.RFC3339, *in.ConsentAt)
		switch {
		case err != nil:
			fields = append(fields, FieldError{Field: "consentAt", Reason: "must be a time in RFC 3339 form, such as 2026-01-31T09:16:00Z"})
		case p.Name != "" && p.Basis() != BasisConsent:
			fields = append(fields, FieldError{Field: "consentAt", Reason: "applies only to a purpose whose legal basis is consent"})
		}
		c.ConsentAt = at.UTC()
	}
	if in.Channel != nil {
		c.Channel = Channel(*in.Channel)
		if p.Name != "" && !p.HasChannel(c.Channel) {
			fields = append(fields, FieldError{Field: "channel", Reason: "is not a channel of the purpose"})
		}
	}
	if len(fields) > 0 {
		return SuppressionCheck{}, Invalid("the suppression check is invalid", fields...)
	}
	return c, nil
}

// SuppressionEffect says what a suppression entry allows for a purpose
// (docs/api.md).
type SuppressionEffect string

// Suppression effects, from the strictest.
const (
	// EffectBlocked: the person may not be (re)added, whatever they do
	// (an objection: Art. 21(3) for direct marketing, an upheld Art. 21(1)
	// objection; an erasure from a purpose on another basis than consent,
	// contract or legal obligation).
	EffectBlocked SuppressionEffect = "blocked"
	// EffectUntilNewConsent: a consent-based purpose after an erasure: the
	// person may be added again only on consent given after since
	// (Art. 7, 17(1)(b)); data from before since stays erased.
	EffectUntilNewConsent SuppressionEffect = "blocked_until_new_consent"
	// EffectNewDataOnly: a contract or legal-obligation purpose after an
	// erasure, or a consent purpose with consent given after since: new
	// transactions (a new purchase and its invoice) are allowed; data from
	// before since is not re-imported (Art. 17(1)).
	EffectNewDataOnly SuppressionEffect = "new_data_only"
)

// SuppressionStatus answers a suppression check (docs/api.md): whether the
// person may not be (re)added to the purpose, the entry that says so
// (reason, since) and its effect.
type SuppressionStatus struct {
	Suppressed bool              `json:"suppressed"`
	Reason     string            `json:"reason,omitempty"`
	Since      *time.Time        `json:"since,omitempty"`
	Effect     SuppressionEffect `json:"effect,omitempty"`
	// Channels are the channels whose consent the person withdrew, given
	// when a check that named no channel is answered suppressed because of
	// them (ask per channel: another may be open).
	Channels []Channel `json:"channels,omitempty"`
}

// effectOf is what entry e allows for purpose p, with the consent the CRM
// holds given at consentAt (zero: none).
func effectOf(e Suppression, p Purpose, consentAt time.Time) SuppressionEffect {
	if e.Reason == SuppressedByRestriction {
		return EffectRestricted // until a DPO lifts it (Art. 18(3))
	}
	if e.Reason == SuppressedByWithdrawal {
		return afterWithdrawal(e, consentAt)
	}
	if e.Reason != SuppressedByErasure {
		return EffectBlocked // an objection stays absolute
	}
	switch p.Basis() {
	case BasisConsent:
		if consentAt.After(e.Since) {
			return EffectNewDataOnly
		}
		return EffectUntilNewConsent
	case BasisContract, BasisLegalObligation:
		return EffectNewDataOnly
	}
	return EffectBlocked
}

// strictness orders the effects: the strictest entry decides.
var strictness = map[SuppressionEffect]int{EffectNewDataOnly: 1, EffectUntilNewConsent: 2, EffectRestricted: 3, EffectBlocked: 4}

// Suppressed decides a check for purpose p from the subject's entries, with
// the consent the CRM holds given at consentAt (zero: none). An entry for
// every purpose (erasure), for p, or for direct marketing when p is direct
// marketing applies; of those, the strictest effect decides (effectOf):
// blocked and blocked_until_new_consent suppress, new_data_only does not
// but says since when data may not be re-imported. Among entries of the
// same effect, the earliest gives the reason and date of a block, the
// latest erasure the date new consent or new data must follow. An entry of
// one channel does not cover the purpose as a whole (SuppressedOn answers
// per channel).
func Suppressed(entries []Suppression, p Purpose, consentAt time.Time) SuppressionStatus {
	var decisive *Suppression
	var effect SuppressionEffect
	for i, e := range entries {
		if e.Channel != "" || e.Scope != ScopeAll && e.Scope != p.Name && (e.Scope != ScopeDirectMarketing || !p.DirectMarketing) && !e.restricts(p) {
			continue
		}
		eff := effectOf(e, p, consentAt)
		switch {
		case decisive == nil || strictness[eff] > strictness[effect]:
		case strictness[eff] < strictness[effect]:
			continue
		case eff == EffectBlocked && !e.Since.Before(decisive.Since),
			eff != EffectBlocked && !e.Since.After(decisive.Since):
			continue
		}
		decisive, effect = &entries[i], eff
	}
	if decisive == nil {
		return SuppressionStatus{Suppressed: false}
	}
	since := decisive.Since.UTC()
	return SuppressionStatus{Suppressed: effect != EffectNewDataOnly, Reason: decisive.Reason, Since: &since, Effect: effect}
}
