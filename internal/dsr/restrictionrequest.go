package dsr

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A restriction request (Art. 18): the person asks that their data be kept
// but no longer used, on one of the grounds of Art. 18(1), for every purpose
// or those named. The worker marks the subject's items of those purposes
// restricted with the ground, the suppression check answers "restricted"
// for them, and the request is answered with a certificate. The restriction
// holds after the answer, per purpose, until a DPO lifts it; the person is
// told before (Art. 18(3)), and so are the recipients, after (Art. 19).
// The request keeps its plain address while a restriction holds: the notice
// before the lifting needs it (AddressNeeded).

// Grounds of a restriction, Art. 18(1)(a)-(d), as the request names them
// and the items' restriction marks store them.
const (
	GroundAccuracyContested = "accuracy_contested" // (a) until the accuracy is verified
	GroundUnlawful          = "unlawful"           // (b) unlawful, the person opposes erasure
	GroundNoLongerNeeded    = "no_longer_needed"   // (c) needed by the person for legal claims
	GroundObjectionPending  = RestrictionObjection // (d) an objection awaits the controller's decision
)

// restrictionGrounds says what each ground is, for the certificate and the
// notices.
var restrictionGrounds = map[string]Text{
	GroundAccuracyContested: {LangDE: "Art. 18 Abs. 1 lit. a DSGVO: Sie bestreiten die Richtigkeit der Daten, bis sie überprüft ist",
		LangEN: "Art. 18(1)(a): the accuracy of the data is contested, until it is verified"},
	GroundUnlawful: {LangDE: "Art. 18 Abs. 1 lit. b DSGVO: die Verarbeitung ist unrechtmäßig, und Sie lehnen die Löschung ab",
		LangEN: "Art. 18(1)(b): the processing is unlawful and the person opposes erasure"},
	GroundNoLongerNeeded: {LangDE: "Art. 18 Abs. 1 lit. c DSGVO: wir benötigen die Daten nicht mehr, Sie aber zur Geltendmachung von Rechtsansprüchen",
		LangEN: "Art. 18(1)(c): the controller no longer needs the data, the person needs it for legal claims"},
	GroundObjectionPending: {LangDE: "Art. 18 Abs. 1 lit. d DSGVO: Sie haben Widerspruch eingelegt, bis feststeht, ob unsere Gründe überwiegen",
		LangEN: "Art. 18(1)(d): the person has objected, pending the verification whether the controller's grounds override theirs"},
}

// GroundNames are the grounds of Art. 18(1), in the order of its letters.
var GroundNames = []string{GroundAccuracyContested, GroundUnlawful, GroundNoLongerNeeded, GroundObjectionPending}

// MaxReasonLength is the longest reason a restriction request may give,
// in characters (as an objection's grounds).
const MaxReasonLength = MaxGroundsLength

// restrictionOf is what a restriction request restricts (the purposes
// named, or every purpose: none) on which ground, and the person's reason,
// adding what is wrong with them to bad.
func restrictionOf(in SubmissionInput, reg Registry, bad *fieldErrors) (ground string, purposes []string, reason string) {
	switch {
	case in.Ground == nil:
		bad.add("ground", `is required: one of "`+strings.Join(GroundNames, `", "`)+`" (Art. 18(1)(a)-(d))`)
	case !slices.Contains(GroundNames, *in.Ground):
		bad.add("ground", `must be one of "`+strings.Join(GroundNames, `", "`)+`" (Art. 18(1)(a)-(d))`)
	default:
		ground = *in.Ground
	}
	if in.Scope != nil {
		bad.add("scope", "is only allowed for objections")
	}
	if in.Grounds != nil {
		bad.add("grounds", `is only allowed for objections; a restriction's explanation is "reason"`)
	}
	if in.Purposes != nil {
		purposes = objectedPurposes(*in.Purposes, reg, bad)
	}
	if in.Reason != nil {
		if utf8.RuneCountInString(*in.Reason) > MaxReasonLength {
			bad.add("reason", fmt.Sprintf("is longer than %d characters", MaxReasonLength))
		}
		reason = *in.Reason
	}
	return ground, purposes, reason
}

// restrictionFieldsOnly adds to bad the restriction's own fields given to
// a request of another type.
func restrictionFieldsOnly(in SubmissionInput, bad *fieldErrors) {
	for name, set := range map[string]bool{"ground": in.Ground != nil, "reason": in.Reason != nil} {
		if set {
			bad.add(name, "is only allowed for restrictions")
		}
	}
}

// restrictionPlan is what restriction r restricts: the purposes it names,
// in registry order, or every purpose.
func restrictionPlan(r *Request, reg Registry) []string {
	if len(r.Purposes) == 0 {
		return reg.Names()
	}
	var plan []string
	for _, p := range reg {
		if slices.Contains(r.Purposes, p.Name) {
			plan = append(plan, p.Name)
		}
	}
	return plan
}

