// Package memstore is an in-memory request store for tests. The contract
// tests of package storetest run against it and against the DynamoDB adapter,
// so it cannot drift from the real thing.
package memstore

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Requests is an in-memory request store, safe for concurrent use.
type Requests struct {
	mu    sync.Mutex
	items map[string]dsr.Request
}

func clone(r dsr.Request) *dsr.Request {
	r.Purposes = slices.Clone(r.Purposes)
	r.PlannedPurposes = slices.Clone(r.PlannedPurposes)
	r.DoneParts = maps.Clone(r.DoneParts)
	if r.Result != nil {
		res := *r.Result
		r.Result = &res
	}
	return &r
}

func conflict(op string) error {
	return &dsr.Error{Code: dsr.EConflict, Message: op + ": the request changed meanwhile"}
}

// Create stores a new request; an existing id is a conflict.
func (s *Requests) Create(_ context.Context, r *dsr.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.items == nil {
		s.items = map[string]dsr.Request{}
	}
	if _, ok := s.items[r.ID]; ok {
		return conflict("create request")
	}
	s.items[r.ID] = *clone(*r)
	return nil
}

// Get returns a copy of request id, or dsr.ErrNotFound.
func (s *Requests) Get(_ context.Context, id string) (*dsr.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok {
		return nil, dsr.ErrNotFound
	}
	return clone(r), nil
}

// UseAttempt is the in-memory form of dynamo.Requests.UseAttempt.
func (s *Requests) UseAttempt(_ context.Context, id string, now time.Time) (*dsr.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || r.Status != dsr.StatusAwaitingVerification || r.CodeAttempts >= dsr.MaxCodeAttempts {
		return nil, conflict("use attempt")
	}
	r.CodeAttempts++
	r.UpdatedAt = now
	s.items[id] = r
	return clone(r), nil
}

// Transition is the in-memory form of dynamo.Requests.Transition.
func (s *Requests) Transition(_ context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes) error {
	if !from.CanMoveTo(to) {
		return &dsr.Error{Code: dsr.EInternal, Message: "transition not allowed"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || r.Status != from {
		return conflict("transition")
	}
	r.Status, r.UpdatedAt = to, now
	for _, f := range []struct {
		dst *time.Time
		v   time.Time
	}{{&r.VerifiedAt, ch.VerifiedAt}, {&r.DueAt, ch.DueAt}, {&r.CompletedAt, ch.CompletedAt}} {
		if !f.v.IsZero() {
			*f.dst = f.v
		}
	}
	if ch.Result != nil {
		res := *ch.Result
		r.Result = &res
	}
	if ch.FailureReason != "" {
		r.FailureReason = ch.FailureReason
	}
	if ch.PlannedPurposes != nil {
		r.PlannedPurposes = slices.Clone(ch.PlannedPurposes)
		r.DoneParts = map[string]int{}
	}
	s.items[id] = r
	return nil
}

// MarkPartDone is the in-memory form of dynamo.Requests.MarkPartDone.
func (s *Requests) MarkPartDone(_ context.Context, id, purpose string, chunks int, now time.Time) (*dsr.Request, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok {
		return nil, false, dsr.ErrNotFound
	}
	if _, done := r.DoneParts[purpose]; done || r.Status != dsr.StatusInProgress {
		return clone(r), false, nil
	}
	r.DoneParts = maps.Clone(r.DoneParts)
	if r.DoneParts == nil {
		r.DoneParts = map[string]int{}
	}
	r.DoneParts[purpose] = chunks
	r.UpdatedAt = now
	s.items[id] = r
	return clone(r), true, nil
}
