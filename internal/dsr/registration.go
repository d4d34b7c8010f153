package dsr

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Channels by which a person may make a request other than the web form
// (Art. 12(2): any channel); a DPO registers such a request.
var Channels = []string{"letter", "phone", "email", "in_person"}

// IdentityChecks are how a DPO may have verified the identity of a person
// whose request came by another channel (Art. 12(6)): a signature compared
// with one on file, a call back to a number on file, a reply from the
// address the request concerns, an identity document seen in person.
var IdentityChecks = []string{"signature_compared", "callback", "reply_from_address", "id_document_seen"}

// MaxIdentityNoteLength bounds the DPO's note on the identity check.
const MaxIdentityNoteLength = 200

// Registration is a validated request that a DPO registers for a person
// who made it by another channel: what they ask for, when it was received
// (the deadline runs from then, Art. 12(3)), by which channel, and how the
// DPO checked their identity (instead of the e-mail code).
type Registration struct {
	Submission
	ReceivedAt    time.Time
	Channel       string
	IdentityCheck string
	IdentityNote  string
}

// RegistrationInput is a registration as the DPO gave it: nil where a
// field is left out.
type RegistrationInput struct {
	SubmissionInput
	ReceivedAt    *string
	Channel       *string
	IdentityCheck *string
	IdentityNote  *string
}

// ParseRegistration validates a registration at now against the registry
// and the deadline policy: the submission's fields as ParseSubmission
// checks them; receivedAt an RFC 3339 time, not in the future, and recent
// enough that its deadline (one month, policy) has not passed; channel and
// identityCheck from their lists; an optional identityNote without an
// e-mail address. Errors name the fields, sorted, never echoing values.
func ParseRegistration(in RegistrationInput, reg Registry, policy DeadlinePolicy, now time.Time) (Registration, error) {
	var out Registration
	var bad fieldErrors
	sub, err := ParseSubmission(in.SubmissionInput, reg)
	if de, ok := err.(*Error); ok {
		bad = append(bad, de.Fields...)
	}
	out.Submission = sub
	out.ReceivedAt = receivedField(in.ReceivedAt, policy, now, &bad)
	out.Channel = enumField("channel", in.Channel, Channels, &bad)
	out.IdentityCheck = enumField("identityCheck", in.IdentityCheck, IdentityChecks, &bad)
	if in.IdentityNote != nil {
		switch note := *in.IdentityNote; {
		case utf8.RuneCountInString(note) > MaxIdentityNoteLength:
			bad.add("identityNote", fmt.Sprintf("is longer than %d characters", MaxIdentityNoteLength))
		case strings.Contains(note, "@"):
			bad.add("identityNote", "must not hold an e-mail address (the trail keeps no personal data)")
		default:
			out.IdentityNote = note
		}
	}
	if len(bad) > 0 {
		slices.SortStableFunc(bad, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		return Registration{}, Invalid("the registration is invalid", bad...)
	}
	return out, nil
}

// receivedField is the receipt time v gives, adding to bad what is wrong.
func receivedField(v *string, policy DeadlinePolicy, now time.Time, bad *fieldErrors) time.Time {
	if v == nil {
		bad.add("receivedAt", "is required: when the request reached the controller")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, *v)
	switch {
	case err != nil:
		bad.add("receivedAt", "must be an RFC 3339 time")
	case t.After(now):
		bad.add("receivedAt", "must not be in the future")
	case !policy.Due(t, 1).After(now):
		bad.add("receivedAt", "is older than the deadline allows: a request received then was due by now (Art. 12(3))")
	}
	return t.UTC()
}

// enumField is v if it is one of allowed, adding to bad what is wrong.
func enumField(name string, v *string, allowed []string, bad *fieldErrors) string {
	switch {
	case v == nil:
		bad.add(name, "is required")
	case !slices.Contains(allowed, *v):
		bad.add(name, `must be one of "`+strings.Join(allowed, `", "`)+`"`)
	default:
		return *v
	}
	return ""
}

// RegisteredDetail is the detail of the received step of a registered
// request: its receipt, channel and identity check (Art. 5(2)), without
// personal data.
func RegisteredDetail(g Registration) string {
	d := fmt.Sprintf("%s request received by %s at %s; registered by the DPO", g.Type, g.Channel, g.ReceivedAt.UTC().Format(time.RFC3339))
	return d
}

// IdentityDetail is the detail of the verified step of a registered
// request: how the DPO checked the person's identity instead of the code.
func IdentityDetail(g Registration) string {
	d := "identity checked by the DPO: " + g.IdentityCheck
	if g.IdentityNote != "" {
		d += " (" + g.IdentityNote + ")"
	}
	return d
}