// SuppressedByRestriction is the reason of the suppression entries of a
// restriction request (docs/api.md).
const SuppressedByRestriction = "restriction"

// EffectRestricted: the person's data of the purpose is restricted
// (Art. 18): it is kept, but neither used nor added to until a DPO lifts
// the restriction.
const EffectRestricted SuppressionEffect = "restricted"

// RestrictionScope is the scope of the suppression entry restriction
// request id adds for purpose: its own, so that neither an objection to
// the purpose nor another restriction of it shares (and, lifted, removes)
// the entry.
func RestrictionScope(purpose, id string) string {
	return SuppressedByRestriction + ":" + purpose + ":" + id
}

// restricts reports whether e is a restriction's entry for p.
func (e Suppression) restricts(p Purpose) bool {
	return e.Reason == SuppressedByRestriction && strings.HasPrefix(e.Scope, SuppressedByRestriction+":"+p.Name+":")
}

// restrictionSuppressions are the entries restriction r adds, one per
// purpose of plan (the restricted purposes where processing can stop: a
// purpose of a legal obligation keeps taking new data, such as a new
// invoice, while its existing records stay restricted).
func restrictionSuppressions(r *Request, plan []string, since time.Time) []Suppression {
	out := make([]Suppression, 0, len(plan))
	for _, p := range plan {
		out = append(out, Suppression{SubjectKey: r.SubjectKey, Scope: RestrictionScope(p, r.ID), Reason: SuppressedByRestriction, Since: since, RequestID: r.ID})
	}
	return out
}

// States of a restriction request's purposes once it is answered, as the
// request's ObjectionDecisions hold them (the DPO's decisions of both
// kinds): held until a DPO lifts it, Applying(DecisionLifted) while the
// worker lifts it, then lifted.
const (
	RestrictionHeld = "restricted"
	DecisionLifted  = "lifted"
)

// HeldRestrictions are the states restriction r stores when it is
// answered: every planned purpose restricted; nil for other requests.
func HeldRestrictions(r *Request) map[string]string {
	if r.Type != TypeRestriction {
		return nil
	}
	held := make(map[string]string, len(r.PlannedPurposes))
	for _, p := range r.PlannedPurposes {
		held[p] = RestrictionHeld
	}
	return held
}

// restrictionOutcome sets o, a purpose of restriction req, to the n items
// restricted on req's ground.
func (o *PurposeOutcome) restrictionOutcome(req *Request, n int) {
	o.ItemsRestricted, o.Ground = n, req.Ground
	o.Reason = "restriction (" + restrictionGrounds[req.Ground].In(LangEN) + "); the records are kept and not otherwise used until the restriction is lifted, which the person is told of before (Art. 18(2), (3))"
}

// RestrictionTerms are what a restriction certificate states besides the
// purposes: the ground, and the person's right to be told before it is
// lifted.
type RestrictionTerms struct {
	Ground      string `json:"ground"`
	GroundText  string `json:"groundText"`
	BeforeLifts string `json:"beforeLifting"`
}

// restrictionTerms are the terms of restriction req, in its language.
func restrictionTerms(req *Request) *RestrictionTerms {
	if req.Type != TypeRestriction {
		return nil
	}
	l := req.Language
	before := Text{LangDE: "Sie werden unterrichtet, bevor die Einschränkung aufgehoben wird (Art. 18 Abs. 3 DSGVO).",
		LangEN: "You will be told before the restriction is lifted (Art. 18(3))."}
	return &RestrictionTerms{Ground: req.Ground, GroundText: restrictionGrounds[req.Ground].In(l), BeforeLifts: before.In(l)}
}

// LiftInput is the body of a DPO's lifting of a restriction, as decoded
// (nil: absent).
type LiftInput struct {
	Purpose *string
	Reason  *string
}

// Lift is a DPO's lifting of restriction request's restriction of Purpose,
// for Reason (e.g. the accuracy verified), which the person is told.
type Lift struct {
	Purpose string
	Reason  string
}

// ParseLift checks a lifting: a purpose and a reason. Whether the request
// holds a restriction of the purpose is the route's to check.
func ParseLift(in LiftInput) (Lift, error) {
	var x Lift
	var fields []FieldError
	if in.Purpose == nil || *in.Purpose == "" {
		fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
	} else {
		x.Purpose = *in.Purpose
	}
	var bad *FieldError
	if x.Reason, bad = requiredDetail("reason", in.Reason, "the person is told why the restriction is lifted (Art. 18(3))"); bad != nil {
		fields = append(fields, *bad)
	}
	if len(fields) > 0 {
		return Lift{}, Invalid("the lifting is invalid", fields...)
	}
	return x, nil
}

