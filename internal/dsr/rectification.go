package dsr

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Rectification (Art. 16): a person asks that an attribute the registry
// marks rectifiable be corrected. The DPO confirms or refuses the
// correction, with reasons, after verification; a confirmed correction is
// applied to every item of the subject in every purpose that holds the
// attribute and marks it rectifiable, read back, and sent to the purposes'
// recipients (Art. 19). A purpose that holds the attribute but does not
// mark it rectifiable (an issued invoice) is left unchanged, and the
// certificate says so.

// MaxCorrectedLength bounds a corrected value, in characters.
const MaxCorrectedLength = 500

// MaxEvidenceLength bounds the evidence a person gives, in characters.
const MaxEvidenceLength = 2000

// Correction is what a rectification asks: the attribute, its corrected
// value, the purpose it is limited to ("" for every purpose marking the
// attribute rectifiable) and the person's evidence.
type Correction struct {
	Attribute string
	Corrected string
	Purpose   string
	Evidence  string
}

// Decisions of a DPO on a rectification.
const (
	// RectificationPending: the DPO has not decided yet; nothing is changed.
	RectificationPending = "pending"
	// RectificationConfirmed: the data is inaccurate; the correction is applied.
	RectificationConfirmed = "confirmed"
	// RectificationRefused: the data is accurate (or the correction is not
	// owed); no record is changed, and the person is told why.
	RectificationRefused = "refused"
)

// Rectification is a rectification request's correction and the DPO's
// decision on it, as the request stores them. Corrected is personal data:
// the store removes it with the plain address (AddressNeeded).
type Rectification struct {
	Correction
	Decision string
	// Reasons are the DPO's reasons, told to the person; never in the trail.
	Reasons string
}

// AwaitingRectification reports whether r is a rectification in progress
// that waits for the DPO's decision: its purposes are not worked on before.
func (r *Request) AwaitingRectification() bool {
	return r.Type == TypeRectification && r.Status == StatusInProgress &&
		(r.Rectification == nil || r.Rectification.Decision == RectificationPending)
}

// Rectifies reports whether p marks attr rectifiable.
func (p Purpose) Rectifies(attr string) bool { return slices.Contains(p.Rectifiable, attr) }

// checkRectifiable checks Rectifiable: attribute names of 1 to 255
// characters, each once, never the identifier or the subject key, which
// find the person (a change of address is a new record, not a correction).
func (p Purpose) checkRectifiable() error {
	seen := map[string]bool{}
	for _, a := range p.Rectifiable {
		switch {
		case a == "" || len(a) > 255:
			return errors.New("rectifiable: an attribute name must have 1 to 255 characters")
		case seen[a]:
			return fmt.Errorf("rectifiable: %q is named twice", a)
		case a == p.Identifier || a == p.SubjectKeyAttribute:
			return fmt.Errorf("rectifiable: %q finds the person (identifier or subject key) and cannot be rectified", a)
		}
		seen[a] = true
	}
	return nil
}

