// Package dpo serves the DPO routes of the public API: the dashboard lists
// requests by status and due date, reads one with its progress, extends a
// deadline, rejects a manifestly unfounded or excessive request, retries a
// failed one, and reads metrics. API Gateway's JWT authorizer checks the
// token; this package also requires the group "dpo".
package dpo

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// Store reads, stores and changes requests, conditionally.
type Store interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	Create(ctx context.Context, r *dsr.Request, steps ...dsr.Step) error
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
	List(ctx context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error)
	SetDeadline(ctx context.Context, id string, prevMonths int, ext dsr.Extension, steps ...dsr.Step) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error
	DecideRectification(ctx context.Context, id string, d dsr.RectificationDecision, now time.Time, steps ...dsr.Step) error
}

// Tasks takes the messages that apply a decision to a purpose table.
type Tasks interface {
	SendDecision(ctx context.Context, m dsr.DecisionMessage) error
	SendTasks(ctx context.Context, tasks []dsr.TaskMessage) error
}

// Suppressions lifts a suppression an overridden objection added.
type Suppressions interface {
	Remove(ctx context.Context, subjectKey, scope, requestID string) error
}

// Queue takes requests to process again.
type Queue interface {
	SendRequest(ctx context.Context, m dsr.RequestMessage) error
}

// Mailer tells the person.
type Mailer interface {
	Send(ctx context.Context, m dsr.Mail) error
}

// Trail reads a request's audit trail, a page at a time.
type Trail interface {
	Page(ctx context.Context, id string, before, limit int) ([]dsr.AuditEntry, bool, error)
	Walk(ctx context.Context, id string, each func([]dsr.AuditEntry) error) error
}

// Cursors seal the positions the routes hand out as cursors and open them
// again (dsr.Hasher), so that a forged or foreign cursor never reaches the
// store.
type Cursors interface {
	SealCursor(scope, raw string) string
	OpenCursor(field, scope, sealed string) (string, error)
}

// AuditPage is how many entries of the trail the detail holds: the newest,
// with a cursor to the older ones.
const AuditPage = 100

// Service implements the DPO routes. Actor is the token's subject, for logs.
type Service struct {
	Store        Store
	Queue        Queue
	Mailer       Mailer
	Trail        Trail // nil: no trail in the detail
	Tasks        Tasks
	Suppressions Suppressions
	Cursors      Cursors
	Keys         Keys         // for registrations
	Registry     dsr.Registry // the purposes a registration may name, or a restriction's
	Deadline     dsr.DeadlinePolicy
	// Language answers a registered request whose body names none (the
	// controller's default: the DPO's browser says nothing of the person's).
	Language dsr.Language
	// Restrictions, Recorder and Provenance serve the extension of
	// statutory restrictions (with Registry).
	Restrictions Restrictions
	Recorder     RestrictionRecorder
	Provenance   ProvenanceKeeper
	// StatusPage is the privacy center's address, which notices link to
	// (empty: they name the privacy center without a link).
	StatusPage string
	Log        *slog.Logger
	Clock      dsr.Clock
}

// Page is one page of the list.
type Page struct {
	Items  []dsr.DPOView `json:"items"`
	Cursor string        `json:"cursor,omitempty"`
}

// List answers GET /v1/dpo/requests. Its cursor is sealed for the query's
// filters: one of another query, or forged, is a 400.
func (s *Service) List(ctx context.Context, query map[string]string) (*Page, error) {
	now := s.Clock.Now()
	q, err := dsr.ParseListQuery(query, now)
	if err != nil {
		return nil, err
	}
	scope := "list\x00" + query["status"] + "\x00" + query["type"] + "\x00" + query["dueBefore"] + "\x00" + query["overdue"]
	if query["awaitingDecision"] != "" {
		scope += "\x00" + query["awaitingDecision"]
	}
	if q.Cursor != "" {
		if q.Cursor, err = s.Cursors.OpenCursor("cursor", scope, q.Cursor); err != nil {
			return nil, err
		}
	}
	rs, cursor, err := s.Store.List(ctx, q)
	if err != nil {
		return nil, err
	}
	if cursor != "" {
		cursor = s.Cursors.SealCursor(scope, cursor)
	}
	p := &Page{Items: make([]dsr.DPOView, 0, len(rs)), Cursor: cursor}
	for _, r := range rs {
		// awaitingDecision filters after the store, as type does: a page
		// may hold fewer items while a cursor follows.
		if !q.AwaitingDecision || r.AwaitingDecision() {
			p.Items = append(p.Items, dpoView(r, now, false))
		}
	}
	return p, nil
}

