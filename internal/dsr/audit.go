package dsr

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditAction names a kind of step in a request's trail.
type AuditAction string

// Audit actions: every step of a request, as the trail records it.
const (
	AuditReceived           AuditAction = "received"            // submitted; the code is e-mailed
	AuditVerified           AuditAction = "verified"            // the right code; queued
	AuditExpired            AuditAction = "expired"             // wrong or late codes, or never verified
	AuditWaiting            AuditAction = "waiting"             // queued until a purpose table is keyed
	AuditDispatched         AuditAction = "dispatched"          // in progress, tasks sent
	AuditPurposeDone        AuditAction = "purpose_done"        // one purpose's part recorded
	AuditCompleted          AuditAction = "completed"           // report or certificate written
	AuditLinkIssued         AuditAction = "link_issued"         // a download link signed
	AuditFailed             AuditAction = "failed"              // dead-lettered, or superseded
	AuditExtended           AuditAction = "extended"            // deadline extended by a DPO
	AuditRejected           AuditAction = "rejected"            // refused by a DPO (Art. 12(5))
	AuditRetried            AuditAction = "retried"             // queued again by a DPO
	AuditObjectionDecided   AuditAction = "objection_decided"   // a DPO decided an objection
	AuditObjectionApplied   AuditAction = "objection_applied"   // the worker applied the decision
	AuditRecipientsNotified AuditAction = "recipients_notified" // Art. 19 notices queued
	AuditIdentifiersRemoved AuditAction = "identifiers_removed" // accountability retention over
	AuditPersonNotified     AuditAction = "person_notified"     // the person told by e-mail: answered, failed, extended
	// AuditRestrictionEnded: the retention job deleted records an erasure
	// had restricted, their statutory duty having ended (Art. 17(1)).
	AuditRestrictionEnded AuditAction = "restriction_ended"
	// AuditRestrictionExtended: a DPO extended a statutory restriction.
	AuditRestrictionExtended AuditAction = "restriction_extended"
	// AuditAddressRemoved: the retention job removed the plain address of a
	// failed request past its due date (a final step removes it itself: see
	// dsr.AddressNeeded).
	AuditAddressRemoved AuditAction = "address_removed"
	// AuditRectificationDecided: a DPO confirmed or refused a correction.
	AuditRectificationDecided AuditAction = "rectification_decided"
)

// Actors of steps, and the trail's own constants.
const (
	ActorSubject            = "subject" // the person, with the code or token
	ActorSystem             = "system"  // a function of the pipeline
	auditFieldSeparator     = "\x1f"
	auditGenesisPrevHash    = ""
	maxAuditDetailCharacter = 500
)

// AuditEntry is one step of a request's trail. It holds no personal data:
// the actor is "subject", "system:<function>" or a DPO's token subject, and
// the detail names purposes, counts or reasons chosen by the pipeline or a
// DPO. Each entry holds the hash of the one before, so changing, removing or
// reordering one breaks the chain from there on.
type AuditEntry struct {
	RequestID string      `json:"-"`
	Seq       int         `json:"seq"`
	At        time.Time   `json:"at"`
	Actor     string      `json:"actor"`
	Action    AuditAction `json:"action"`
	Detail    string      `json:"detail,omitempty"`
	PrevHash  string      `json:"prevHash"`
	Hash      string      `json:"hash"`
}

// ComputeHash returns the SHA-256 of e's fields but its own hash.
func (e AuditEntry) ComputeHash() string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		e.RequestID, strconv.Itoa(e.Seq), e.At.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Action), e.Detail, e.PrevHash,
	}, auditFieldSeparator)))
	return hex.EncodeToString(sum[:])
}

// Step is one state change of a request, as a use case hands it to the
// trail: who did what, with which detail, when. The trail gives it its
// position and hashes.
//
// The store writes a step with the change it records, in one transaction:
// either both are made or neither is, so no change goes unrecorded and no
// step records a change that did not happen. When the store is unavailable,
// what happens depends on who asked, and is the same for every use case:
//   - a subject or DPO route answers 5xx: nothing was
//     changed, and the person or DPO tries again;
//   - a queue consumer or scheduled job fails the message or the run, and
//     SQS or the scheduler delivers it again.
//
// The only steps written alone are those that change nothing else (a
// download link issued).
type Step struct {
	RequestID string
	Actor     string
	Action    AuditAction
	Detail    string
	At        time.Time
}

// AuditHead is the newest entry of a request's trail, as the request itself
// records it: its position and hash. The trail's own chain shows an entry
// changed, removed or moved, but not its newest entries removed; the head
// does.
type AuditHead struct {
	Seq  int
	Hash string
}

// Chain returns the entries that record steps, in order, after the trail
// whose newest entry is h (the zero head: an empty trail), each step of
// request id.
func (h AuditHead) Chain(id string, steps []Step) []AuditEntry {
	var prev *AuditEntry
	if h.Seq > 0 {
		prev = &AuditEntry{Seq: h.Seq, Hash: h.Hash}
	}
	out := make([]AuditEntry, 0, len(steps))
	for _, s := range steps {
		s.RequestID = id
		out = append(out, NextAuditEntry(prev, s))
		prev = &out[len(out)-1]
	}
	return out
}

