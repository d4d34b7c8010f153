package dsr

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// GroupDPO is the group claim a token needs for the DPO routes.
const GroupDPO = "dpo"

// MaskEmail shows an address so that a DPO can tell requests apart without
// reading it: the first character of the local part and of the domain, and
// the top-level domain ("a***@e***.com").
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" {
		return "***"
	}
	tld := ""
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		tld = domain[i:]
	}
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		return string(r)
	}
	return first(local) + "***@" + first(domain) + "***" + tld
}

// DPOView is a request as the DPO dashboard sees it: the subject's view, the
// subject masked, and what the DPO needs to act.
type DPOView struct {
	View
	Subject        string      `json:"subject"`
	ExtendedMonths int         `json:"extendedMonths,omitempty"`
	Extensions     []Extension `json:"extensions,omitempty"`
	FailureReason  string      `json:"failureReason,omitempty"`
	WaitingFor     string      `json:"waitingFor,omitempty"`
	Overdue        bool        `json:"overdue"`
	// AwaitingDecision: an objection that waits for the DPO's decision on a
	// purpose (Art. 21(1)) before it is answered; the decisions are due by
	// DecisionDueAt, the request's due date.
	AwaitingDecision bool       `json:"awaitingDecision,omitempty"`
	DecisionDueAt    *time.Time `json:"decisionDueAt,omitempty"`
	// Purposes is the per-purpose progress (detail only).
	Purposes []PurposeProgress `json:"purposes,omitempty"`
	// Rectification is what a rectification asks, for the DPO to decide
	// (detail only; rectification.go).
	Rectification *DPORectification `json:"rectification,omitempty"`
	// Audit is the newest page of the request's trail, oldest first
	// (detail only), and AuditCursor the cursor of the page before it.
	Audit       []AuditEntry `json:"audit,omitempty"`
	AuditCursor string       `json:"auditCursor,omitempty"`
}

// PurposeProgress is how far a request got with one planned purpose.
type PurposeProgress struct {
	Purpose string `json:"purpose"`
	Done    bool   `json:"done"`
	Chunks  int    `json:"chunks"`
	// Decision is the DPO's decision on an objection to the purpose
	// ("pending" until taken), when one is needed.
	Decision string `json:"decision,omitempty"`
	// DecisionDueAt is when a decision not taken yet is due: within the
	// request's deadline.
	DecisionDueAt *time.Time `json:"decisionDueAt,omitempty"`
}

// DPOView returns the DPO's view of r at now; detail adds the progress.
func (r *Request) DPOView(now time.Time, detail bool) DPOView {
	v := DPOView{
		View: r.View(), Subject: r.Masked(), ExtendedMonths: r.ExtendedMonths, Extensions: r.Extensions, FailureReason: r.FailureReason,
		Overdue: r.Overdue(now),
	}
	if r.Status == StatusQueued {
		v.WaitingFor = r.WaitingFor
	}
	var due *time.Time
	if d := r.DecisionDue(); !d.IsZero() {
		d = d.UTC()
		due = &d
	}
	if r.AwaitingDecision() {
		v.AwaitingDecision, v.DecisionDueAt = true, due
	}
	if detail {
		v.Rectification = r.dpoRectification()
		for _, p := range r.PlannedPurposes {
			chunks, done := r.DoneParts[p]
			pp := PurposeProgress{Purpose: p, Done: done, Chunks: chunks, Decision: r.ObjectionDecisions[p]}
			if d, ok := r.ObjectionDecisions[p]; ok && !DecisionFinal(d) && r.Open() {
				pp.DecisionDueAt = due
			}
			v.Purposes = append(v.Purposes, pp)
		}
	}
	return v
}

// Open reports whether r still awaits an answer (its deadline runs).
func (r *Request) Open() bool { return slices.Contains(OpenStatuses, r.Status) }

// Overdue reports whether r is open and past its due date at now.
func (r *Request) Overdue(now time.Time) bool {
	return r.Open() && !r.DueAt.IsZero() && now.After(r.DueAt)
}

// Rejection reasons of Art. 12(5).
const (
	RejectManifestlyUnfounded = "manifestly_unfounded"
	RejectExcessive           = "excessive"
)

// Rejection is a validated rejection: why a DPO refuses to act.
type Rejection struct {
	Reason string
	Detail string
}

// RejectionInput is a rejection as the DPO gave it: nil where a field is
// left out.
type RejectionInput struct {
	Reason *string
	Detail *string
}

// MaxDetailLength bounds the DPO's free texts (reasons, details), in characters.
const MaxDetailLength = 2000