// dpoView is the DPO's view of r at now (detail: with its progress),
// linked to its result as the subject's view is (httpapi.Linked).
func dpoView(r *dsr.Request, now time.Time, detail bool) dsr.DPOView {
	v := r.DPOView(now, detail)
	v.View = httpapi.Linked(v.View)
	return v
}

func (s *Service) get(ctx context.Context, id string) (*dsr.Request, error) {
	if _, err := ulid.ParseStrict(id); err != nil {
		return nil, dsr.ErrNotFound
	}
	return s.Store.Get(ctx, id)
}

// Detail answers GET /v1/dpo/requests/{id}: the request, its progress and
// the newest AuditPage entries of its audit trail, oldest first, with
// auditCursor for the page before them (passed back as the auditCursor
// query parameter).
func (s *Service) Detail(ctx context.Context, id, auditCursor string) (dsr.DPOView, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	v := dpoView(r, s.Clock.Now(), true)
	if s.Trail == nil {
		return v, nil
	}
	scope, before := "audit\x00"+r.ID, 0
	if auditCursor != "" {
		raw, err := s.Cursors.OpenCursor("auditCursor", scope, auditCursor)
		if err != nil {
			return dsr.DPOView{}, err
		}
		if before, err = strconv.Atoi(raw); err != nil {
			return dsr.DPOView{}, fmt.Errorf("detail: sealed audit cursor %q: %w", raw, err)
		}
	}
	entries, more, err := s.Trail.Page(ctx, r.ID, before, AuditPage)
	if err != nil {
		return dsr.DPOView{}, err
	}
	v.Audit = entries
	if more {
		v.AuditCursor = s.Cursors.SealCursor(scope, strconv.Itoa(entries[0].Seq))
	}
	return v, nil
}

// CheckAudit answers GET /v1/dpo/requests/{id}/audit: whether the request's
// trail is intact and complete (dsr.AuditChecker.Check), or its first broken
// entry.
func (s *Service) CheckAudit(ctx context.Context, id string) (dsr.AuditCheck, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.AuditCheck{}, err
	}
	if s.Trail == nil {
		return dsr.AuditCheck{}, fmt.Errorf("check audit: no trail configured")
	}
	c := dsr.NewAuditChecker(r.ID)
	err = s.Trail.Walk(ctx, r.ID, func(page []dsr.AuditEntry) error {
		for _, e := range page {
			c.Add(e)
		}
		return nil
	})
	if err != nil {
		return dsr.AuditCheck{}, err
	}
	return c.Check(r), nil
}

// Extend answers POST /v1/dpo/requests/{id}/extend: the person is told the
// new date and the reason first, then the deadline moves.
func (s *Service) Extend(ctx context.Context, actor, id string, body []byte) (dsr.DPOView, error) {
	months, reason, err := jsonbody.ParseExtension(body)
	if err != nil {
		return dsr.DPOView{}, err
	}
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	now := s.Clock.Now()
	due, err := s.Deadline.Extend(r, months, reason, now)
	if err != nil {
		return dsr.DPOView{}, err
	}
	if r.Status == dsr.StatusAwaitingVerification {
		// Nobody has proven control of the address: nothing is processed
		// yet, and no notice may go to an address that may not be theirs.
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "the request is not verified yet: there is nothing to extend")
	}
	mail := dsr.ExtensionMail(r, due, reason, s.Deadline.Location, s.StatusPage)
	if err := s.Mailer.Send(ctx, mail); err != nil {
		return dsr.DPOView{}, dsr.Unavailable(fmt.Errorf("extend: notice: %w", err))
	}
	ext := dsr.Extension{Months: months, Reason: reason, By: actor, At: now, DueAt: due}
	step := dsr.Step{Actor: actor, Action: dsr.AuditExtended, Detail: fmt.Sprintf("by %d month(s) to %s (reason in the request's extensions)", months, due.Format(time.RFC3339)), At: now}
	told := dsr.Step{Actor: actor, Action: dsr.AuditPersonNotified, Detail: dsr.NotifiedDetail(mail), At: now}
	if err := s.Store.SetDeadline(ctx, r.ID, r.ExtendedMonths, ext, step, told); err != nil {
		return dsr.DPOView{}, err
	}
	s.Log.InfoContext(ctx, "deadline extended", "dsrId", r.ID, "actor", actor, "months", months, "event", "extended")
	r.DueAt, r.ExtendedMonths, r.Extensions = due, r.ExtendedMonths+months, append(r.Extensions, ext)
	return dpoView(r, now, true), nil
}

