package memstore

import (
	"context"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// forgetCorrected removes a rectification's corrected value with the
// plain address, as the DynamoDB store does.
func forgetCorrected(r *dsr.Request) {
	if r.Rectification != nil {
		rc := *r.Rectification
		rc.Corrected = ""
		r.Rectification = &rc
	}
}

// stripRectification removes a rectification's free texts with the
// identifiers, as the DynamoDB store does.
func stripRectification(r *dsr.Request) {
	if r.Rectification != nil {
		r.Rectification = &dsr.Rectification{Correction: dsr.Correction{Attribute: r.Rectification.Attribute, Purpose: r.Rectification.Purpose},
			Decision: r.Rectification.Decision}
	}
}

// DecideRectification is the in-memory form of
// dynamo.Requests.DecideRectification.
func (s *Requests) DecideRectification(_ context.Context, id string, d dsr.RectificationDecision, now time.Time, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || !r.AwaitingRectification() || r.Rectification == nil {
		return conflict("decide rectification")
	}
	rc := *r.Rectification
	rc.Decision = d.Outcome
	if d.Reasons != "" {
		rc.Reasons = d.Reasons
	}
	r.Rectification, r.UpdatedAt = &rc, now
	if err := s.record(&r, steps, "decide rectification"); err != nil {
		return err
	}
	s.items[id] = r
	return nil
}

// Rectify is the in-memory form of dynamo.Contacts.Rectify: it sets the
// attribute on the items of refs that are still s's, hold it and do not
// hold the corrected value yet, and returns how many it changed.
func (c *Contacts) Rectify(_ context.Context, p dsr.Purpose, s dsr.Subject, refs []string, corr dsr.Correction) (int, error) {
	changed := 0
	err := c.eachRef("Rectify", p, refs, func(t *contactTable, v string) {
		item, ok := t.items[v]
		if !ok || item[p.SubjectKeyAttribute] != s.Key {
			return
		}
		if old, held := item[corr.Attribute]; held && old != corr.Corrected {
			item[corr.Attribute] = corr.Corrected
			changed++
		}
	})
	return changed, err
}

// SurveyAttribute is the in-memory form of dynamo.Contacts.SurveyAttribute.
func (c *Contacts) SurveyAttribute(_ context.Context, p dsr.Purpose, s dsr.Subject, attr, value string) ([]dsr.AttributeValue, error) {
	if err := c.before("SurveyAttribute", p); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(p)
	values, _ := t.indexed(p, s.Key, "")
	found := []dsr.AttributeValue{}
	for _, v := range values {
		item := t.items[v]
		if !owns(p, s, item) {
			continue
		}
		got, held := item[attr]
		str, ok := got.(string)
		found = append(found, dsr.AttributeValue{Key: encodeRef(t.key, v), Held: held, Matches: ok && str == value})
	}
	return found, nil
}
