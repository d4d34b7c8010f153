package dsr

import (
	"fmt"
	"time"
)

// SupersededAnswer answers an access request under way when the same
// person's erasure erased their data: what the erasure certificate says,
// without personal data: when the data was erased, and per purpose what was
// deleted and what is kept under a legal duty, until when. The person
// receives it instead of a report (every request ends with an answer).
type SupersededAnswer struct {
	RequestID  string     `json:"requestId"`
	Type       Type       `json:"type"`
	IssuedAt   time.Time  `json:"issuedAt"`
	ReceivedAt time.Time  `json:"receivedAt"`
	Controller Controller `json:"controller"`
	// Answer says, in words, why there is no copy of the data.
	Answer           string    `json:"answer"`
	ErasureRequestID string    `json:"erasureRequestId"`
	ErasedAt         time.Time `json:"erasedAt"`
	// Purposes is, per purpose of the erasure, what it did.
	Purposes []SupersededPurpose `json:"purposes"`
}

// SupersededPurpose is what the superseding erasure did to one purpose.
type SupersededPurpose struct {
	Purpose string `json:"purpose"`
	Action  Action `json:"action"` // delete, or restrict (kept under a legal duty)
	Reason  string `json:"reason"`
	// KeptUntil is, for records kept under a legal duty, the latest date
	// they become deletable.
	KeptUntil *time.Time `json:"keptUntil,omitempty"`
}

// AnswerSuperseded builds the answer to access request access from cert,
// the certificate of the erasure that superseded it, issued at cert's time.
func AnswerSuperseded(access *Request, cert *Certificate) *SupersededAnswer {
	a := &SupersededAnswer{
		RequestID: access.ID, Type: access.Type, IssuedAt: cert.IssuedAt, ReceivedAt: access.ReceivedAt.UTC(),
		Controller: cert.Controller, ErasureRequestID: cert.RequestID, ErasedAt: cert.IssuedAt,
		Purposes: []SupersededPurpose{},
	}
	kept := 0
	for _, o := range cert.Purposes {
		sp := SupersededPurpose{Purpose: o.Purpose, Action: o.Action, Reason: o.Reason}
		if o.ItemsRestricted > 0 {
			sp.KeptUntil = o.RestrictedUntil
			kept++
		}
		a.Purposes = append(a.Purposes, sp)
	}
	a.Answer = fmt.Sprintf("While this access request was under way, your personal data was erased on %s at your "+
		"request %s (Art. 17 GDPR), so there is no copy left to give (Art. 15). ", cert.IssuedAt.Format("2 January 2006"), cert.RequestID)
	if access.Type == TypePortability {
		a.Answer = fmt.Sprintf("While this portability request was under way, your personal data was erased on %s at your "+
			"request %s (Art. 17 GDPR), so there is nothing left to export or transmit (Art. 20). ", cert.IssuedAt.Format("2 January 2006"), cert.RequestID)
	}
	if kept > 0 {
		a.Answer += fmt.Sprintf("Records of %d purpose(s) are kept under a legal duty, used for nothing else, until the dates below "+
			"(Art. 17(3)(b)); everything else was deleted.", kept)
	} else {
		a.Answer += "Nothing is kept."
	}
	return a
}