// HeadOf is the head of a trail whose newest entry is e.
func HeadOf(e AuditEntry) AuditHead { return AuditHead{Seq: e.Seq, Hash: e.Hash} }

// PurposeDoneDetail is the detail of a purpose_done step: the purpose first,
// so that the integrity check can tell which purpose a step records.
func PurposeDoneDetail(purpose string, chunks int, more string) string {
	return fmt.Sprintf("purpose %s: %d chunk(s)%s", purpose, chunks, more)
}

// SystemActor is the actor of a step taken by the pipeline's function fn.
func SystemActor(fn string) string { return ActorSystem + ":" + fn }

// NextAuditEntry returns the entry that records step s after prev (nil: the
// first).
func NextAuditEntry(prev *AuditEntry, s Step) AuditEntry {
	detail := s.Detail
	if r := []rune(detail); len(r) > maxAuditDetailCharacter {
		detail = string(r[:maxAuditDetailCharacter])
	}
	e := AuditEntry{RequestID: s.RequestID, Seq: 1, At: s.At.UTC(), Actor: s.Actor, Action: s.Action, Detail: detail, PrevHash: auditGenesisPrevHash}
	if prev != nil {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.Hash = e.ComputeHash()
	return e
}

// AuditCheck is the result of checking a trail.
type AuditCheck struct {
	Intact  bool   `json:"intact"`
	Entries int    `json:"entries"`
	Broken  int    `json:"brokenAt,omitempty"` // the first broken entry's position (1-based)
	Reason  string `json:"reason,omitempty"`
}

// VerifyAuditChain checks the trail of request requestID as stored, in
// order: positions, links and hashes. It names the first entry that was
// changed, removed (a gap) or moved.
func VerifyAuditChain(requestID string, entries []AuditEntry) AuditCheck {
	c := NewAuditChecker(requestID)
	for _, e := range entries {
		c.Add(e)
	}
	return c.Result()
}

// AuditChecker checks a trail entry by entry, oldest first, so that a trail
// of any length is checked page by page in constant memory.
type AuditChecker struct {
	requestID string
	entries   int
	prev      string
	broken    *AuditCheck
	last      AuditEntry
	steps     stepCheck
}

// NewAuditChecker starts the check of request requestID's trail.
func NewAuditChecker(requestID string) *AuditChecker {
	return &AuditChecker{requestID: requestID, prev: auditGenesisPrevHash}
}

// Add checks the next entry of the trail.
func (c *AuditChecker) Add(e AuditEntry) {
	c.entries++
	if c.broken != nil {
		return
	}
	pos := c.entries
	var reason string
	switch {
	case e.RequestID != c.requestID:
		reason = "belongs to another request"
	case e.Seq != pos:
		reason = fmt.Sprintf("is numbered %d: an entry before it was removed or moved", e.Seq)
	case e.PrevHash != c.prev:
		reason = "does not follow the entry before it: that one was changed, removed or moved"
	case e.Hash != e.ComputeHash():
		reason = "was changed after it was written"
	}
	if reason != "" {
		c.broken = &AuditCheck{Intact: false, Broken: pos, Reason: fmt.Sprintf("entry %d %s", pos, reason)}
		return
	}
	c.prev, c.last = e.Hash, e
	c.steps.add(e)
}

// Check is Result, and what request r says of its own trail: that it ends
// at r's head (the newest entries were not removed) and holds, in order and
// each once, the steps r's status implies (see stepCheck). It is the DPO's
// integrity check; Result alone checks a trail without its request.
func (c *AuditChecker) Check(r *Request) AuditCheck {
	res := c.Result()
	if !res.Intact {
		return res
	}
	broken := func(at int, reason string) AuditCheck {
		return AuditCheck{Intact: false, Entries: c.entries, Broken: at, Reason: reason}
	}
	if h := r.Trail; h.Seq > 0 && HeadOf(c.last) != h {
		if c.last.Seq < h.Seq {
			return broken(c.last.Seq+1, fmt.Sprintf("the trail ends at entry %d, but the request's newest step is entry %d: entries were removed from its end", c.last.Seq, h.Seq))
		}
		return broken(h.Seq, fmt.Sprintf("entry %d is not the request's newest step as the request records it", h.Seq))
	}
	if at, reason := c.steps.problem(); reason != "" {
		return broken(at, reason)
	}
	if reason := c.steps.missing(r); reason != "" {
		return broken(c.entries, reason)
	}
	return res
}

// Result is the check of every entry added.
func (c *AuditChecker) Result() AuditCheck {
	switch {
	case c.entries == 0:
		// Every request's trail starts when it is received: none at all
		// means it was deleted (or the request predates the trail).
		return AuditCheck{Intact: false, Broken: 1, Reason: "the trail has no entries: it was deleted, or the request predates the audit trail"}
	case c.broken != nil:
		r := *c.broken
		r.Entries = c.entries
		return r
	}
	return AuditCheck{Intact: true, Entries: c.entries}
}
