package dsr

import (
	"fmt"
	"sort"
	"time"
)

// ActionFor returns what a request of type t does to p's records: the
// registry's erasure or objection action. Access reads and changes nothing.
func (p Purpose) ActionFor(t Type) (Action, error) {
	switch t {
	case TypeErasure:
		return p.Erasure, nil
	case TypeObjection:
		if p.Objection == ActionNone {
			return "", fmt.Errorf("purpose %s cannot be objected to", p.Name)
		}
		return p.Objection, nil
	case TypeRestriction:
		return ActionRestrict, nil
	default:
		return "", fmt.Errorf("purpose %s: a %s request changes no records", p.Name, t)
	}
}

// RestrictedUntil is the day from which p's records restricted at now under
// its statutory retention duty become deletable at the latest: the duty runs
// retentionYears from the end of a record's calendar year, and every record
// restricted now dates from this year or before, so the first day after this
// year plus retentionYears is late enough for all of them.
func (p Purpose) RestrictedUntil(now time.Time) time.Time {
	return time.Date(now.UTC().Year()+p.RetentionYears+1, time.January, 1, 0, 0, 0, 0, time.UTC)
}

// DeletableFrom is the day from which a record of p dated date (its
// RetentionFrom attribute: an ISO date, or an RFC 3339 time) may be deleted:
// 1 January after its calendar year plus retentionYears. It reports false if
// date is not a date.
func (p Purpose) DeletableFrom(date string) (time.Time, bool) {
	if len(date) < len("2006-01-02") {
		return time.Time{}, false
	}
	d, err := time.Parse("2006-01-02", date[:10])
	if err != nil || (len(date) > 10 && date[10] != 'T' && date[10] != 't') {
		return time.Time{}, false
	}
	return p.RestrictedUntil(d), true
}

// clockStart is when the request was verified (or received, if it never was):
// the one time every chunk of every purpose agrees on.
func (r *Request) clockStart() time.Time {
	if r.VerifiedAt.IsZero() {
		return r.ReceivedAt
	}
	return r.VerifiedAt
}

// Restriction reasons, as stored on restricted items and in certificates.
const (
	RestrictionStatutory = "statutory_retention" // Art. 17(3)(b): kept for a legal duty only
	RestrictionObjection = "objection_pending"   // Art. 18(1)(d): until the DPO decides
)

// Restriction marks an item that no processing but the stated one may use.
type Restriction struct {
	Reason    string
	RequestID string
	Since     time.Time
	Until     time.Time // zero: until a decision
	// Overrides says whether the mark replaces an existing one: a statutory
	// restriction after erasure does; a pending objection does not.
	Overrides bool
}

// ItemUntil is the day the restriction r of an item of p ends: for a
// statutory restriction of an item dated date (its RetentionFrom attribute;
// "" for none or unreadable) the day its own duty ends, else r's Until; an
// earlier restriction's end (current, zero for none) later than that stands,
// as the DPO may have extended it (a tax assessment still open).
func (r Restriction) ItemUntil(p Purpose, date string, current time.Time) time.Time {
	until := r.Until
	if d, ok := p.DeletableFrom(date); ok && r.Reason == RestrictionStatutory {
		until = d
	}
	if r.Reason == RestrictionStatutory && current.After(until) {
		return current
	}
	return until
}

// PastDuty reports whether an item whose statutory duty ends at until is no
// longer under it when restriction r is put on it: Art. 17(3)(b) no longer
// applies, so the item is deleted (Art. 17(1)) rather than restricted.
func (r Restriction) PastDuty(until time.Time) bool {
	return r.Reason == RestrictionStatutory && !until.IsZero() && !until.After(r.Since)
}

// RestrictionFor returns the restriction request r puts on p's records at now.
func RestrictionFor(r *Request, p Purpose, now time.Time) Restriction {
	if r.Type == TypeErasure {
		return Restriction{Reason: RestrictionStatutory, RequestID: r.ID, Since: now, Until: p.RestrictedUntil(r.clockStart()), Overrides: true}
	}
	if r.Type == TypeRestriction {
		return Restriction{Reason: r.Ground, RequestID: r.ID, Since: now}
	}
	return Restriction{Reason: RestrictionObjection, RequestID: r.ID, Since: now}
}

