// Package memstore is an in-memory request store for tests. The contract
// tests of package storetest run against it and against the DynamoDB adapter,
// so it cannot drift from the real thing.
package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Requests is an in-memory request store, safe for concurrent use. It
// holds the requests' audit trails too (Trail), under the same lock, so that
// a change and the steps recording it are one, as in the DynamoDB store's
// transaction.
type Requests struct {
	mu     sync.Mutex
	items  map[string]dsr.Request
	trails map[string][]dsr.AuditEntry
}

// Trail returns the audit trail of s's requests.
func (s *Requests) Trail() *Audit { return &Audit{requests: s} }

// record appends steps to r's trail and moves r's head, with s.mu held; a
// change without a step is refused, as the DynamoDB store refuses it.
func (s *Requests) record(r *dsr.Request, steps []dsr.Step, op string) error {
	if len(steps) == 0 {
		return fmt.Errorf("%s: no audit step records it", op)
	}
	if s.trails == nil {
		s.trails = map[string][]dsr.AuditEntry{}
	}
	entries := r.Trail.Chain(r.ID, steps)
	s.trails[r.ID] = append(s.trails[r.ID], entries...)
	r.Trail = dsr.HeadOf(entries[len(entries)-1])
	return nil
}

func clone(r dsr.Request) *dsr.Request {
	r.Purposes = slices.Clone(r.Purposes)
	r.Preferences = slices.Clone(r.Preferences)
	r.PlannedPurposes = slices.Clone(r.PlannedPurposes)
	r.DoneParts = maps.Clone(r.DoneParts)
	r.ObjectionDecisions = maps.Clone(r.ObjectionDecisions)
	r.Extensions = slices.Clone(r.Extensions)
	if r.Rectification != nil {
		rc := *r.Rectification
		r.Rectification = &rc
	}
	if r.Result != nil {
		res := *r.Result
		res.Recipients = slices.Clone(res.Recipients)
		r.Result = &res
	}
	return &r
}

func conflict(op string) error {
	return &dsr.Error{Code: dsr.EConflict, Message: op + ": the request changed meanwhile"}
}

// Create stores a new request; an id held by another request (another
// status token) is a conflict, the same request again (a retried create)
// is not.
func (s *Requests) Create(_ context.Context, r *dsr.Request, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.items == nil {
		s.items = map[string]dsr.Request{}
	}
	if old, ok := s.items[r.ID]; ok {
		if old.TokenHash == r.TokenHash {
			return nil // a retried create: it took effect
		}
		return conflict("create request")
	}
	c := clone(*r)
	c.Trail, c.MaskedEmail = dsr.AuditHead{}, r.Masked()
	if err := s.record(c, steps, "create request"); err != nil {
		return err
	}
	s.items[r.ID] = *c
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

// SetWaiting is the in-memory form of dynamo.Requests.SetWaiting.
func (s *Requests) SetWaiting(_ context.Context, id, detail string, now time.Time, steps ...dsr.Step) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	switch {
	case !ok:
		return false, dsr.ErrNotFound
	case r.Status != dsr.StatusQueued:
		return false, conflict("set waiting")
	case r.WaitingFor == detail:
		return false, nil
	}
	r.WaitingFor, r.UpdatedAt = detail, now
	if err := s.record(&r, steps, "set waiting"); err != nil {
		return false, err
	}
	s.items[id] = r
	return true, nil
}

// UseAttempt is the in-memory form of dynamo.Requests.UseAttempt.
func (s *Requests) UseAttempt(_ context.Context, id, attempt string, now time.Time) (*dsr.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if ok && r.LastAttempt == attempt {
		return clone(r), nil // counted already
	}
	if !ok || r.Status != dsr.StatusAwaitingVerification || r.CodeAttempts >= dsr.MaxCodeAttempts {
		return nil, conflict("use attempt")
	}
	r.CodeAttempts++
	r.LastAttempt = attempt
	r.UpdatedAt = now
	s.items[id] = r
	return clone(r), nil
}

