package dsr

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Provenance events (docs/api.md, "Provenance queue").
const (
	EventCollected = "collected" // the data came from a source (Art. 15(1)(g))
	EventDisclosed = "disclosed" // the data went to a recipient (Art. 15(1)(c))
)

// DefaultProvenanceYears is how long a provenance entry of a purpose
// without a statutory duty or provenanceYears of its own is kept from its
// event (design.md: two years; Purpose.ProvenanceYearsOr).
const DefaultProvenanceYears = 2

// MaxClockSkew is how far in the future an event's time may be: the CRM's
// clock may run slightly ahead of ours.
const MaxClockSkew = 5 * time.Minute

// maxProvenanceText bounds a source's, a recipient's and a safeguard's name.
const maxProvenanceText = 200

// ProvenanceEvent is a validated message of the provenance queue.
type ProvenanceEvent struct {
	Email     string // normalized
	Purpose   string
	Event     string // EventCollected or EventDisclosed
	Source    string // collected
	Recipient string // disclosed
	Country   string // disclosed: ISO 3166-1 alpha-2
	Safeguard string // disclosed: a value of Safeguards, "" inside the EEA or under adequacy
	// TransferBasis (disclosed) is why the disclosure is lawful:
	// TransferEEA, TransferAdequacy, TransferSafeguard or
	// TransferDerogation (dsr.TransferBasis).
	TransferBasis string
	At            time.Time
}

// ProvenancePolicy is the deployment's rules for provenance events: Years,
// how long an entry of a purpose that says nothing else is kept
// (Registry.ProvenanceYears), and the adequacy list recipients' countries
// are checked against (TransferBasis).
type ProvenancePolicy struct {
	Years    int
	Adequacy Adequacy
}

// ProvenanceInput is a provenance event as the CRM sent it: nil where a
// field is left out.
type ProvenanceInput struct {
	Email     *string
	Purpose   *string
	Event     *string
	Source    *string
	Recipient *string
	Country   *string
	Safeguard *string
	At        *string
}

// ParseProvenanceEvent validates one provenance event against the registry
// and pol. now bounds the event's time: not in the future (beyond
// MaxClockSkew), and not so old that its purpose's years of provenance
// (Registry.ProvenanceYears, pol.Years the default) have passed (it must
// not be kept at all). A recipient's country must be an assigned ISO
// 3166-1 alpha-2 code, and its transfer lawful (TransferBasis). Errors are
// EInvalid with the fields at fault; they never echo a value.
func ParseProvenanceEvent(in ProvenanceInput, reg Registry, now time.Time, pol ProvenancePolicy) (ProvenanceEvent, error) {
	var ev ProvenanceEvent
	var bad fieldErrors
	email, errs := emailField(in.Email)
	ev.Email, bad = email, append(bad, errs...)
	if in.Purpose == nil {
		bad.add("purpose", "is required")
	} else if _, ok := reg.Lookup(*in.Purpose); !ok {
		bad.add("purpose", "is not a purpose of the registry")
	} else {
		ev.Purpose = *in.Purpose
	}
	switch {
	case in.Event == nil:
		bad.add("event", "is required")
	case *in.Event == EventCollected:
		ev.Event = EventCollected
		ev.Source = bad.text("source", in.Source, true)
		bad.absent("recipient", in.Recipient)
		bad.absent("country", in.Country)
		bad.absent("safeguard", in.Safeguard)
	case *in.Event == EventDisclosed:
		ev.Event = EventDisclosed
		bad.absent("source", in.Source)
		ev.Recipient = bad.text("recipient", in.Recipient, true)
		ev.Safeguard = bad.text("safeguard", in.Safeguard, false)
		ev.Country = bad.country(in.Country)
		if ev.Country != "" {
			var field, reason string
			if ev.TransferBasis, field, reason = TransferBasis(ev.Country, ev.Safeguard, pol.Adequacy); field != "" {
				bad.add(field, reason)
			}
		}
	default:
		bad.add("event", fmt.Sprintf("must be %q or %q", EventCollected, EventDisclosed))
	}
	ev.At = bad.eventTime(in.At, now, reg.ProvenanceYears(ev.Purpose, pol.Years))
	if len(bad) > 0 {
		return ProvenanceEvent{}, Invalid("the provenance event is invalid", bad...)
	}
	return ev, nil
}

