package dsr

import (
	"fmt"
	"strings"
)

// stepCheck follows a trail's steps, oldest first, for the integrity check:
// a request's trail starts with received; verified comes once, before any
// dispatch; each dispatch round (a dispatch, up to a DPO's retry) records
// dispatched once, purpose_done once per purpose, and completed once.
type stepCheck struct {
	seen       map[AuditAction]int // how often each action occurred
	dispatched bool                // in the current round
	done       map[string]bool     // purposes done in the current round
	at         int                 // the first entry out of order or twice
	reason     string
}

func (c *stepCheck) add(e AuditEntry) {
	if c.seen == nil {
		c.seen = map[AuditAction]int{}
	}
	bad := func(reason string) {
		if c.reason == "" {
			c.at, c.reason = e.Seq, fmt.Sprintf("entry %d (%s) %s", e.Seq, e.Action, reason)
		}
	}
	switch {
	case c.seen[AuditReceived] == 0 && e.Action != AuditReceived:
		bad("comes before the request was received")
	case e.Action == AuditReceived && c.seen[AuditReceived] > 0,
		e.Action == AuditVerified && c.seen[AuditVerified] > 0,
		e.Action == AuditCompleted && c.seen[AuditCompleted] > 0:
		bad("is recorded twice")
	}
	c.seen[e.Action]++
	c.round(e, bad)
}

// round follows the steps of the current dispatch round.
func (c *stepCheck) round(e AuditEntry, bad func(string)) {
	switch e.Action {
	case AuditDispatched:
		if c.seen[AuditVerified] == 0 {
			bad("comes before the request was verified")
		}
		if c.dispatched {
			bad("is recorded twice in one dispatch")
		}
		c.dispatched, c.done = true, map[string]bool{}
	case AuditRetried:
		c.dispatched, c.done = false, nil
	case AuditPurposeDone:
		p := donePurpose(e.Detail)
		switch {
		case !c.dispatched:
			bad("comes before the request was dispatched")
		case c.done[p]:
			bad("is recorded twice for purpose " + p)
		}
		if c.done != nil {
			c.done[p] = true
		}
	case AuditCompleted:
		if !c.dispatched {
			bad("comes before the request was dispatched")
		}
	}
}

// donePurpose is the purpose a purpose_done detail names (PurposeDoneDetail).
func donePurpose(detail string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(detail, "purpose "), ":")
	return p
}

func (c *stepCheck) problem() (int, string) { return c.at, c.reason }

// missing names the first step that r's status implies and the trail lacks.
func (c *stepCheck) missing(r *Request) string {
	var want []AuditAction
	switch r.Status {
	case StatusQueued:
		want = []AuditAction{AuditVerified}
	case StatusInProgress:
		want = []AuditAction{AuditVerified, AuditDispatched}
	case StatusCompleted:
		want = []AuditAction{AuditVerified, AuditDispatched, AuditCompleted}
	case StatusExpired, StatusRejected, StatusFailed:
		want = []AuditAction{map[Status]AuditAction{StatusExpired: AuditExpired, StatusRejected: AuditRejected, StatusFailed: AuditFailed}[r.Status]}
	}
	for _, a := range append([]AuditAction{AuditReceived}, want...) {
		if c.seen[a] == 0 {
			return fmt.Sprintf("the request is %s, but its trail has no %s step", r.Status, a)
		}
	}
	if r.Status != StatusCompleted || r.Superseded() {
		return "" // a superseded access request is answered without its parts
	}
	for _, p := range r.PlannedPurposes {
		if !c.done[p] {
			return fmt.Sprintf("the request is completed, but its trail has no purpose_done step for purpose %s", p)
		}
	}
	return ""
}