// Transition is the in-memory form of dynamo.Requests.Transition.
func (s *Requests) Transition(_ context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes, steps ...dsr.Step) error {
	if !from.CanMoveTo(to) {
		return &dsr.Error{Code: dsr.EInternal, Message: "transition not allowed"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || r.Status != from {
		return conflict("transition")
	}
	forget := r.AddressExpiresWith(to, ch, now)
	r.Status, r.UpdatedAt, r.WaitingFor = to, now, ""
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
	if ch.ObjectionDecisions != nil {
		r.ObjectionDecisions = maps.Clone(ch.ObjectionDecisions)
	}
	if ch.ExtendedMonths > 0 {
		r.ExtendedMonths = ch.ExtendedMonths
	}
	if forget {
		forgetAddress(&r, now)
	}
	if err := s.record(&r, steps, "transition"); err != nil {
		return err
	}
	s.items[id] = *clone(r)
	return nil
}

// BySubject is the in-memory form of dynamo.Requests.BySubject.
func (s *Requests) BySubject(_ context.Context, subjectKey string) ([]*dsr.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*dsr.Request
	for _, r := range s.items {
		if subjectKey != "" && r.SubjectKey == subjectKey {
			out = append(out, clone(r))
		}
	}
	slices.SortFunc(out, func(a, b *dsr.Request) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// List is the in-memory form of dynamo.Requests.List: requests with a due
// date, by the query's statuses in order, then due date; cursors are offsets.
func (s *Requests) List(_ context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*dsr.Request
	for _, st := range q.Statuses {
		var some []*dsr.Request
		for _, r := range s.items {
			if r.Status == st && !r.DueAt.IsZero() && (q.Type == "" || r.Type == q.Type) && (q.DueBefore.IsZero() || r.DueAt.Before(q.DueBefore)) {
				some = append(some, clone(r))
			}
		}
		slices.SortFunc(some, func(a, b *dsr.Request) int {
			if c := a.DueAt.Compare(b.DueAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		all = append(all, some...)
	}
	start := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 || n > len(all) {
			return nil, "", dsr.Invalid("the query is invalid", dsr.FieldError{Field: "cursor", Reason: "is not a cursor of this list"})
		}
		start = n
	}
	limit := q.Limit
	if limit <= 0 || limit > dsr.MaxListLimit {
		limit = dsr.MaxListLimit
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[start:end], next, nil
}

// Unverified is the in-memory form of dynamo.Requests.Unverified.
func (s *Requests) Unverified(ctx context.Context, before time.Time, cursor string) ([]string, string, error) {
	return s.ReceivedPage(ctx, dsr.StatusAwaitingVerification, time.Time{}, before, cursor)
}

// ReceivedPage is the in-memory form of dynamo.Requests.ReceivedPage. Its
// cursor is the last key returned, as DynamoDB's is, so requests that change
// status while a caller pages do not make it skip others.
func (s *Requests) ReceivedPage(_ context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := func(r dsr.Request) string {
		return r.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "|" + r.ID
	}
	var all []dsr.Request
	for _, r := range s.items {
		if r.Status == status && !r.ReceivedAt.Before(from) && r.ReceivedAt.Before(before) && (cursor == "" || key(r) > cursor) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b dsr.Request) int { return strings.Compare(key(a), key(b)) })
	end := min(dsr.MaxListLimit, len(all))
	ids := make([]string, 0, end)
	for _, r := range all[:end] {
		ids = append(ids, r.ID)
	}
	next := ""
	if end < len(all) {
		next = key(all[end-1])
	}
	return ids, next, nil
}

// OpenSubjects is the in-memory form of dynamo.Requests.OpenSubjects.
func (s *Requests) OpenSubjects(_ context.Context, now time.Time) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := map[string]bool{}
	for _, r := range s.items {
		if r.HoldsProvenance(now) && r.SubjectKey != "" {
			open[r.SubjectKey] = true
		}
	}
	return open, nil
}

// StripIdentifiers is the in-memory form of dynamo.Requests.StripIdentifiers.
func (s *Requests) StripIdentifiers(_ context.Context, id string, now time.Time, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || !r.IdentifiersRemovedAt.IsZero() {
		return conflict("strip request identifiers")
	}
	r.Email, r.MaskedEmail, r.SubjectKey, r.Grounds, r.FailureReason, r.CodeHash, r.TokenHash = "", "", "", "", "", "", ""
	stripRectification(&r)
	r.Extensions = slices.Clone(r.Extensions)
	for i := range r.Extensions {
		r.Extensions[i].Reason = ""
	}
	r.IdentifiersRemovedAt, r.UpdatedAt = now, now
	if err := s.record(&r, steps, "strip request identifiers"); err != nil {
		return err
	}
	s.items[id] = r
	return nil
}

// forgetAddress removes r's plain address at now, if it holds one, keeping
// its subject key and masked form, as the DynamoDB store's transaction does
// (and with the same rule: a notice to the person is sent before the step,
// or from the request as read before it; see dsr.AddressNeeded).
func forgetAddress(r *dsr.Request, now time.Time) {
	if r.Email != "" {
		r.MaskedEmail, r.Email, r.AddressRemovedAt = r.Masked(), "", now
		forgetCorrected(r)
	}
	r.TransmitTo = "" // a portability request's endpoint, no longer needed either
}

// ForgetAddress is the in-memory form of dynamo.Requests.ForgetAddress.
func (s *Requests) ForgetAddress(_ context.Context, id string, now time.Time, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || !r.AddressExpired(now) {
		return conflict("forget request address")
	}
	forgetAddress(&r, now)
	r.UpdatedAt = now
	if err := s.record(&r, steps, "forget request address"); err != nil {
		return err
	}
	s.items[id] = r
	return nil
}

// RecordRestriction is the in-memory form of
// dynamo.Requests.RecordRestriction.
func (s *Requests) RecordRestriction(_ context.Context, id, token string, now time.Time, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || slices.Contains(r.RestrictionSteps, token) {
		return conflict("record restriction")
	}
	r.RestrictionSteps = append(slices.Clone(r.RestrictionSteps), token)
	r.UpdatedAt = now
	if err := s.record(&r, steps, "record restriction"); err != nil {
		return err
	}
	s.items[id] = r
	return nil
}

// DuePage is the in-memory form of dynamo.Requests.DuePage; its cursor is
// the last key returned.
func (s *Requests) DuePage(_ context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := func(r dsr.Request) string {
		return r.DueAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "|" + r.ID
	}
	var all []dsr.Request
	for _, r := range s.items {
		if r.Status == status && !r.DueAt.IsZero() && !r.DueAt.Before(from) && r.DueAt.Before(before) && (cursor == "" || key(r) > cursor) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b dsr.Request) int { return strings.Compare(key(a), key(b)) })
	end := min(dsr.MaxListLimit, len(all))
	ids := make([]string, 0, end)
	for _, r := range all[:end] {
		ids = append(ids, r.ID)
	}
	next := ""
	if end < len(all) {
		next = key(all[end-1])
	}
	return ids, next, nil
}

// SetDecision is the in-memory form of dynamo.Requests.SetDecision.
func (s *Requests) SetDecision(_ context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || r.ObjectionDecisions[purpose] != from {
		return conflict("set objection decision")
	}
	r.ObjectionDecisions = maps.Clone(r.ObjectionDecisions)
	r.ObjectionDecisions[purpose] = to
	r.UpdatedAt = now
	if !dsr.AddressNeeded(r.Status, r.ObjectionDecisions) {
		forgetAddress(&r, now)
	}
	if err := s.record(&r, steps, "set objection decision"); err != nil {
		return err
	}
	s.items[id] = r
	return nil
}

// SetDeadline is the in-memory form of dynamo.Requests.SetDeadline.
func (s *Requests) SetDeadline(_ context.Context, id string, prevMonths int, ext dsr.Extension, steps ...dsr.Step) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[id]
	if !ok || !r.Open() || r.ExtendedMonths != prevMonths {
		return conflict("set deadline")
	}
	r.DueAt, r.ExtendedMonths, r.UpdatedAt = ext.DueAt, prevMonths+ext.Months, ext.At
	r.Extensions = append(slices.Clone(r.Extensions), ext)
	if err := s.record(&r, steps, "set deadline"); err != nil {
		return err
	}
	s.items[id] = r
	return nil
}

// Suppressions is an in-memory suppression list, safe for concurrent use.
type Suppressions struct {
	mu      sync.Mutex
	entries []dsr.Suppression
	canary  string
}

// Canary is the in-memory form of dynamo.Suppressions.Canary.
func (s *Suppressions) Canary(_ context.Context, value string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.canary == "" {
		s.canary = value
	}
	return s.canary, nil
}

// Add is the in-memory form of dynamo.Suppressions.Add.
func (s *Suppressions) Add(_ context.Context, entries []dsr.Suppression) error {
	s.mu.Lock()
	defer s.mu.Unlock()
next:
	for _, e := range entries {
		if e.SubjectKey == "" || e.Scope == "" {
			return fmt.Errorf("add suppression: entry without subject key or scope")
		}
		for _, have := range s.entries {
			if have.SubjectKey == e.SubjectKey && have.Scope == e.Scope && have.Channel == e.Channel {
				continue next
			}
		}
		s.entries = append(s.entries, e)
	}
	return nil
}

// Remove is the in-memory form of dynamo.Suppressions.Remove.
func (s *Suppressions) Remove(_ context.Context, subjectKey, scope, requestID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = slices.DeleteFunc(s.entries, func(e dsr.Suppression) bool {
		return e.SubjectKey == subjectKey && e.Scope == scope && e.Channel == "" && e.RequestID == requestID
	})
	return nil
}

// Entries is the in-memory form of dynamo.Suppressions.Entries.
func (s *Suppressions) Entries(_ context.Context, subjectKey string) ([]dsr.Suppression, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dsr.Suppression
	for _, e := range s.entries {
		if e.SubjectKey == subjectKey {
			out = append(out, e)
		}
	}
	return out, nil
}

// MarkPartDone is the in-memory form of dynamo.Requests.MarkPartDone.
func (s *Requests) MarkPartDone(_ context.Context, id, purpose string, chunks int, now time.Time, steps ...dsr.Step) (*dsr.Request, bool, error) {
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
	if err := s.record(&r, steps, "mark part done"); err != nil {
		return nil, false, err
	}
	s.items[id] = r
	return clone(r), true, nil
}

// Audit is the in-memory audit trail of a Requests (Requests.Trail). The
// zero Audit is the trail of no request.
type Audit struct {
	once     sync.Once
	requests *Requests
}

func (a *Audit) store() *Requests {
	a.once.Do(func() {
		if a.requests == nil {
			a.requests = &Requests{}
		}
	})
	return a.requests
}

// Append is the in-memory form of dynamo.Audit.Append.
func (a *Audit) Append(_ context.Context, st dsr.Step) error {
	s := a.store()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.items[st.RequestID]
	if !ok {
		return fmt.Errorf("audit %s of request %s: %w", st.Action, st.RequestID, dsr.ErrNotFound)
	}
	if err := s.record(&r, []dsr.Step{st}, "audit"); err != nil {
		return err
	}
	s.items[r.ID] = r
	return nil
}

// Entries is the in-memory form of dynamo.Audit.Entries.
func (a *Audit) Entries(_ context.Context, id string) ([]dsr.AuditEntry, error) {
	s := a.store()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.trails[id]), nil
}

// Walk is the in-memory form of dynamo.Audit.Walk (pages of 500 entries).
func (a *Audit) Walk(ctx context.Context, id string, each func([]dsr.AuditEntry) error) error {
	entries, _ := a.Entries(ctx, id)
	for page := range slices.Chunk(entries, 500) {
		if err := each(page); err != nil {
			return err
		}
	}
	return nil
}

// Page is the in-memory form of dynamo.Audit.Page.
func (a *Audit) Page(ctx context.Context, id string, before, limit int) ([]dsr.AuditEntry, bool, error) {
	entries, _ := a.Entries(ctx, id)
	if before > 0 {
		entries = slices.DeleteFunc(entries, func(e dsr.AuditEntry) bool { return e.Seq >= before })
	}
	from := max(0, len(entries)-limit)
	return entries[from:], from > 0, nil
}

// Actions returns the actions of request id's trail, oldest first (for tests).
func (a *Audit) Actions(id string) []dsr.AuditAction {
	entries, _ := a.Entries(context.Background(), id)
	var out []dsr.AuditAction
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}