// ReadBack is what reading a purpose's table back after erasure or objection
// found: the subject's items still present and unrestricted (must be none),
// those present and restricted, and those the read-back had to delete or
// restrict itself (added by the CRM meanwhile, or missed by a lagging index).
type ReadBack struct {
	At           time.Time `json:"at"`
	Unrestricted int       `json:"unrestricted"`
	Restricted   int       `json:"restricted"`
	Fixed        int       `json:"fixed"`
	FixedKeys    []string  `json:"fixedKeys,omitempty"`
	// The earliest and latest dates the restricted items found become
	// deletable, as their marks say (zero: none has a date).
	FirstDeletable time.Time `json:"firstDeletable,omitzero"`
	LastDeletable  time.Time `json:"lastDeletable,omitzero"`
}

// ItemRef is one of a subject's items found by a read-back: its opaque key,
// whether it is restricted, and until when (zero: no date).
type ItemRef struct {
	Key        string
	Restricted bool
	Until      time.Time
}

// Certificate is the certificate of an erasure or objection: what was done to
// each purpose, what remains elsewhere, without personal data.
type Certificate struct {
	RequestID  string     `json:"requestId"`
	Type       Type       `json:"type"`
	IssuedAt   time.Time  `json:"issuedAt"`
	ReceivedAt time.Time  `json:"receivedAt"`
	VerifiedAt time.Time  `json:"verifiedAt,omitzero"`
	Controller Controller `json:"controller"`
	// Searched says which records were searched (SearchedForVerified).
	Searched string `json:"searched"`
	// Scope is the objection's scope ("direct_marketing") when it has one.
	Scope    string                `json:"scope,omitempty"`
	Purposes []PurposeOutcome      `json:"purposes"`
	Suppress CertificateSuppressed `json:"suppression"`
	// EarlierReportsDeleted counts the subject's earlier access reports
	// deleted from storage (erasure only).
	EarlierReportsDeleted int `json:"earlierReportsDeleted"`
	// CopiesElsewhere lists the copies that still exist outside the live
	// tables (backups, object versions) and until when.
	CopiesElsewhere []Copy `json:"copiesElsewhere"`
	// Recipients are those the data was disclosed to, to be told (Art. 19).
	Recipients []Recipient `json:"recipients"`
	// Rectification answers a rectification: the DPO's decision.
	Rectification *CertificateRectification `json:"rectification,omitempty"`
	// Restriction is a restriction request's ground and the person's
	// right to be told before it is lifted (Art. 18(3)).
	Restriction *RestrictionTerms `json:"restriction,omitempty"`
}

// CertificateSuppressed says which purposes the person may not be re-added
// to, and since when.
type CertificateSuppressed struct {
	Purposes []string  `json:"purposes"` // "*": every purpose
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
}

