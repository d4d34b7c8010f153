package dsr

import (
	"strings"
	"time"
)

// Type is the kind of a data-subject request.
type Type string

// Request types of docs/api.md.
const (
	TypeAccess    Type = "access"    // Art. 15
	TypeErasure   Type = "erasure"   // Art. 17
	TypeObjection Type = "objection" // Art. 21
	// TypeRectification corrects an attribute (Art. 16): see rectification.go.
	TypeRectification Type = "rectification"
	// TypeRestriction asks that data be kept but not used (Art. 18).
	TypeRestriction Type = "restriction"
	// TypePortability (Art. 20): portability.go.
	// TypePreferences withdraws or keeps consent per purpose and channel
	// and sets frequencies (Art. 7(3), 21(2)): preferences.go.
	TypePreferences Type = "preferences"
)

// Types are the request types, in the order of docs/api.md.
var Types = []Type{TypeAccess, TypeErasure, TypeObjection, TypeRectification, TypeRestriction, TypePortability, TypePreferences}

// typeList names Types as the contract writes them: "access", "erasure", …
func typeList() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = `"` + string(t) + `"`
	}
	return strings.Join(names, ", ")
}

// Status is where a request stands. A request never moves backwards.
type Status string

// Statuses of docs/api.md.
const (
	StatusAwaitingVerification Status = "awaiting_verification"
	StatusQueued               Status = "queued"
	StatusInProgress           Status = "in_progress"
	StatusCompleted            Status = "completed"
	StatusFailed               Status = "failed"
	StatusRejected             Status = "rejected"
	StatusExpired              Status = "expired"
)

var transitions = map[Status][]Status{
	StatusAwaitingVerification: {StatusQueued, StatusExpired, StatusRejected},
	StatusQueued:               {StatusInProgress, StatusFailed, StatusRejected},
	StatusInProgress:           {StatusCompleted, StatusFailed},
	// A DPO retries a failed request (docs/api.md): it is queued again.
	StatusFailed: {StatusQueued},
}

// CanMoveTo reports whether a request in status s may move to next.
func (s Status) CanMoveTo(next Status) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// Final reports whether no transition leaves s.
func (s Status) Final() bool { return len(transitions[s]) == 0 }

// Request is a data-subject request as stored. Secrets are held only as
// hashes; Email is the normalized address, needed to find the person's data,
// and removed once the request no longer needs it (AddressNeeded).
type Request struct {
	ID     string
	Type   Type
	Status Status
	Email  string
	// MaskedEmail is Email masked (MaskEmail), which stays when Email is
	// removed (empty for a request stored before it was kept: see Masked).
	MaskedEmail string
	// SubjectKey is the keyed hash of Email: the key of the suppression list
	// and of the requests' subject index.
	SubjectKey string
	Scope      string   // objection: "direct_marketing", or empty
	Purposes   []string // objection: the purposes objected to
	// Rectification (rectification only): the correction asked and the
	// DPO's decision on it.
	Rectification *Rectification
	Grounds       string // objection: the person's grounds; restriction: their reason
	// Ground is a restriction's ground of Art. 18(1) (GroundNames).
	Ground string
	// Format (portability): the export format the view links to, "json"
	// or "csv"; TransmitTo: the receiving controller's endpoint, or empty.
	Format     string
	TransmitTo string
	// Preferences are a preferences request's changes.
	Preferences []PreferenceChange
	// OneClick marks a preferences request made by a one-click
	// unsubscribe (unsubscribe.go): it holds no address, only the subject
	// key the signed token carried, and its records are those the key
	// finds (Subject.KeyOnly).
	OneClick bool
	// Language is the language the person is answered in: the report and
	// the notices (empty for a request stored before it was kept: the
	// configured default then).
	Language Language

	TokenHash     string
	CodeHash      string
	CodeExpiresAt time.Time
	CodeAttempts  int
	// LastAttempt is the id of the verification attempt counted last (a
	// random id, no personal data): a retried count of the same attempt
	// recognizes itself and is not counted again.
	LastAttempt string

	ReceivedAt time.Time
	VerifiedAt time.Time
	DueAt      time.Time
	// ExtendedMonths is how far the deadline was extended (Art. 12(3)),
	// and Extensions the record of each extension.
	ExtendedMonths int
	Extensions     []Extension
	CompletedAt    time.Time
	UpdatedAt      time.Time
	// IdentifiersRemovedAt is when the accountability retention ran out
	// and the record lost what identifies its subject (Email, SubjectKey,
	// Grounds and the hashes); zero before.
	IdentifiersRemovedAt time.Time
	// AddressRemovedAt is when the plain address was removed (AddressNeeded);
	// zero while the record holds it.
	AddressRemovedAt time.Time

	// Purposes planned by dispatch, and for each purpose done, the number of
	// part chunks it wrote.
	PlannedPurposes []string
	DoneParts       map[string]int

	Result        *Result
	FailureReason string
	// WaitingFor says why a queued request is not dispatched yet (a purpose
	// table whose subject keys are being backfilled), for the DPO.
	WaitingFor string
	// ObjectionDecisions holds, per purpose of an objection that restricts
	// rather than deletes, the DPO's decision ("pending" until taken); per
	// purpose of an answered restriction, whether it holds (RestrictionHeld)
	// or a DPO lifted it (DecisionLifted).
	ObjectionDecisions map[string]string
	// RestrictionSteps names the changes of an erasure's statutory
	// restrictions after it completed: each one the retention job ended
	// (RestrictionEndedToken) and each extension by a DPO
	// (RestrictionExtendedToken), each recorded once in the trail.
	RestrictionSteps []string
	// Trail is the newest entry of the request's audit trail, which the
	// store writes together with every step (zero for a request stored
	// before the trail had a head).
	Trail AuditHead
}