// RectifiableAttributes are the attributes some purpose of r marks
// rectifiable, sorted, each once.
func (r Registry) RectifiableAttributes() []string {
	var out []string
	for _, p := range r {
		for _, a := range p.Rectifiable {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// correctionOf is the correction of submission in, adding what is wrong
// with it to bad.
func correctionOf(in SubmissionInput, reg Registry, bad *fieldErrors) *Correction {
	c := &Correction{}
	if in.Purpose != nil {
		if p, ok := reg.Lookup(*in.Purpose); !ok {
			bad.add("purpose", "is not a purpose of the registry: "+strings.Join(reg.Names(), ", "))
		} else {
			c.Purpose = p.Name
		}
	}
	c.Attribute = correctedAttribute(in.Attribute, c.Purpose, reg, bad)
	c.Corrected = correctedValue(in.Corrected, bad)
	if in.Evidence != nil {
		switch {
		case utf8.RuneCountInString(*in.Evidence) > MaxEvidenceLength:
			bad.add("evidence", fmt.Sprintf("is longer than %d characters", MaxEvidenceLength))
		case !utf8.ValidString(*in.Evidence) || strings.ContainsFunc(*in.Evidence, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
			bad.add("evidence", "must be text without control characters")
		}
		c.Evidence = *in.Evidence
	}
	return c
}

// correctedAttribute is attribute a if the registry marks it rectifiable
// in purpose (or, with purpose "", in some purpose).
func correctedAttribute(a *string, purpose string, reg Registry, bad *fieldErrors) string {
	all := reg.RectifiableAttributes()
	switch {
	case a == nil:
		bad.add("attribute", "is required")
	case len(all) == 0:
		bad.add("attribute", "no attribute can be rectified here")
	case !slices.Contains(all, *a):
		bad.add("attribute", "must be one of: "+strings.Join(all, ", "))
	case purpose != "":
		if p, _ := reg.Lookup(purpose); !p.Rectifies(*a) {
			bad.add("attribute", "is not rectifiable in this purpose; rectifiable there: "+cmp.Or(strings.Join(p.Rectifiable, ", "), "none"))
		} else {
			return *a
		}
	default:
		return *a
	}
	return ""
}

// correctedValue is the corrected value v: required, 1 to
// MaxCorrectedLength characters, not blank, valid UTF-8 without control
// characters.
func correctedValue(v *string, bad *fieldErrors) string {
	switch {
	case v == nil:
		bad.add("corrected", "is required")
	case strings.TrimSpace(*v) == "":
		bad.add("corrected", "must not be blank")
	case utf8.RuneCountInString(*v) > MaxCorrectedLength:
		bad.add("corrected", fmt.Sprintf("is longer than %d characters", MaxCorrectedLength))
	case !utf8.ValidString(*v) || strings.ContainsFunc(*v, unicode.IsControl):
		bad.add("corrected", "must be text without control characters")
	default:
		return *v
	}
	return ""
}

// rectificationOf is the correction a submission of type t asks (nil
// unless t is a rectification), adding to bad what is wrong with it and
// the members only a rectification may have, given to another type.
func rectificationOf(t Type, in SubmissionInput, reg Registry, bad *fieldErrors) *Correction {
	switch t {
	case TypeRectification:
		return correctionOf(in, reg, bad)
	case "":
		return nil
	}
	for name, set := range map[string]bool{"attribute": in.Attribute != nil, "corrected": in.Corrected != nil, "purpose": in.Purpose != nil, "evidence": in.Evidence != nil} {
		if set {
			bad.add(name, "is only allowed for rectifications")
		}
	}
	return nil
}

// rectificationPlan are the purposes a rectification looks at: the one it
// names, or every purpose (those that hold the attribute without marking it
// rectifiable are left unchanged, and the certificate says so).
func rectificationPlan(r *Request, reg Registry) ([]string, error) {
	if r.Rectification == nil {
		return nil, fmt.Errorf("plan request %s: a rectification without its correction", r.ID)
	}
	if p := r.Rectification.Purpose; p != "" {
		if _, ok := reg.Lookup(p); !ok {
			return nil, fmt.Errorf("plan request %s: the rectification names no purpose of the registry", r.ID)
		}
		return []string{p}, nil
	}
	return reg.Names(), nil
}

// RectificationDecision is a validated decision of the DPO on a
// rectification.
type RectificationDecision struct {
	Outcome string
	Reasons string
}

// RectificationDecisionInput is a decision as the DPO gave it: nil where a
// field is left out.
type RectificationDecisionInput struct {
	Outcome *string
	Reasons *string
}

// ParseRectificationDecision validates a DPO's decision: an outcome, and
// the reasons, which a refusal needs (Art. 12(4)).
func ParseRectificationDecision(in RectificationDecisionInput) (RectificationDecision, error) {
	var d RectificationDecision
	var bad fieldErrors
	switch {
	case in.Outcome == nil:
		bad.add("outcome", "is required")
	case *in.Outcome != RectificationConfirmed && *in.Outcome != RectificationRefused:
		bad.add("outcome", `must be "confirmed" or "refused"`)
	default:
		d.Outcome = *in.Outcome
	}
	switch {
	case in.Reasons != nil && utf8.RuneCountInString(*in.Reasons) > MaxDetailLength:
		bad.add("reasons", fmt.Sprintf("is longer than %d characters", MaxDetailLength))
	case in.Reasons != nil && strings.TrimSpace(*in.Reasons) != "":
		d.Reasons = *in.Reasons
	case d.Outcome == RectificationRefused:
		bad.add("reasons", "is required: a refusal must tell the person why (Art. 12(4))")
	}
	if len(bad) > 0 {
		return RectificationDecision{}, Invalid("the decision is invalid", bad...)
	}
	return d, nil
}

// RectificationDecidedDetail is the audit detail of a DPO's decision d
// (its reasons go to the person, not into the trail).
func RectificationDecidedDetail(r *Request, d RectificationDecision) string {
	attr := ""
	if r.Rectification != nil {
		attr = r.Rectification.Attribute
	}
	return fmt.Sprintf("rectification of %s %s", attr, d.Outcome)
}

// RectifiedPart is what a rectification did to one purpose's items, read
// back: how many of the subject's items hold the attribute, and of those
// how many hold the corrected value (all of them where the purpose marks
// it rectifiable), and how many the read-back had to correct itself. It
// holds neither the old nor the corrected value.
type RectifiedPart struct {
	Attribute   string `json:"attribute"`
	Rectifiable bool   `json:"rectifiable"`
	Holding     int    `json:"holding"`
	Corrected   int    `json:"corrected"`
	Fixed       int    `json:"fixed"`
}

// AttributeValue is what a read-back of a rectification finds of one of
// the subject's items: its opaque key, whether it holds the attribute, and
// whether that holds the corrected value.
type AttributeValue struct {
	Key     string
	Held    bool
	Matches bool
}

// ActionRectify (rectification only): the purpose's items holding the
// attribute were corrected.
const ActionRectify Action = "rectify"

// PurposeRectification is what a rectification did to one purpose, in
// the certificate: the attribute, never its old or corrected value.
type PurposeRectification struct {
	Attribute   string `json:"attribute"`
	Rectifiable bool   `json:"rectifiable"`
	// ItemsHolding counts the subject's items of the purpose that hold the
	// attribute; ItemsCorrected those now holding the corrected value.
	ItemsHolding   int `json:"itemsHolding"`
	ItemsCorrected int `json:"itemsCorrected"`
}

// rectificationOutcome is what rectification req did to p, from its part.
func rectificationOutcome(req *Request, p Purpose, chunks []Chunk) (PurposeOutcome, error) {
	rc := req.Rectification
	if rc == nil {
		return PurposeOutcome{}, fmt.Errorf("assemble certificate: rectification %s without its correction", req.ID)
	}
	o := PurposeOutcome{Purpose: p.Name, Action: ActionNone,
		Rectification: &PurposeRectification{Attribute: rc.Attribute, Rectifiable: p.Rectifies(rc.Attribute)}}
	if rc.Decision == RectificationRefused {
		o.Reason = "correction refused by the controller: no record was changed (see the decision's reasons)"
		return o, nil
	}
	var part *RectifiedPart
	for _, c := range chunks {
		if c.Rectified != nil {
			part = c.Rectified
			o.StartedAt, o.FinishedAt = c.At.UTC(), c.At.UTC()
		}
	}
	if part == nil {
		return PurposeOutcome{}, fmt.Errorf("assemble certificate: purpose %s has no read-back", p.Name)
	}
	if part.Rectifiable && part.Corrected != part.Holding {
		return PurposeOutcome{}, fmt.Errorf("assemble certificate: purpose %s: %d of %d items not corrected after read-back", p.Name, part.Holding-part.Corrected, part.Holding)
	}
	o.Rectification.ItemsHolding, o.Rectification.ItemsCorrected = part.Holding, part.Corrected
	o.RecordsFound, o.Verified = part.Holding, true
	o.ReadBack = ReadBack{At: o.FinishedAt, Fixed: part.Fixed}
	switch {
	case part.Holding == 0:
		o.Reason = "the purpose holds no " + rc.Attribute + " of the person: nothing to correct"
	case part.Rectifiable:
		o.Action = ActionRectify
		o.Reason = fmt.Sprintf("rectification (Art. 16): %s corrected in %d item(s), read back", rc.Attribute, part.Corrected)
	default:
		o.Reason = fmt.Sprintf("%s is not rectifiable in this purpose (registry): %d item(s) left unchanged. %s", rc.Attribute, part.Holding, p.Retention.In(LangEN))
	}
	return o, nil
}

// CertificateRectification is a rectification's answer in its
// certificate: the attribute, the purpose it was limited to, the DPO's
// decision and, for a refusal, the reasons and what the person may do.
type CertificateRectification struct {
	Attribute string `json:"attribute"`
	Purpose   string `json:"purpose,omitempty"`
	Decision  string `json:"decision"`
	Reasons   string `json:"reasons,omitempty"`
	Remedies  string `json:"remedies,omitempty"`
}

// RestrictionWhileContested tells a person whose correction is refused
// that they may ask for restriction while accuracy is contested.
const RestrictionWhileContested = "While you contest the accuracy of your data, you may ask us to restrict its processing " +
	"for the time we need to verify it (Art. 18(1)(a) GDPR)."

// rectificationAnswer is the certificate's answer to rectification req.
func rectificationAnswer(req *Request) *CertificateRectification {
	rc := req.Rectification
	if req.Type != TypeRectification || rc == nil {
		return nil
	}
	a := &CertificateRectification{Attribute: rc.Attribute, Purpose: rc.Purpose, Decision: rc.Decision}
	if rc.Decision == RectificationRefused {
		a.Reasons, a.Remedies = rc.Reasons, RestrictionWhileContested+" "+Remedies
	}
	return a
}

// rectificationNotices are the Art. 19 notices of rectification r: each
// recipient of a purpose whose items were corrected gets the corrected
// value of the attribute.
func rectificationNotices(r *Request, recipients []Recipient, at time.Time) []RecipientNotice {
	out := make([]RecipientNotice, 0, len(recipients))
	if r.Rectification == nil {
		return out
	}
	for _, rc := range recipients {
		n := RecipientNotice{RequestID: r.ID, Type: r.Type, Email: r.Email, Recipient: rc.Recipient, Country: rc.Country, At: at.UTC(),
			NoticeID: noticeID(r.ID, "", rc)}
		for _, name := range rc.Purposes {
			n.Purposes = append(n.Purposes, NoticePurpose{Purpose: name, Action: ActionRectify,
				Attribute: r.Rectification.Attribute, Corrected: r.Rectification.Corrected})
		}
		out = append(out, n)
	}
	return out
}

// RectificationRefusalMail tells the person that the DPO refused the
// correction, the reasons, that they may ask for restriction while
// accuracy is contested (Art. 18(1)(a)) and complain (Art. 12(4)), in r's
// language. It names the attribute, never a value; its event makes it
// one mail however often the DPO's route is repeated.
func RectificationRefusalMail(r *Request) Mail {
	subject := Text{LangDE: "Ihre Berichtigung: unsere Entscheidung", LangEN: "Your correction: our decision"}
	attr, reasons := "", ""
	if r.Rectification != nil {
		attr, reasons = r.Rectification.Attribute, r.Rectification.Reasons
	}
	return localizedMail(r, EventRectificationRefused, subject, func(b *strings.Builder, l Language) {
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nwir haben Ihre Bitte um Berichtigung (%s) geprüft und werden die Angabe nicht ändern (Art. 16 DSGVO).\n\n", attr)
			fmt.Fprintf(b, "Die Gründe:\n%s\n\n", reasons)
			b.WriteString("Solange Sie die Richtigkeit Ihrer Daten bestreiten, können Sie verlangen, dass wir ihre Verarbeitung für die Dauer der Prüfung einschränken (Art. 18 Abs. 1 lit. a DSGVO).\n")
			b.WriteString("Sie können sich bei einer Aufsichtsbehörde beschweren und einen gerichtlichen Rechtsbehelf einlegen (Art. 12 Abs. 4 DSGVO).\n\n")
			fmt.Fprintf(b, "Anfrage: %s\n", r.ID)
			return
		}
		fmt.Fprintf(b, "Hello,\n\nwe have looked into your request to correct your data (%s) and will not change it (Art. 16 GDPR).\n\n", attr)
		fmt.Fprintf(b, "The reasons:\n%s\n\n", reasons)
		b.WriteString(RestrictionWhileContested + "\n")
		b.WriteString("You may lodge a complaint with a supervisory authority and seek a judicial remedy (Art. 12(4) GDPR).\n\n")
		fmt.Fprintf(b, "Request: %s\n", r.ID)
	})
}

// EventRectificationRefused is the refusal notice's event.
const EventRectificationRefused = "rectification-refused"

// Rectification is the correction s asks, pending the DPO's decision, as
// its request stores it (nil for another type).
func (s Submission) Rectification() *Rectification {
	if s.Correction == nil {
		return nil
	}
	return &Rectification{Correction: *s.Correction, Decision: RectificationPending}
}

// SurveyCorrection sorts what a read-back of attribute attr found: the
// part it makes (items holding attr, and those holding the corrected
// value) and, where the purpose marks attr rectifiable, the items still
// to correct (left).
func SurveyCorrection(items []AttributeValue, attr string, rectifiable bool) (part RectifiedPart, left []string) {
	part = RectifiedPart{Attribute: attr, Rectifiable: rectifiable}
	for _, it := range items {
		if !it.Held {
			continue
		}
		part.Holding++
		switch {
		case it.Matches:
			part.Corrected++
		case rectifiable:
			left = append(left, it.Key)
		}
	}
	return part, left
}

// DPORectification is what a rectification asks, as the DPO's detail shows
// it to decide: the attribute, the corrected value (until the request is
// answered), the purpose it is limited to, the person's evidence and the
// decision.
type DPORectification struct {
	Attribute string `json:"attribute"`
	Corrected string `json:"corrected,omitempty"`
	Purpose   string `json:"purpose,omitempty"`
	Evidence  string `json:"evidence,omitempty"`
	Decision  string `json:"decision"`
}

// dpoRectification is r's correction for the DPO's detail (nil for
// another type).
func (r *Request) dpoRectification() *DPORectification {
	if r.Rectification == nil {
		return nil
	}
	rc := r.Rectification
	return &DPORectification{Attribute: rc.Attribute, Corrected: rc.Corrected, Purpose: rc.Purpose, Evidence: rc.Evidence, Decision: rc.Decision}
}