// text is the trimmed name given for field, at most maxProvenanceText
// characters.
func (f *fieldErrors) text(field string, v *string, required bool) string {
	switch {
	case v == nil || strings.TrimSpace(*v) == "":
		if required {
			f.add(field, "is required")
		}
		return ""
	case utf8.RuneCountInString(*v) > maxProvenanceText:
		f.add(field, fmt.Sprintf("is longer than %d characters", maxProvenanceText))
	}
	return strings.TrimSpace(*v)
}

// absent refuses field, which applies to the other event, unless empty.
func (f *fieldErrors) absent(field string, v *string) {
	if v != nil && *v != "" {
		f.add(field, "applies only to the other event")
	}
}

// country is the recipient's country: an ISO 3166-1 alpha-2 code assigned
// to a country or territory, in upper case (IsCountry).
func (f *fieldErrors) country(v *string) string {
	if v == nil || *v == "" {
		f.add("country", "is required")
		return ""
	}
	if !IsCountry(*v) {
		f.add("country", "must be an assigned ISO 3166-1 alpha-2 country code, in upper case")
		return ""
	}
	return *v
}

// eventTime is the event's time, in UTC: an RFC 3339 time, not in the
// future (beyond MaxClockSkew) and with its years not yet passed at now.
func (f *fieldErrors) eventTime(v *string, now time.Time, years int) time.Time {
	if v == nil || *v == "" {
		f.add("at", "is required")
		return time.Time{}
	}
	at, err := time.Parse(time.RFC3339Nano, *v)
	switch {
	case err != nil:
		f.add("at", "must be an RFC 3339 time")
	case at.After(now.Add(MaxClockSkew)):
		f.add("at", "is in the future")
	case !ProvenanceExpiry(at, years).After(now):
		f.add("at", fmt.Sprintf("is more than %d years ago, the purpose's provenance retention: the entry must not be kept", years))
	default:
		return at.UTC()
	}
	return time.Time{}
}

// ProvenanceExpiry is when an entry of an event at at must be gone.
func ProvenanceExpiry(at time.Time, years int) time.Time {
	return at.UTC().AddDate(years, 0, 0)
}

// ProvenanceEntry is a stored provenance event, keyed by the subject's keyed
// hash (never the address).
type ProvenanceEntry struct {
	SubjectKey string
	// ID identifies the event by its content, so that a redelivered or
	// resent event is stored once.
	ID        string
	Purpose   string
	Event     string
	Source    string
	Recipient string
	Country   string
	Safeguard string
	// TransferBasis is the event's (ProvenanceEvent.TransferBasis), ""
	// for a source and an entry stored before it was kept.
	TransferBasis string
	At            time.Time
	ExpiresAt     time.Time
}

// NewProvenanceEntry is the entry of ev for the subject keyed subjectKey,
// kept years years (its purpose's: Registry.ProvenanceYears).
func NewProvenanceEntry(ev ProvenanceEvent, subjectKey string, years int) ProvenanceEntry {
	h := sha256.New()
	for _, f := range []string{subjectKey, ev.Purpose, ev.Event, ev.Source, ev.Recipient, ev.Country, ev.Safeguard, ev.At.UTC().Format(time.RFC3339Nano)} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return ProvenanceEntry{
		SubjectKey: subjectKey, ID: hex.EncodeToString(h.Sum(nil)[:16]),
		Purpose: ev.Purpose, Event: ev.Event, Source: ev.Source, Recipient: ev.Recipient,
		Country: ev.Country, Safeguard: ev.Safeguard, TransferBasis: ev.TransferBasis, At: ev.At.UTC(), ExpiresAt: ProvenanceExpiry(ev.At, years),
	}
}

