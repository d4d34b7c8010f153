package dsr

import (
	"fmt"
	"time"
)

// PreferencesOutcome is what a preferences request's read-back of one
// purpose found, recorded once as the purpose's only chunk: the subject's
// records, and how many do not hold the changes (0 for a done purpose).
type PreferencesOutcome struct {
	RecordsFound int       `json:"recordsFound"`
	NotHolding   int       `json:"notHolding"`
	ReadBackAt   time.Time `json:"readBackAt"`
}

// SearchedByOneClick says which records a one-click unsubscribe searched:
// its token carries no address, only the key that finds them.
const SearchedByOneClick = "records holding the pseudonymous key of the person the unsubscribe link was issued for"

// PreferencesCertificate answers a preferences request: each change, what
// the read-back found, and the channels the person may no longer be
// written to on until they consent again. No personal data.
type PreferencesCertificate struct {
	RequestID  string     `json:"requestId"`
	Type       Type       `json:"type"`
	IssuedAt   time.Time  `json:"issuedAt"`
	ReceivedAt time.Time  `json:"receivedAt"`
	VerifiedAt time.Time  `json:"verifiedAt,omitzero"`
	OneClick   bool       `json:"oneClick"`
	Controller Controller `json:"controller"`
	Searched   string     `json:"searched"`
	// Changes are the request's changes, each with its purpose's read-back.
	Changes []ChangeOutcome `json:"changes"`
	// Suppression lists the channels withdrawn: the CRM's suppression
	// check answers "consent_withdrawn" for each until new consent.
	Suppression []ChannelSuppressed `json:"withdrawnChannels"`
}

// ChangeOutcome is one change and what its purpose's read-back found.
type ChangeOutcome struct {
	PreferenceChange
	RecordsFound int  `json:"recordsFound"`
	Verified     bool `json:"verified"`
}

// ChannelSuppressed is one withdrawn channel of a purpose, since when.
type ChannelSuppressed struct {
	Purpose string    `json:"purpose"`
	Channel Channel   `json:"channel"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
}

// AssemblePreferencesCertificate builds the certificate of preferences
// request req from its purposes' outcomes (by purpose). A planned purpose
// without an outcome, or whose read-back found records not holding the
// changes, is an error.
func AssemblePreferencesCertificate(req *Request, outcomes map[string]PreferencesOutcome, ctrl Controller, now time.Time) (*PreferencesCertificate, error) {
	c := &PreferencesCertificate{
		RequestID: req.ID, Type: req.Type, IssuedAt: now.UTC(), ReceivedAt: req.ReceivedAt.UTC(), VerifiedAt: req.VerifiedAt.UTC(),
		OneClick: req.OneClick, Controller: ctrl, Searched: SearchedForVerified,
		Changes: []ChangeOutcome{}, Suppression: []ChannelSuppressed{},
	}
	if req.OneClick {
		c.Searched = SearchedByOneClick
	}
	for _, ch := range req.Preferences {
		o, ok := outcomes[ch.Purpose]
		switch {
		case !ok:
			return nil, fmt.Errorf("preferences certificate of %s: purpose %q has no read-back", req.ID, ch.Purpose)
		case o.NotHolding > 0:
			return nil, fmt.Errorf("preferences certificate of %s: %d record(s) of %q do not hold the changes", req.ID, o.NotHolding, ch.Purpose)
		}
		c.Changes = append(c.Changes, ChangeOutcome{PreferenceChange: ch, RecordsFound: o.RecordsFound, Verified: true})
	}
	for _, s := range preferenceSuppressions(req, req.VerifiedAt) {
		c.Suppression = append(c.Suppression, ChannelSuppressed{Purpose: s.Scope, Channel: s.Channel, Reason: s.Reason, Since: s.Since.UTC()})
	}
	return c, nil
}