// Result is what a completed request produced: object keys, never URLs.
type Result struct {
	ReportJSONKey  string
	ReportHTMLKey  string
	CertificateKey string
	// SupersededBy is the erasure request that erased the subject's data
	// while this access request was under way: the request is answered by
	// a statement of that erasure (SupersededAnswer, stored as the
	// request's DocCertificate) instead of a report.
	SupersededBy string
	// Recipients are those the subject's data was disclosed to, who must be
	// told of an erasure, restriction or objection (Art. 19).
	Recipients []Recipient
	// ExportJSONKey and ExportZipKey (portability) are the export's
	// documents, and Transmission the outcome of sending it to the
	// endpoint the person named (nil when none was named).
	ExportJSONKey string
	ExportZipKey  string
	Transmission  *Transmission
}

// Superseded reports whether r is an access request answered by the
// statement of the erasure that superseded it (Result.SupersededBy).
func (r *Request) Superseded() bool { return r.Result != nil && r.Result.SupersededBy != "" }

// AllPartsDone reports whether every planned purpose has its part.
func (r *Request) AllPartsDone() bool {
	if len(r.PlannedPurposes) == 0 {
		return false
	}
	for _, p := range r.PlannedPurposes {
		if _, ok := r.DoneParts[p]; !ok {
			return false
		}
	}
	return true
}

// View is the request as a subject sees it (docs/api.md "request view").
type View struct {
	ID          string      `json:"id"`
	Type        Type        `json:"type"`
	Status      Status      `json:"status"`
	ReceivedAt  time.Time   `json:"receivedAt"`
	DueAt       *time.Time  `json:"dueAt,omitempty"`
	CompletedAt *time.Time  `json:"completedAt,omitempty"`
	Result      *ViewResult `json:"result,omitempty"`
}

// ViewResult is what a completed request produced, as its subject sees it.
type ViewResult struct {
	// Answer is the document that answers the request: the access report
	// (DocReportJSON, and its HTML form) or the certificate of an erasure
	// or objection (DocCertificate). The API links to it in Report or
	// Certificate: the domain knows no routes.
	Answer      Document `json:"-"`
	Report      string   `json:"report,omitempty"`
	Certificate string   `json:"certificate,omitempty"`
	// Recipients told of an erasure or objection (Art. 19); [] when none.
	Recipients []Recipient `json:"recipients,omitzero"`
	// Transmission of a portability export to the endpoint the person
	// named (Art. 20(2)); absent when none was named.
	Transmission *Transmission `json:"transmission,omitempty"`
}

// View returns the subject's view of r, without links (ViewResult.Answer).
func (r *Request) View() View {
	v := View{ID: r.ID, Type: r.Type, Status: r.Status, ReceivedAt: r.ReceivedAt.UTC()}
	if !r.DueAt.IsZero() {
		d := r.DueAt.UTC()
		v.DueAt = &d
	}
	if r.Status == StatusCompleted {
		c := r.CompletedAt.UTC()
		v.CompletedAt = &c
		switch {
		case r.Superseded():
			v.Result = &ViewResult{Answer: DocCertificate}
		case r.Type == TypeAccess:
			v.Result = &ViewResult{Answer: DocReportJSON}
		case r.Type == TypePortability:
			v.Result = exportResult(r)
		default:
			v.Result = &ViewResult{Answer: DocCertificate, Recipients: []Recipient{}}
			if r.Result != nil && len(r.Result.Recipients) > 0 {
				v.Result.Recipients = r.Result.Recipients
			}
		}
	}
	return v
}
