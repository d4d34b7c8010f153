package dsr

import (
	"errors"
	"time"
)

// KeyState is where one contact record stands with its subject key: its
// table key (an opaque reference, no address), its identifier as the CRM
// stored it, and the subject key it holds ("" for none).
type KeyState struct {
	Ref        string
	Identifier *string // nil: the attribute is missing, or not a string
	SubjectKey string
}

// Why a record cannot be keyed.
const (
	UnkeyableMissing = "the identifier attribute is missing or not a string"
	UnkeyableInvalid = "the identifier is not an address by the one address rule"
)

// ErrUnkeyable marks a record whose identifier gives no subject key.
var ErrUnkeyable = errors.New("unkeyable record")

// WantKey returns the subject key record st should hold: the keyed hash of
// its identifier normalized by the one address rule, so that a record the CRM
// stored as " ADA@Example.COM " is found like ada@example.com. A record
// without a usable identifier is ErrUnkeyable, with the reason.
func (h *Hasher) WantKey(st KeyState) (string, string, error) {
	if st.Identifier == nil {
		return "", UnkeyableMissing, ErrUnkeyable
	}
	if st.SubjectKey != "" && *st.Identifier == st.SubjectKey {
		return st.SubjectKey, "", nil // restricted: the key stands in for the address
	}
	email, err := NormalizeEmail(*st.Identifier)
	if err != nil {
		return "", UnkeyableInvalid, ErrUnkeyable
	}
	return h.Subject(email), "", nil
}

// Subject is whom a request's records are searched for: the normalized
// address and its subject key.
type Subject struct {
	Email string
	Key   string
	// KeyOnly: the subject is known by its key alone (a one-click
	// unsubscribe, whose token carries no address), and owns the records
	// that hold the key. Only a withdrawal of consent acts on them.
	KeyOnly bool
}

// Subject is whom request r is about.
func (r *Request) Subject() Subject {
	return Subject{Email: r.Email, Key: r.SubjectKey, KeyOnly: r.OneClick && r.Type == TypePreferences}
}

// Owns reports whether a record whose identifier is identifier (nil: none)
// is s's: the one address rule gives s's address. A record's subject key
// finds it; this proves it, as the key can be stale for a moment after the
// CRM changed the address (its stream record not yet keyed).
//
// A record under a statutory restriction holds s's subject key in place of
// the address (Purpose.RetainedAttributes): that is s's too. A KeyOnly
// subject owns every record found by its key.
func (s Subject) Owns(identifier *string) bool {
	if identifier != nil && s.Key != "" && *identifier == s.Key || s.KeyOnly && s.Key != "" {
		return true
	}
	if identifier == nil || s.Email == "" {
		return false
	}
	email, err := NormalizeEmail(*identifier)
	return err == nil && email == s.Email
}

// BackfillPass is one pass of the subject-key backfill over a purpose's
// table, in Segments parallel scan segments. Once every segment is done,
// CompletedAt is set: every record written before StartedAt holds its
// subject key (later writes are keyed from the table's stream).
type BackfillPass struct {
	Purpose     string
	StartedAt   time.Time
	Segments    int
	CompletedAt time.Time
	Version     int
}

// Complete reports whether the pass has keyed the whole table.
func (p BackfillPass) Complete() bool { return !p.CompletedAt.IsZero() }

// BackfillSegment is where one scan segment of a pass stands.
type BackfillSegment struct {
	Segment   int
	Pass      time.Time // the pass's StartedAt
	Cursor    string    // where the scan goes on; "" at the start
	Done      bool
	Scanned   int
	Keyed     int
	Unkeyable int
}