// PurposeOutcome is what an erasure or objection did to one purpose.
type PurposeOutcome struct {
	Purpose string `json:"purpose"`
	Action  Action `json:"action"`
	Reason  string `json:"reason"`
	// RecordsFound counts the subject's records the purpose's table held:
	// ItemsDeleted and ItemsRestricted together.
	RecordsFound    int `json:"recordsFound"`
	ItemsDeleted    int `json:"itemsDeleted"`
	ItemsRestricted int `json:"itemsRestricted"`
	// RestrictedUntil is the latest date a restricted item becomes
	// deletable, FirstDeletableAt the earliest (items dated by the
	// registry's retentionFrom become deletable year by year).
	RestrictedUntil  *time.Time `json:"restrictedUntil,omitempty"`
	FirstDeletableAt *time.Time `json:"firstDeletableAt,omitempty"`
	DecisionPending  bool       `json:"decisionPending"`
	// Decision is the DPO's decision on an objection to a purpose of
	// legitimate interests (upheld or overridden), taken before the
	// request is answered.
	Decision string `json:"decision,omitempty"`
	// Ground is a restriction request's ground of Art. 18(1), which the
	// purpose's items are marked with.
	Ground     string    `json:"ground,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	ReadBack   ReadBack  `json:"readBack"`
	Verified   bool      `json:"verified"`
	// Refusal answers an objection to a purpose where Art. 21 does not
	// apply (action "none"): no record is changed, and the person is told
	// why and what they can do (Art. 12(4)).
	Refusal *Refusal `json:"refusal,omitempty"`
	// Rectification is what a rectification did to the purpose.
	Rectification *PurposeRectification `json:"rectification,omitempty"`
}

// Copy is a copy of deleted data that still exists elsewhere for a while.
type Copy struct {
	Kind     string     `json:"kind"` // "point_in_time_recovery" | "object_versions"
	Resource string     `json:"resource"`
	Detail   string     `json:"detail"`
	Until    *time.Time `json:"until,omitempty"`
}

// CertificateInput is what the certificate is made of besides the parts.
type CertificateInput struct {
	Controller            Controller
	Copies                []Copy
	Recipients            []Recipient
	EarlierReportsDeleted int
	IssuedAt              time.Time
}

// AssembleCertificate builds the certificate of request req from the parts
// of its planned purposes. Keys are counted once however many chunks name
// them, so a redelivered task never counts twice; a purpose without its
// read-back, or whose read-back found items left, is an error.
func AssembleCertificate(req *Request, reg Registry, parts []Chunk, in CertificateInput) (*Certificate, error) {
	byPurpose := map[string][]Chunk{}
	for _, p := range parts {
		if p.RequestID != req.ID {
			return nil, fmt.Errorf("assemble certificate: part of another request")
		}
		byPurpose[p.Purpose] = append(byPurpose[p.Purpose], p)
	}
	c := &Certificate{
		RequestID: req.ID, Type: req.Type, IssuedAt: in.IssuedAt.UTC(), ReceivedAt: req.ReceivedAt.UTC(),
		VerifiedAt: req.VerifiedAt.UTC(), Controller: in.Controller, Searched: SearchedForVerified, Scope: req.Scope,
		Purposes: []PurposeOutcome{}, EarlierReportsDeleted: in.EarlierReportsDeleted,
		CopiesElsewhere: nonNil(in.Copies), Recipients: nonNil(in.Recipients), Rectification: rectificationAnswer(req),
		Restriction: restrictionTerms(req),
	}
	for _, s := range SuppressionsFor(req, reg.Objectable(req.PlannedPurposes), req.VerifiedAt) {
		c.Suppress.Purposes = append(c.Suppress.Purposes, s.Scope)
		c.Suppress.Reason, c.Suppress.Since = s.Reason, s.Since.UTC()
	}
	c.Suppress.Purposes = nonNil(c.Suppress.Purposes)
	for _, name := range req.PlannedPurposes {
		p, ok := reg.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("assemble certificate: unknown purpose %q", name)
		}
		o, err := outcome(req, p, byPurpose[name])
		if err != nil {
			return nil, err
		}
		o.RecordsFound = o.ItemsDeleted + o.ItemsRestricted
		c.Purposes = append(c.Purposes, o)
	}
	return c, nil
}

func outcome(req *Request, p Purpose, chunks []Chunk) (PurposeOutcome, error) {
	if req.Type == TypeRectification {
		return rectificationOutcome(req, p, chunks)
	}
	if req.Type == TypeObjection && p.Refused() {
		refusal := RefusalFor(p)
		return PurposeOutcome{Purpose: p.Name, Action: ActionNone, Refusal: &refusal,
			Reason: "objection refused: Art. 21 does not apply to this purpose (" + p.LegalBasis + ")"}, nil
	}
	action, err := p.ActionFor(req.Type)
	if err != nil {
		return PurposeOutcome{}, err
	}
	sort.Slice(chunks, func(i, j int) bool { return chunks[i].Index < chunks[j].Index })
	if len(chunks) == 0 || chunks[len(chunks)-1].ReadBack == nil {
		return PurposeOutcome{}, fmt.Errorf("assemble certificate: purpose %s has no read-back", p.Name)
	}
	last := chunks[len(chunks)-1]
	rb := *last.ReadBack
	if rb.Unrestricted > 0 {
		return PurposeOutcome{}, fmt.Errorf("assemble certificate: purpose %s: %d items left after read-back", p.Name, rb.Unrestricted)
	}
	o := PurposeOutcome{
		Purpose: p.Name, Action: action, StartedAt: chunks[0].At.UTC(), FinishedAt: rb.At.UTC(),
		ReadBack: ReadBack{At: rb.At.UTC(), Unrestricted: rb.Unrestricted, Restricted: rb.Restricted, Fixed: rb.Fixed},
		Verified: rb.Unrestricted == 0,
	}
	o.setItems(req, p, rb, distinctKeys(chunks, rb))
	return o, nil
}

// distinctKeys counts the items the chunks and the read-back name, each
// once however many chunks name it.
func distinctKeys(chunks []Chunk, rb ReadBack) int {
	keys := map[string]bool{}
	for _, ch := range chunks {
		for _, k := range ch.Keys {
			keys[k] = true
		}
	}
	for _, k := range rb.FixedKeys {
		keys[k] = true
	}
	return len(keys)
}

// setItems sets the n items o's action deleted or restricted, why, and
// until when a restriction lasts.
func (o *PurposeOutcome) setItems(req *Request, p Purpose, rb ReadBack, n int) {
	switch {
	case o.Action == ActionDelete && req.Type == TypeErasure:
		o.ItemsDeleted, o.Reason = n, "erasure (Art. 17(1))"
	case o.Action == ActionDelete:
		o.ItemsDeleted, o.Reason = n, "objection (Art. 21)"
		if p.DirectMarketing {
			o.Reason = "objection to direct marketing (Art. 21(2), (3))"
		}
	case req.Type == TypeRestriction:
		o.restrictionOutcome(req, n)
	case req.Type == TypeErasure:
		// What the read-back found restricted is kept under the duty; the
		// others were deleted, their duty having ended (Art. 17(1)).
		o.ItemsRestricted = min(rb.Restricted, n)
		o.ItemsDeleted = n - o.ItemsRestricted
		o.Reason = "statutory retention duty (Art. 17(3)(b)): " + p.Retention.In(LangEN)
		if o.ItemsDeleted > 0 {
			o.Reason += fmt.Sprintf(" Deleted: %d item(s) whose duty had ended (Art. 17(1)).", o.ItemsDeleted)
		}
		if o.ItemsRestricted == 0 {
			return
		}
		first, last := rb.FirstDeletable.UTC(), rb.LastDeletable.UTC()
		if rb.LastDeletable.IsZero() {
			first = p.RestrictedUntil(req.clockStart())
			last = first
		}
		o.RestrictedUntil, o.FirstDeletableAt = &last, &first
	default:
		o.ItemsRestricted, o.DecisionPending = n, true
		o.Reason = "objection (Art. 21(1)); restricted until the controller decides on compelling grounds (Art. 18(1)(d))"
		if d := req.ObjectionDecisions[p.Name]; DecisionFinal(d) {
			o.DecisionPending = false
			o.decidedOutcome(d, n)
		}
	}
}

// PendingObjections returns the purposes of an objection whose restriction
// awaits the DPO's decision, as the request stores them.
func PendingObjections(req *Request, reg Registry) map[string]string {
	if req.Type != TypeObjection {
		return nil
	}
	pending := map[string]string{}
	for _, name := range req.PlannedPurposes {
		if p, ok := reg.Lookup(name); ok && p.Objection == ActionRestrict {
			pending[name] = DecisionPending
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return pending
}

// DecisionPending is the state of an objection decision not yet taken.
const DecisionPending = "pending"

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