// CheckLift reports why purpose may not be lifted from r now: r must be an
// answered restriction holding purpose restricted.
func CheckLift(r *Request, purpose string) error {
	state, ok := r.ObjectionDecisions[purpose]
	switch {
	case r.Type != TypeRestriction || r.Status != StatusCompleted:
		return Errorf(EConflict, "only an answered restriction request has restrictions to lift; this is a %s %s request", r.Status, r.Type)
	case !ok:
		return Invalid("the lifting is invalid", FieldError{Field: "purpose", Reason: "is not restricted by this request"})
	case state != RestrictionHeld:
		return Errorf(EConflict, "the restriction of %s is not held any more: %s", purpose, state)
	}
	return nil
}

// LiftMail tells the person, before it happens (Art. 18(3)), that the
// restriction of purpose p is lifted, and why, in r's language. Its event
// names the purpose: the outbox writes it once however often it is sent.
func LiftMail(r *Request, x Lift, p Purpose) Mail {
	subject := Text{LangDE: "Ihre Einschränkung wird aufgehoben", LangEN: "Your restriction will be lifted"}
	return localizedMail(r, "lifting-"+x.Purpose, subject, func(b *strings.Builder, l Language) {
		name := p.Title.In(l)
		if name == "" {
			name = x.Purpose
		}
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nauf Ihren Antrag haben wir die Verarbeitung Ihrer personenbezogenen Daten für den Zweck „%s“ eingeschränkt. ", name)
			b.WriteString("Wir teilen Ihnen mit, bevor es geschieht, dass diese Einschränkung aufgehoben wird (Art. 18 Abs. 3 DSGVO).\n\n")
			fmt.Fprintf(b, "Die Gründe:\n%s\n\nSie können sich bei einer Aufsichtsbehörde beschweren und einen gerichtlichen Rechtsbehelf einlegen.\n\nAnfrage: %s\n", x.Reason, r.ID)
			return
		}
		fmt.Fprintf(b, "Hello,\n\nat your request we restricted the processing of your personal data for the purpose %q. ", name)
		b.WriteString("We tell you, before it happens, that this restriction will be lifted (Art. 18(3) GDPR).\n\n")
		fmt.Fprintf(b, "The grounds:\n%s\n\nYou may lodge a complaint with a supervisory authority and seek a judicial remedy.\n\nRequest: %s\n", x.Reason, r.ID)
	})
}

// LiftDecidedStep is the trail's step of a DPO's lifting of purpose, the
// notice to the person accepted (the reason goes to the person, not into
// the trail: a DPO's free text may name people).
func LiftDecidedStep(actor, purpose string, mail Mail, at time.Time) Step {
	return Step{Actor: actor, Action: AuditRestrictionLiftDecided, At: at,
		Detail: fmt.Sprintf("purpose %s: lifting decided; the person was told first (Art. 18(3), %s)", purpose, mail.Event)}
}

// ActionLift is what a notice says was done to a purpose whose
// restriction is lifted (never a registry's action).
const ActionLift Action = "lift"

// LiftedNotices are the notices of the lifting of restriction r's purpose
// to the recipients of that purpose (r's result), told at the answer that
// the data was restricted (Art. 19).
func LiftedNotices(r *Request, purpose string, at time.Time) []RecipientNotice {
	if r.Result == nil {
		return nil
	}
	var out []RecipientNotice
	for _, rc := range r.Result.Recipients {
		if !slices.Contains(rc.Purposes, purpose) {
			continue
		}
		out = append(out, RecipientNotice{
			NoticeID: noticeID(r.ID, "lifted:"+purpose, rc), RefersTo: noticeID(r.ID, "", rc), RequestID: r.ID, Type: r.Type, Email: r.Email,
			Recipient: rc.Recipient, Country: rc.Country, Purposes: []NoticePurpose{{Purpose: purpose, Action: ActionLift}}, At: at.UTC(),
		})
	}
	return out
}

// LiftedDetail is the detail of the worker's step that records the
// restriction of purpose lifted, with notices recipients told.
func LiftedDetail(purpose string, notices int) string {
	detail := fmt.Sprintf("purpose %s: restriction lifted (Art. 18(3))", purpose)
	if notices > 0 {
		detail += fmt.Sprintf("; %d recipient(s) told (Art. 19)", notices)
	}
	return detail
}

// Audit actions of a restriction's lifting.
const (
	// AuditRestrictionLiftDecided: a DPO lifted a restriction, the person
	// told first.
	AuditRestrictionLiftDecided AuditAction = "restriction_lift_decided"
	// AuditRestrictionLifted: the worker lifted the items' restriction.
	AuditRestrictionLifted AuditAction = "restriction_lifted"
)