// Reject answers POST /v1/dpo/requests/{id}/reject (Art. 12(5)), before
// processing begins, and tells the person why and what they can do.
func (s *Service) Reject(ctx context.Context, actor, id string, body []byte) (dsr.DPOView, error) {
	rej, err := jsonbody.ParseRejection(body)
	if err != nil {
		return dsr.DPOView{}, err
	}
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	if !r.Status.CanMoveTo(dsr.StatusRejected) {
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "a %s request cannot be rejected: only requests not yet in progress can", r.Status)
	}
	now := s.Clock.Now()
	reason := "rejected as " + map[string]string{dsr.RejectManifestlyUnfounded: "manifestly unfounded", dsr.RejectExcessive: "excessive"}[rej.Reason] + " (Art. 12(5)): " + rej.Detail
	steps := []dsr.Step{{Actor: actor, Action: dsr.AuditRejected, Detail: rej.Reason, At: now}}
	if r.VerifiedAt.IsZero() {
		// The address is not proven to be the requester's: no notice to it.
		s.Log.InfoContext(ctx, "rejection notice not sent: the address was never verified", "dsrId", r.ID)
	} else {
		// Told first: the rejection is final and removes the address
		// (Art. 5(1)(e)), after which no notice could be sent. A failed
		// notice leaves the request as it was, to be rejected again.
		if err := s.Mailer.Send(ctx, dsr.RejectionMail(r, rej)); err != nil {
			return dsr.DPOView{}, dsr.Unavailable(fmt.Errorf("reject: the notice could not be sent, so the request is not rejected; try again: %w", err))
		}
		steps = append(steps, dsr.Step{Actor: actor, Action: dsr.AuditPersonNotified, Detail: dsr.RejectionNotifiedDetail, At: now})
	}
	if err := s.Store.Transition(ctx, r.ID, r.Status, dsr.StatusRejected, now, dsr.Changes{FailureReason: reason}, steps...); err != nil {
		return dsr.DPOView{}, err
	}
	s.Log.InfoContext(ctx, "request rejected", "dsrId", r.ID, "actor", actor, "reason", rej.Reason, "event", "rejected")
	r.Status, r.FailureReason = dsr.StatusRejected, reason
	return dpoView(r, now, true), nil
}

// Retry answers POST /v1/dpo/requests/{id}/retry: a failed request is queued
// again and processed from the start (tasks are idempotent).
func (s *Service) Retry(ctx context.Context, actor, id string) (dsr.DPOView, error) {
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	if r.Status != dsr.StatusFailed {
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "only failed requests can be retried; this one is %s", r.Status)
	}
	if r.Email == "" {
		// Past its due date the retention job removed the address, without
		// which nothing of the person's can be found or sent.
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "this request's due date has passed and its address is removed (Art. 5(1)(e)); the person may submit a new request")
	}
	if strings.HasPrefix(r.FailureReason, dsr.SupersededPrefix) {
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "this access request was superseded by the subject's erasure: retrying it would report erased data")
	}
	now := s.Clock.Now()
	if err := s.Store.Transition(ctx, r.ID, dsr.StatusFailed, dsr.StatusQueued, now, dsr.Changes{},
		dsr.Step{Actor: actor, Action: dsr.AuditRetried, Detail: "queued again after: " + r.FailureReason, At: now}); err != nil {
		return dsr.DPOView{}, err
	}
	if err := s.Queue.SendRequest(ctx, dsr.RequestMessage{RequestID: r.ID}); err != nil {
		// Without its message the request would wait for ever: fail it again.
		if ferr := s.Store.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusFailed, now, dsr.Changes{FailureReason: r.FailureReason},
			dsr.Step{Actor: actor, Action: dsr.AuditFailed, Detail: "it could not be queued again", At: now}); ferr != nil {
			s.Log.ErrorContext(ctx, "retry: could not fail the request again", "dsrId", r.ID, "error", ferr.Error())
		}
		return dsr.DPOView{}, dsr.Unavailable(fmt.Errorf("retry: queue request: %w", err))
	}
	s.Log.InfoContext(ctx, "request retried", "dsrId", r.ID, "actor", actor, "event", "retried")
	r.Status = dsr.StatusQueued
	return dpoView(r, now, true), nil
}