// requiredDetail reads the DPO's free text field v: required (not blank;
// why says what it is for) and at most MaxDetailLength characters. It
// returns the text, or the field's error.
func requiredDetail(field string, v *string, why string) (string, *FieldError) {
	switch {
	case v == nil || strings.TrimSpace(*v) == "":
		return "", &FieldError{Field: field, Reason: "is required: " + why}
	case utf8.RuneCountInString(*v) > MaxDetailLength:
		return "", &FieldError{Field: field, Reason: fmt.Sprintf("is longer than %d characters", MaxDetailLength)}
	}
	return *v, nil
}

// ParseRejection validates a rejection.
func ParseRejection(in RejectionInput) (Rejection, error) {
	var fields []FieldError
	var rej Rejection
	switch {
	case in.Reason == nil:
		fields = append(fields, FieldError{Field: "reason", Reason: "is required"})
	case *in.Reason != RejectManifestlyUnfounded && *in.Reason != RejectExcessive:
		fields = append(fields, FieldError{Field: "reason", Reason: `must be "manifestly_unfounded" or "excessive" (Art. 12(5))`})
	default:
		rej.Reason = *in.Reason
	}
	var bad *FieldError
	if rej.Detail, bad = requiredDetail("detail", in.Detail, "the person must be told the reasons (Art. 12(4))"); bad != nil {
		fields = append(fields, *bad)
	}
	if len(fields) > 0 {
		return Rejection{}, Invalid("the rejection is invalid", fields...)
	}
	return rej, nil
}

// ExtensionInput is an extension as the DPO asked it: nil where a field is
// left out.
type ExtensionInput struct {
	Months *int
	Reason *string
}

// ParseExtension reads an extension's values; Extend checks them.
func ParseExtension(in ExtensionInput) (months int, reason string, err error) {
	if in.Months == nil {
		return 0, "", Invalid("the extension is invalid", FieldError{Field: "months", Reason: "is required"})
	}
	if in.Reason != nil {
		reason = *in.Reason
	}
	return *in.Months, reason, nil
}

// SupersededPrefix starts the failure reason of an access request failed
// because the subject's erasure deleted its data meanwhile.
const SupersededPrefix = "superseded:"

// ExtensionMail tells the person that the deadline of r is extended to due,
// and why (Art. 12(3)); the date is the deadline's day in loc. Like the
// other notices it links to the status page and holds no personal data; its
// event names the extension by its new due day (each extension moves it).
func ExtensionMail(r *Request, due time.Time, reason string, loc *time.Location, statusPage string) Mail {
	if loc == nil {
		loc = time.UTC
	}
	subject := Text{LangDE: "Ihre Anfrage: Wir brauchen mehr Zeit", LangEN: "Your request: we need more time"}
	return localizedMail(r, eventExtended+"-"+due.UTC().Format("20060102"), subject, func(b *strings.Builder, l Language) {
		day := due.In(loc)
		if l == LangDE {
			months := strings.Fields(reportTexts[LangDE].months)
			fmt.Fprintf(b, "Guten Tag,\n\nIhre Anfrage (%s) braucht mehr Zeit als einen Monat.\n\n", typeWords[r.Type].In(l))
			fmt.Fprintf(b, "Wir beantworten sie spätestens am %d. %s %d (Art. 12 Abs. 3 DSGVO).\n\nDer Grund:\n%s\n\n", day.Day(), months[day.Month()-1], day.Year(), reason)
		} else {
			fmt.Fprintf(b, "Hello,\n\nyour request for %s needs more time than one month.\n\n", typeWords[r.Type].In(l))
			fmt.Fprintf(b, "We will answer it by %s at the latest (Art. 12(3) GDPR).\n\nThe reason:\n%s\n\n", day.Format("2 January 2006"), reason)
		}
		statusPageLines(b, r, statusPage, l)
	})
}

// RejectionMail tells the person that r is refused, why, and what they can
// do (Art. 12(4)), in r's language (localizedMail).
func RejectionMail(r *Request, rej Rejection) Mail {
	why := map[string]Text{RejectManifestlyUnfounded: {LangDE: "offenkundig unbegründet", LangEN: "manifestly unfounded"},
		RejectExcessive: {LangDE: "exzessiv", LangEN: "excessive"}}[rej.Reason]
	subject := Text{LangDE: "Ihre Anfrage: Wir werden nicht taetig", LangEN: "Your request: we will not act on it"}
	return localizedMail(r, EventRejected, subject, func(b *strings.Builder, l Language) {
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nwir werden auf Ihre Anfrage (%s) nicht tätig: Wir halten sie für %s (Art. 12 Abs. 5 DSGVO).\n\n", typeWords[r.Type].In(l), why.In(l))
			fmt.Fprintf(b, "Die Gründe:\n%s\n\n", rej.Detail)
			b.WriteString("Sie können sich bei einer Aufsichtsbehörde beschweren und einen gerichtlichen Rechtsbehelf einlegen (Art. 12 Abs. 4 DSGVO).\n\n")
			fmt.Fprintf(b, "Anfrage: %s\n", r.ID)
			return
		}
		fmt.Fprintf(b, "Hello,\n\nwe will not act on your request for %s: we consider it %s (Art. 12(5) GDPR).\n\n", typeWords[r.Type].In(l), why.In(l))
		fmt.Fprintf(b, "The reasons:\n%s\n\n", rej.Detail)
		b.WriteString("You may lodge a complaint with a supervisory authority and seek a judicial remedy (Art. 12(4) GDPR).\n\n")
		fmt.Fprintf(b, "Request: %s\n", r.ID)
	})
}