// Live reports whether the entry is still to be kept at asOf: an entry past
// its expiry is ignored by every read, even before it is deleted.
func (e ProvenanceEntry) Live(asOf time.Time) bool { return e.ExpiresAt.After(asOf) }

// Provenance is a purpose's sources and recipients, as an access report
// shows them.
type Provenance struct {
	Sources    []Source
	Recipients []Recipient
}

// ProvenanceByPurpose groups the entries live at asOf by purpose, each list
// oldest first.
func ProvenanceByPurpose(entries []ProvenanceEntry, asOf time.Time) map[string]Provenance {
	out := map[string]Provenance{}
	for _, e := range sortedEntries(entries) {
		if !e.Live(asOf) {
			continue
		}
		p := out[e.Purpose]
		switch e.Event {
		case EventCollected:
			p.Sources = append(p.Sources, Source{Source: e.Source, At: e.At})
		case EventDisclosed:
			p.Recipients = append(p.Recipients, Recipient{Recipient: e.Recipient, Country: e.Country, Safeguard: e.Safeguard, TransferBasis: e.TransferBasis, At: e.At})
		}
		out[e.Purpose] = p
	}
	return out
}

func sortedEntries(entries []ProvenanceEntry) []ProvenanceEntry {
	s := slices.Clone(entries)
	slices.SortStableFunc(s, func(a, b ProvenanceEntry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return s
}

// NotifiedRecipients merges recipients found per purpose into one entry per
// recipient (name, country and safeguard), naming every purpose it received
// data for and the latest disclosure: who must be told of an erasure,
// restriction or objection (Art. 19), once each.
func NotifiedRecipients(byPurpose map[string][]Recipient, order []string) []Recipient {
	var out []Recipient
	index := map[[3]string]int{}
	for _, purpose := range order {
		for _, r := range byPurpose[purpose] {
			k := [3]string{r.Recipient, r.Country, r.Safeguard}
			i, ok := index[k]
			if !ok {
				index[k] = len(out)
				out = append(out, Recipient{Recipient: r.Recipient, Country: r.Country, Safeguard: r.Safeguard, TransferBasis: r.TransferBasis, At: r.At})
				i = len(out) - 1
			}
			if r.At.After(out[i].At) {
				out[i].At = r.At
			}
			if !slices.Contains(out[i].Purposes, purpose) {
				out[i].Purposes = append(out[i].Purposes, purpose)
			}
		}
	}
	return out
}

// RecipientNotice is one message of the recipient-notice queue (Art. 19):
// the recipient is to erase or restrict the person's data it received for
// the purposes named, as the controller did.
type RecipientNotice struct {
	// NoticeID is the same for every delivery of the same notice, so that
	// the consumer can drop duplicates (SQS delivers at least once).
	NoticeID  string `json:"noticeId"`
	RequestID string `json:"requestId"`
	Type      Type   `json:"type"`
	Email     string `json:"email"` // the person, as the recipient knows them ("" in a later notice: see RefersTo)
	// RefersTo is, in a later notice about the same data (a restriction
	// that ended), the NoticeID of the notice that named the person.
	RefersTo  string          `json:"refersTo,omitempty"`
	Recipient string          `json:"recipient"`
	Country   string          `json:"country"`
	Purposes  []NoticePurpose `json:"purposes"`
	At        time.Time       `json:"at"`
}

// NoticePurpose is what the controller did to one purpose's data.
type NoticePurpose struct {
	Purpose string `json:"purpose"`
	Action  Action `json:"action"` // delete, restrict or rectify
	// Attribute and Corrected (rectify): the attribute corrected and its
	// corrected value, which the recipient is to apply too.
	Attribute string `json:"attribute,omitempty"`
	Corrected string `json:"corrected,omitempty"`
}

// RecipientNotices are the notices of request r to its recipients, one each,
// at at.
func RecipientNotices(r *Request, recipients []Recipient, reg Registry, at time.Time) []RecipientNotice {
	if r.Type == TypeRectification {
		return rectificationNotices(r, recipients, at)
	}
	out := make([]RecipientNotice, 0, len(recipients))
	for _, rc := range recipients {
		n := RecipientNotice{RequestID: r.ID, Type: r.Type, Email: r.Email, Recipient: rc.Recipient, Country: rc.Country, At: at.UTC()}
		for _, name := range rc.Purposes {
			p, _ := reg.Lookup(name)
			action, _ := p.ActionFor(r.Type)
			n.Purposes = append(n.Purposes, NoticePurpose{Purpose: name, Action: action})
		}
		n.NoticeID = noticeID(r.ID, "", rc)
		out = append(out, n)
	}
	return out
}

// UpheldNotices are the notices of a DPO's upheld decision on objection r
// to purpose: the recipients of that purpose (r's result), told at the
// objection that the data was restricted, are told it is now erased.
func UpheldNotices(r *Request, purpose string, at time.Time) []RecipientNotice {
	if r.Result == nil {
		return nil
	}
	var out []RecipientNotice
	for _, rc := range r.Result.Recipients {
		if !slices.Contains(rc.Purposes, purpose) {
			continue
		}
		out = append(out, RecipientNotice{
			NoticeID: noticeID(r.ID, "upheld:"+purpose, rc), RequestID: r.ID, Type: r.Type, Email: r.Email,
			Recipient: rc.Recipient, Country: rc.Country, Purposes: []NoticePurpose{{Purpose: purpose, Action: ActionDelete}}, At: at.UTC(),
		})
	}
	return out
}

// noticeID names the notice of request id (and step, for a later one) to
// recipient rc, the same on every delivery.
func noticeID(id, step string, rc Recipient) string {
	sum := sha256.Sum256([]byte(id + "\x00" + step + "\x00" + rc.Recipient + "\x00" + rc.Country + "\x00" + rc.Safeguard))
	return id + "-" + hex.EncodeToString(sum[:8])
}

// ProvenanceKey names a stored entry that is due, as the store lists it:
// whose it is (the subject key the job holds it for), its purpose (whose
// years the job checks), and the store's own references to the entry and
// to where it is listed, which only the store reads.
type ProvenanceKey struct {
	SubjectKey string
	Purpose    string
	Entry      string
	Bucket     string
}

// RetentionCheckpoint is where the retention job stands. The provenance
// sweep has finished every expiry day (a UTC date, 2006-01-02) before Day;
// of Day it has looked at the due entries before Position, a position only
// the store reads ("" at the start of the day), or at every one of them if
// DaySwept (today's so far, when Day is today). Request records received
// before StrippedBefore have lost their identifiers; of those received
// since, the ones in Statuses before StripStatus and, in that status, up to
// StripCursor. Version guards against two runs saving over each other.
// Phase is the job's step to resume at (0: the sweep), set when a run stops
// before its deadline. Failed requests due before ForgottenBefore have lost
// their plain address; of those due since, the ones up to ForgetCursor.
//
// RestrictionMonth is the month (2006-01) of the due list of statutory
// restrictions the job reads next: every entry of the months before is
// done, and of RestrictionMonth those due by the last run.
type RetentionCheckpoint struct {
	RestrictionMonth string
	Phase            int
	Day              string
	Position         string
	DaySwept         bool
	StrippedBefore   time.Time
	StripStatus      int
	StripCursor      string
	ForgottenBefore  time.Time
	ForgetCursor     string
	Version          int
}

// HoldsProvenance reports whether r keeps its subject's provenance entries
// from the retention job at now: while it is open and so may still need
// them (a report, Art. 19 notices), except that a failed request holds them
// only until its due date, as nothing may be done for it later than that.
func (r *Request) HoldsProvenance(now time.Time) bool {
	switch r.Status {
	case StatusAwaitingVerification, StatusQueued, StatusInProgress:
		return true
	case StatusFailed:
		return r.DueAt.IsZero() || r.DueAt.After(now)
	}
	return false
}

// AccountabilityCutoff is the receipt time before which a request record
// loses its identifiers: years before now (design.md: default 3).
func AccountabilityCutoff(now time.Time, years int) time.Time {
	return now.UTC().AddDate(-years, 0, 0)
}