// Decide answers POST /v1/dpo/requests/{id}/objection-decision: the DPO
// decides an objection to a legitimate-interest purpose (Art. 21(1)), once
// its records are restricted, while the request waits in progress for it
// (the worker that applies the last decision answers the request). The
// decision is recorded as being applied, a task applies it to the purpose's
// table (upheld: the records are erased; overridden: the restriction is
// lifted, and so is the suppression the objection added), and the person is
// told the outcome and the grounds: an override before anything is lifted
// (Art. 18(3)), see apply.
func (s *Service) Decide(ctx context.Context, actor, id string, body []byte) (dsr.DPOView, error) {
	d, err := jsonbody.ParseDecision(body)
	if err != nil {
		return dsr.DPOView{}, err
	}
	r, err := s.get(ctx, id)
	if err != nil {
		return dsr.DPOView{}, err
	}
	_, restricted := r.DoneParts[d.Purpose]
	restricted = restricted || r.Status == dsr.StatusCompleted // answered: every part was done
	switch current, ok := r.ObjectionDecisions[d.Purpose]; {
	case r.Type != dsr.TypeObjection || (r.Status != dsr.StatusInProgress && r.Status != dsr.StatusCompleted):
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "only an objection in progress (or answered before decisions held it open) has decisions to take; this is a %s %s request", r.Status, r.Type)
	case !ok:
		return dsr.DPOView{}, dsr.Invalid("the request body is invalid", dsr.FieldError{Field: "purpose", Reason: "has no decision pending in this objection"})
	case current != dsr.DecisionPending:
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "the objection to %s is already decided: %s", d.Purpose, current)
	case !restricted:
		return dsr.DPOView{}, dsr.Errorf(dsr.EConflict, "the records of %s are still being restricted; decide once its part is done", d.Purpose)
	}
	now := s.Clock.Now()
	applying := dsr.Applying(d.Outcome)
	// The grounds go to the person, not into the trail: a DPO's free text
	// may name people.
	if err := s.Store.SetDecision(ctx, r.ID, d.Purpose, dsr.DecisionPending, applying, now,
		dsr.Step{Actor: actor, Action: dsr.AuditObjectionDecided, Detail: d.Purpose + ": " + d.Outcome, At: now}); err != nil {
		return dsr.DPOView{}, err
	}
	if err := s.apply(ctx, actor, r, d, now); err != nil {
		return dsr.DPOView{}, err
	}
	s.Log.InfoContext(ctx, "objection decided", "dsrId", r.ID, "actor", actor, "purpose", d.Purpose, "outcome", d.Outcome, "event", "objection_decided")
	r.ObjectionDecisions[d.Purpose] = applying
	return dpoView(r, now, true), nil
}

