package dsr

import "time"

// The plain address on a request record (storage limitation, Art. 5(1)(e)
// and data minimisation, Art. 5(1)(c)). A request needs its subject's plain
// address while it may still act on their data or write to them: to e-mail
// the code, to find their records (Request.Subject), to tell recipients
// (Art. 19) and to send the answer. Once it is final, that is over, and the
// record keeps only the subject key (the suppression list's and the subject
// index's key, no address) and the masked form the DPO tells requests apart
// by; the subject key goes too after the accountability retention
// (AccountabilityCutoff).
//
// The rule for every notice to the person: whatever must be mailed because a
// request ends (the answer is ready, it was refused, it failed for good) is
// sent BEFORE the step that makes it final, or from the request as read
// before that step: the store removes the address in the same transaction as
// the final step (Transition, SetDecision) or, for a failed request, in the
// retention job once its due date has passed (ForgetAddress).

// AddressNeeded reports whether a request that is (or moves to) status st,
// with the objection decisions decisions, still needs its plain address: it
// does while it is open; a failed request does until its due date, as the
// DPO may retry it until then (AddressExpired); a completed objection does
// while a DPO decision on it is pending or being applied (Art. 21(1): the
// decision is applied to the person's records and they are told), and a
// completed restriction while it holds a purpose restricted or being
// lifted (Art. 18(3): the person is told before the lifting); a rejected
// or expired request does not.
func AddressNeeded(st Status, decisions map[string]string) bool {
	switch st {
	case StatusCompleted:
		for _, d := range decisions {
			if !DecisionFinal(d) {
				return true
			}
		}
		return false
	case StatusRejected, StatusExpired:
		return false
	}
	return true
}

// AddressExpired reports whether r holds a plain address it no longer needs
// at now: a final request (see AddressNeeded) or a failed one whose due date
// has passed, so that it may no longer be retried.
func (r *Request) AddressExpired(now time.Time) bool {
	switch {
	case r.Email == "":
		return false
	case r.Status == StatusFailed:
		return !r.DueAt.IsZero() && now.After(r.DueAt)
	}
	return !AddressNeeded(r.Status, r.ObjectionDecisions)
}

// AddressExpiresWith reports whether request r, as read, no longer needs
// its plain address once moved to status to with the changes ch at now
// (AddressExpired of the request after the move): the store then removes
// it in the same change.
func (r *Request) AddressExpiresWith(to Status, ch Changes, now time.Time) bool {
	next := *r
	next.Status = to
	if ch.ObjectionDecisions != nil {
		next.ObjectionDecisions = ch.ObjectionDecisions
	}
	if !ch.DueAt.IsZero() {
		next.DueAt = ch.DueAt
	}
	return next.AddressExpired(now)
}

// Masked is the subject's address as the DPO sees it ("a***@e***.com"):
// the masked form stored with the request, which stays when the address is
// removed, or the address masked.
func (r *Request) Masked() string {
	if r.MaskedEmail != "" {
		return r.MaskedEmail
	}
	return MaskEmail(r.Email)
}
