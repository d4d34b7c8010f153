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
// When the trail cannot take a step (the store is unavailable), what
// happens depends on who asked, and is the same for every use case:
//   - a subject route answers 503 (EUnavailable): the person tries again,
//     and the steps are idempotent or the change is not yet made;
//   - a DPO route keeps the change it made (repeating it would extend a
//     deadline twice or mail a notice twice), logs the step with event
//     "audit_lost" and counts it as the AuditStepLost metric, on which
//     AuditStepLostAlarm goes off;
//   - a queue consumer or scheduled job fails the message or the run, and
//     SQS or the scheduler delivers it again.
type Step struct {
	RequestID string
	Actor     string
	Action    AuditAction
	Detail    string
	At        time.Time
}

// SystemActor is the actor of a step taken by the pipeline's function fn.
func SystemActor(fn string) string { return ActorSystem + ":" + fn }

// IsLastStep reports whether last (nil: an empty trail) is step s (actor,
// action and detail; the time may differ).
func IsLastStep(last *AuditEntry, s Step) bool {
	return last != nil && last.Actor == s.Actor && last.Action == s.Action && last.Detail == s.Detail
}

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
	c.prev = e.Hash
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