// apply carries out decision d on r, recorded as being applied. An override
// lifts the objection's restriction and suppression, so the person is told
// first (Art. 18(3)): only once the notice is accepted is the task that
// lifts the restriction queued; a notice that cannot be sent puts the
// decision back to pending, with the restriction in place, for the DPO to
// take again. An upheld objection is told after its erasure is queued.
func (s *Service) apply(ctx context.Context, actor string, r *dsr.Request, d dsr.Decision, now time.Time) error {
	applying := dsr.Applying(d.Outcome)
	purpose, _ := s.Registry.Lookup(d.Purpose)
	if d.Outcome == dsr.DecisionOverridden {
		if err := s.Mailer.Send(ctx, dsr.DecisionMail(r, d, purpose)); err != nil {
			s.Log.ErrorContext(ctx, "decision notice not sent; the restriction stays", "dsrId", r.ID, "error", err.Error())
			return s.undecide(ctx, actor, r.ID, d.Purpose, applying, now, "the person could not be told before the restriction is lifted (Art. 18(3))", err)
		}
	}
	if err := s.Tasks.SendDecision(ctx, dsr.DecisionMessage{RequestID: r.ID, Purpose: d.Purpose, Decision: d.Outcome}); err != nil {
		return s.undecide(ctx, actor, r.ID, d.Purpose, applying, now, "the decision could not be queued", err)
	}
	if d.Outcome == dsr.DecisionOverridden {
		// After the task is queued: if this fails, the person stays
		// suppressed for the purpose, the safe side, and the DPO is told.
		if err := s.Suppressions.Remove(ctx, r.SubjectKey, d.Purpose, r.ID); err != nil {
			return dsr.Unavailable(fmt.Errorf("decide: the decision stands but its suppression entry could not be lifted: %w", err))
		}
		return nil
	}
	if err := s.Mailer.Send(ctx, dsr.DecisionMail(r, d, purpose)); err != nil {
		s.Log.ErrorContext(ctx, "decision notice not sent", "dsrId", r.ID, "error", err.Error())
		return dsr.Unavailable(fmt.Errorf("decide: the decision stands but the notice could not be sent: %w", err))
	}
	return nil
}

// undecide puts a decision back to pending after it could not be carried
// out (why), and answers 503.
func (s *Service) undecide(ctx context.Context, actor, id, purpose, applying string, now time.Time, why string, cause error) error {
	if err := s.Store.SetDecision(ctx, id, purpose, applying, dsr.DecisionPending, now,
		dsr.Step{Actor: actor, Action: dsr.AuditObjectionDecided, Detail: purpose + ": pending again, as " + why, At: now}); err != nil {
		s.Log.ErrorContext(ctx, "decision left applying without a task", "dsrId", id, "error", err.Error())
	}
	return dsr.Unavailable(fmt.Errorf("decide: %s: %w", why, cause))
}

// Metrics are the dashboard's figures.
type Metrics struct {
	ByStatus           map[dsr.Status]int `json:"byStatus"`
	ByType             map[dsr.Type]int   `json:"byType"`
	Overdue            int                `json:"overdue"`
	DueWithin7Days     int                `json:"dueWithin7Days"`
	MedianHoursToClose *float64           `json:"medianHoursToComplete"`
	Requests           int                `json:"requests"`
}

// Metrics answers GET /v1/dpo/metrics. It reads the status/due index page by
// page (never a Scan); requests whose clock has not started (no due date)
// are not in that index and not counted.
func (s *Service) Metrics(ctx context.Context) (*Metrics, error) {
	now := s.Clock.Now()
	m := &Metrics{ByStatus: map[dsr.Status]int{}, ByType: map[dsr.Type]int{}}
	var hours []float64
	q := dsr.ListQuery{Statuses: dsr.Statuses, Limit: dsr.MaxListLimit}
	for pages := 0; ; pages++ {
		rs, cursor, err := s.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			m.Requests++
			m.ByStatus[r.Status]++
			m.ByType[r.Type]++
			switch {
			case r.Overdue(now):
				m.Overdue++
			case r.Open() && r.DueAt.Before(now.Add(7*24*time.Hour)):
				m.DueWithin7Days++
			}
			if r.Status == dsr.StatusCompleted && !r.CompletedAt.IsZero() {
				hours = append(hours, r.CompletedAt.Sub(r.ReceivedAt).Hours())
			}
		}
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	if len(hours) > 0 {
		sort.Float64s(hours)
		med := hours[len(hours)/2]
		if len(hours)%2 == 0 {
			med = (hours[len(hours)/2-1] + hours[len(hours)/2]) / 2
		}
		m.MedianHoursToClose = &med
	}
	return m, nil
}