// EventRejected is the rejection notice's event (its mail id is
// "<id>-rejected": a request is rejected once).
const EventRejected = "rejected"

// RejectionNotifiedDetail is the person_notified step of a rejection notice.
const RejectionNotifiedDetail = "the person was told by e-mail (" + EventRejected + ") of the reasons and of the right to complain (Art. 12(4))"

// ListQuery filters the DPO list.
type ListQuery struct {
	Statuses []Status // empty: every open status
	// AwaitingDecision narrows the list to objections in progress that
	// wait for a DPO's decision (Request.AwaitingDecision).
	AwaitingDecision bool
	Type             Type      // empty: every type
	DueBefore        time.Time // zero: any due date
	Cursor           string
	Limit            int
}

// MaxListLimit is the largest page of the DPO list.
const MaxListLimit = 100

// ParseListQuery validates the list's query parameters at now: status, type,
// dueBefore (RFC 3339), overdue=true (open and due before now),
// awaitingDecision=true (objections waiting for a DPO's decision), cursor,
// limit (1–100, default 25).
func ParseListQuery(q map[string]string, now time.Time) (ListQuery, error) {
	out := ListQuery{Limit: 25, Cursor: q["cursor"]}
	var fields []FieldError
	bad := func(f, r string) { fields = append(fields, FieldError{Field: f, Reason: r}) }
	if s := q["status"]; s != "" {
		st := Status(s)
		if !slices.Contains(Statuses, st) {
			bad("status", "is not a status")
		}
		out.Statuses = []Status{st}
	}
	switch t := Type(q["type"]); {
	case t == "" || slices.Contains(Types, t):
		out.Type = t
	default:
		bad("type", "must be one of "+typeList())
	}
	if d := q["dueBefore"]; d != "" {
		t, err := time.Parse(time.RFC3339, d)
		if err != nil {
			bad("dueBefore", "must be an RFC 3339 time")
		}
		out.DueBefore = t
	}
	switch q["overdue"] {
	case "", "false":
	case "true":
		out.overdue(now, bad)
	default:
		bad("overdue", `must be "true" or "false"`)
	}
	switch q["awaitingDecision"] {
	case "", "false":
	case "true":
		out.awaitingDecision(bad)
	default:
		bad("awaitingDecision", `must be "true" or "false"`)
	}
	if l := q["limit"]; l != "" {
		out.Limit = listLimit(l, bad)
	}
	if len(out.Statuses) == 0 {
		out.Statuses = OpenStatuses
	}
	if len(fields) > 0 {
		sort.Slice(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
		return ListQuery{}, Invalid("the query is invalid", fields...)
	}
	return out, nil
}

// overdue narrows q to the requests overdue at now: due before now, in an
// open status.
func (q *ListQuery) overdue(now time.Time, bad func(field, reason string)) {
	if q.DueBefore.IsZero() || now.Before(q.DueBefore) {
		q.DueBefore = now
	}
	for _, s := range q.Statuses {
		if !(&Request{Status: s}).Open() {
			bad("overdue", "only open requests can be overdue")
		}
	}
}

// awaitingDecision narrows q to the objections that wait for a DPO's
// decision: they are in progress until every decision is taken.
func (q *ListQuery) awaitingDecision(bad func(field, reason string)) {
	q.AwaitingDecision = true
	switch {
	case len(q.Statuses) == 0:
		q.Statuses = []Status{StatusInProgress}
	case q.Statuses[0] != StatusInProgress:
		bad("awaitingDecision", "only requests in progress await a decision")
	}
	if q.Type != "" && q.Type != TypeObjection && q.Type != TypeRectification {
		bad("awaitingDecision", "only objections and rectifications await a decision")
	}
}

// listLimit is the page size l asks for: 1 to MaxListLimit.
func listLimit(l string, bad func(field, reason string)) int {
	var n int
	if _, err := fmt.Sscanf(l, "%d", &n); err != nil || fmt.Sprint(n) != l || n < 1 || n > MaxListLimit {
		bad("limit", fmt.Sprintf("must be an integer from 1 to %d", MaxListLimit))
	}
	return n
}

// OpenStatuses are the statuses of requests that still await an answer.
var OpenStatuses = []Status{StatusFailed, StatusAwaitingVerification, StatusQueued, StatusInProgress}

// Statuses are all the statuses of a request.
var Statuses = []Status{
	StatusAwaitingVerification, StatusQueued, StatusInProgress, StatusCompleted,
	StatusFailed, StatusRejected, StatusExpired,
}

// Outcomes of a DPO's decision on an objection to a legitimate-interest
// purpose (Art. 21(1)).
const (
	// DecisionUpheld: no compelling legitimate grounds; processing for the
	// purpose ends for good and its records are erased (Art. 17(1)(c)).
	DecisionUpheld = "upheld"
	// DecisionOverridden: compelling legitimate grounds override the
	// person's interests; the restriction is lifted.
	DecisionOverridden = "overridden"
	// applyingSuffix marks a decision taken whose effects are under way.
	applyingSuffix = ":applying"
)

// Applying is the state of a decision whose effects the worker is applying.
func Applying(outcome string) string { return outcome + applyingSuffix }

// Decision is a validated objection decision.
type Decision struct {
	Purpose string
	Outcome string
	Grounds string
}

// DecisionInput is an objection decision as the DPO gave it: nil where a
// field is left out.
type DecisionInput struct {
	Purpose *string
	Outcome *string
	Grounds *string
}

// ParseDecision validates an objection decision.
func ParseDecision(in DecisionInput) (Decision, error) {
	var d Decision
	var fields []FieldError
	if in.Purpose == nil || *in.Purpose == "" {
		fields = append(fields, FieldError{Field: "purpose", Reason: "is required"})
	} else {
		d.Purpose = *in.Purpose
	}
	switch {
	case in.Outcome == nil:
		fields = append(fields, FieldError{Field: "outcome", Reason: "is required"})
	case *in.Outcome != DecisionUpheld && *in.Outcome != DecisionOverridden:
		fields = append(fields, FieldError{Field: "outcome", Reason: `must be "upheld" or "overridden"`})
	default:
		d.Outcome = *in.Outcome
	}
	var bad *FieldError
	if d.Grounds, bad = requiredDetail("grounds", in.Grounds, "the decision must be reasoned (Art. 21(1))"); bad != nil {
		fields = append(fields, *bad)
	}
	if len(fields) > 0 {
		return Decision{}, Invalid("the decision is invalid", fields...)
	}
	return d, nil
}

// DecisionMail tells the person the DPO's decision on their objection to
// purpose p (d.Purpose), named by its title, and the grounds, in r's
// language (localizedMail).
func DecisionMail(r *Request, d Decision, p Purpose) Mail {
	subject := Text{LangDE: "Ihr Widerspruch: unsere Entscheidung", LangEN: "Your objection: our decision"}
	return localizedMail(r, "", subject, func(b *strings.Builder, l Language) {
		name := p.Title.In(l)
		if name == "" {
			name = d.Purpose
		}
		if l == LangDE {
			fmt.Fprintf(b, "Guten Tag,\n\nwir haben über Ihren Widerspruch gegen die Verwendung Ihrer personenbezogenen Daten für den Zweck „%s“ entschieden.\n\n", name)
			if d.Outcome == DecisionUpheld {
				b.WriteString("Ihrem Widerspruch wird stattgegeben: Wir verwenden Ihre Daten nicht mehr für diesen Zweck und löschen sie (Art. 21 Abs. 1, Art. 17 Abs. 1 lit. c DSGVO).\n\n")
			} else {
				b.WriteString("Wir haben zwingende schutzwürdige Gründe, die Ihre Interessen überwiegen; daher verwenden wir Ihre Daten für diesen Zweck weiter (Art. 21 Abs. 1 DSGVO).\n\n")
			}
			fmt.Fprintf(b, "Die Gründe:\n%s\n\nSie können sich bei einer Aufsichtsbehörde beschweren und einen gerichtlichen Rechtsbehelf einlegen.\n\nAnfrage: %s\n", d.Grounds, r.ID)
			return
		}
		fmt.Fprintf(b, "Hello,\n\nwe have decided on your objection to the use of your personal data for the purpose %q.\n\n", name)
		if d.Outcome == DecisionUpheld {
			b.WriteString("Your objection is upheld: we no longer use your data for this purpose, and we erase it (Art. 21(1) and 17(1)(c) GDPR).\n\n")
		} else {
			b.WriteString("We have compelling legitimate grounds that override your interests, so we continue to use your data for this purpose (Art. 21(1) GDPR).\n\n")
		}
		fmt.Fprintf(b, "The grounds:\n%s\n\nYou may lodge a complaint with a supervisory authority and seek a judicial remedy.\n\nRequest: %s\n", d.Grounds, r.ID)
	})
}
