// Package retention is the daily retention job (storage limitation, Art.
// 5(1)(e)): it deletes provenance entries whose years have passed, reading
// only the expiry index partitions of the days due since its checkpoint,
// and holds those of subjects with an open request; it deletes reports and
// certificates past their download window; it removes the plain address
// of failed requests whose due date has passed; it strips identifiers
// and free texts from request records older than the accountability
// retention; and it deletes the records an erasure restricted under a
// statutory duty once that duty has ended, reading the due list month by
// month. A run that nears
// its deadline saves its checkpoint and continues in a new invocation
// (a message on its continuation queue).
package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
)

// Entries is the provenance store as the job uses it. Due returns a page of
// the keys of the entries of expiry day day due at now, from position (""
// for the day's first page), the position of the next page ("" once the
// day is read) and how many index items it read. Renew gives the entries
// of keys the expiry years gives their purpose, where that is later than
// now and than the one stored, and returns the keys it renewed.
type Entries interface {
	Due(ctx context.Context, day, position string, now time.Time, limit int) ([]dsr.ProvenanceKey, string, int, error)
	Renew(ctx context.Context, keys []dsr.ProvenanceKey, years func(purpose string) int, now time.Time) ([]dsr.ProvenanceKey, error)
	Delete(ctx context.Context, keys []dsr.ProvenanceKey) error
	Hold(ctx context.Context, keys []dsr.ProvenanceKey, now time.Time) error
	Checkpoint(ctx context.Context) (dsr.RetentionCheckpoint, error)
	SaveCheckpoint(ctx context.Context, cp dsr.RetentionCheckpoint) (int, error)
}

// Requests is the request store as the job uses it.
type Requests interface {
	Get(ctx context.Context, id string) (*dsr.Request, error)
	RecordRestriction(ctx context.Context, id, token string, now time.Time, steps ...dsr.Step) error
	OpenSubjects(ctx context.Context, now time.Time) (map[string]bool, error)
	ReceivedPage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error)
	StripIdentifiers(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error
	DuePage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error)
	ForgetAddress(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error
}

// Objects deletes reports and certificates past their download window.
type Objects interface {
	DeleteOlderThan(ctx context.Context, cutoff time.Time) (int, error)
}

// Continuer asks for a new invocation that resumes from the checkpoint.
type Continuer interface {
	Continue(ctx context.Context) error
}

// PageSize is how many index items one Due page reads at most.
const PageSize = 500

// firstLookback is how far back the first run starts: entries expired
// earlier than this are gone by the table's time to live (its backstop,
// dynamo.TTLBackstop, is shorter).
const firstLookback = 7 * 24 * time.Hour

// Job is the retention job.
type Job struct {
	Entries  Entries
	Requests Requests
	Objects  Objects
	Continue Continuer
	// Restrictions, Registry and Notices end statutory restrictions.
	Restrictions Restrictions
	Registry     dsr.Registry
	Notices      Notices
	// ProvenanceYears is how long an entry of a purpose that says nothing
	// else is kept (dsr.Registry.ProvenanceYears): a due entry whose
	// purpose now keeps it longer than it was stored for is renewed, not
	// deleted.
	ProvenanceYears int
	// ReportDays is the reports' download window (the bucket lifecycle's
	// ReportRetentionDays); AccountabilityYears how long request records
	// keep their identifiers.
	ReportDays          int
	AccountabilityYears int
	// Reserve is the time kept before the deadline: a run with less left
	// saves its checkpoint and continues in a new invocation.
	Reserve time.Duration
	Log     *slog.Logger
	Clock   dsr.Clock
}

// Summary is what one run did.
type Summary struct {
	// Days is the expiry days (and today so far) the sweep looked at.
	Days int `json:"days"`
	// ItemsRead is the expiry index items read: the sweep's cost.
	ItemsRead int `json:"itemsRead"`
	Deleted   int `json:"deleted"`
	Held      int `json:"held"`
	// Renewed: due entries kept longer, their purpose's years being
	// longer than those they were stored with.
	Renewed          int `json:"renewed"`
	ObjectsDeleted   int `json:"objectsDeleted"`
	RequestsStripped int `json:"requestsStripped"`
	// AddressesRemoved: failed requests past their due date that lost
	// their plain address.
	AddressesRemoved int `json:"addressesRemoved"`
	// RestrictedDeleted counts the restricted records deleted (or found
	// gone) because their statutory duty had ended.
	RestrictedDeleted int  `json:"restrictedDeleted"`
	Continued         bool `json:"continued"` // the deadline came; a new invocation goes on
	// Superseded: another run saved the checkpoint first; this one stopped.
	Superseded bool `json:"superseded,omitempty"`
}

// errStop ends a run early: the deadline is near (continued) or another run
// is ahead.
var errStop = errors.New("stop")

// Run runs the job at now, from the stored checkpoint.
func (j *Job) Run(ctx context.Context, now time.Time) (Summary, error) {
	now = now.UTC()
	var sum Summary
	cp, err := j.Entries.Checkpoint(ctx)
	if err != nil {
		return sum, err
	}
	r := run{job: j, ctx: ctx, now: now, cp: cp, sum: &sum}
	// Every phase once, starting where a stopped run left off.
	phases := []func() error{r.sweep, r.objects, r.strip, r.forget, r.restrictions}
	start := cp.Phase % len(phases)
	for i := range phases {
		r.phase = (start + i) % len(phases)
		err := error(nil)
		if i > 0 {
			err = r.pause() // the next phase in a new invocation if time is short
		}
		if err == nil {
			err = phases[r.phase]()
		}
		if errors.Is(err, errStop) {
			break
		}
		if err != nil {
			return sum, err
		}
		if i == len(phases)-1 && r.cp.Phase != 0 {
			r.cp.Phase = 0
			if err := r.save(); err != nil && !errors.Is(err, errStop) {
				return sum, err
			}
		}
	}
	j.Log.InfoContext(ctx, "retention run", "event", "retention_run", "days", sum.Days, "itemsRead", sum.ItemsRead,
		"deleted", sum.Deleted, "held", sum.Held, "renewed", sum.Renewed, "objectsDeleted", sum.ObjectsDeleted,
		"requestsStripped", sum.RequestsStripped, "addressesRemoved", sum.AddressesRemoved, "restrictedDeleted", sum.RestrictedDeleted,
		"continued", sum.Continued, "superseded", sum.Superseded)
	return sum, nil
}

type run struct {
	job   *Job
	phase int // the phase running
	ctx   context.Context
	now   time.Time
	cp    dsr.RetentionCheckpoint
	sum   *Summary
	open  map[string]bool // subject keys with an open request, read on first need
}

// save stores the checkpoint; another run having saved first stops this one.
func (r *run) save() error {
	v, err := r.job.Entries.SaveCheckpoint(r.ctx, r.cp)
	if dsr.ErrorCodeOf(err) == dsr.EConflict {
		r.sum.Superseded = true
		return errStop
	}
	if err != nil {
		return err
	}
	r.cp.Version = v
	return nil
}

// pause saves the checkpoint and continues in a new invocation if the
// deadline is near.
func (r *run) pause() error {
	deadline, ok := r.ctx.Deadline()
	if !ok || time.Until(deadline) >= r.job.Reserve {
		return nil
	}
	r.cp.Phase = r.phase
	if err := r.save(); err != nil {
		return err
	}
	if err := r.job.Continue.Continue(r.ctx); err != nil {
		return err
	}
	r.sum.Continued = true
	return errStop
}

// expiryDay is the UTC calendar day of t, as the checkpoint names it.
func expiryDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// sweep deletes the due provenance entries of every expiry day from the
// checkpoint's to today, page by page, saving the checkpoint after each
// page that changed something and at the end of each day. Today stays the
// checkpoint's day: entries expiring later today are due tomorrow.
func (r *run) sweep() error {
	today := expiryDay(r.now)
	if r.cp.Day == "" {
		r.cp.Day = expiryDay(r.now.Add(-firstLookback))
	}
	for {
		r.sum.Days++
		for !r.cp.DaySwept {
			n, err := r.page()
			if err != nil {
				return err
			}
			if n > 0 {
				if err := r.save(); err != nil {
					return err
				}
			}
			if err := r.pause(); err != nil {
				return err
			}
		}
		if r.cp.Day >= today {
			r.cp.DaySwept = false
			return r.save()
		}
		day, err := time.Parse(time.DateOnly, r.cp.Day)
		if err != nil {
			return fmt.Errorf("retention checkpoint day %q: %w", r.cp.Day, err)
		}
		r.cp.Day, r.cp.DaySwept = expiryDay(day.AddDate(0, 0, 1)), false
		if err := r.save(); err != nil {
			return err
		}
	}
}

// page handles the checkpoint's page of its day, moves the checkpoint past
// it and returns how many entries it deleted or held.
func (r *run) page() (int, error) {
	keys, next, read, err := r.job.Entries.Due(r.ctx, r.cp.Day, r.cp.Position, r.now, PageSize)
	if err != nil {
		return 0, err
	}
	r.sum.ItemsRead += read
	if keys, err = r.renew(keys); err != nil {
		return 0, err
	}
	var del, hold []dsr.ProvenanceKey
	for _, k := range keys {
		if r.open == nil {
			if r.open, err = r.job.Requests.OpenSubjects(r.ctx, r.now); err != nil {
				return 0, err
			}
		}
		if r.open[k.SubjectKey] {
			hold = append(hold, k)
		} else {
			del = append(del, k)
		}
	}
	if err := r.job.Entries.Delete(r.ctx, del); err != nil {
		return 0, err
	}
	if err := r.job.Entries.Hold(r.ctx, hold, r.now); err != nil {
		return 0, err
	}
	r.sum.Deleted += len(del)
	r.sum.Held += len(hold)
	r.cp.Position = next
	if next == "" {
		r.cp.DaySwept = true
	}
	return len(keys), nil
}

// renew renews the due entries of keys whose purpose keeps them longer
// than they were stored for (an entry stored before its purpose's
// provenance years were raised) and returns the others, still due.
func (r *run) renew(keys []dsr.ProvenanceKey) ([]dsr.ProvenanceKey, error) {
	if len(keys) == 0 {
		return keys, nil
	}
	years := func(purpose string) int { return r.job.Registry.ProvenanceYears(purpose, r.job.ProvenanceYears) }
	renewed, err := r.job.Entries.Renew(r.ctx, keys, years, r.now)
	if err != nil || len(renewed) == 0 {
		return keys, err
	}
	gone := map[[2]string]bool{}
	for _, k := range renewed {
		gone[[2]string{k.SubjectKey, k.Entry}] = true
	}
	r.sum.Renewed += len(renewed)
	return slices.DeleteFunc(slices.Clone(keys), func(k dsr.ProvenanceKey) bool { return gone[[2]string{k.SubjectKey, k.Entry}] }), nil
}

// objects deletes reports and certificates past their download window.
func (r *run) objects() error {
	n, err := r.job.Objects.DeleteOlderThan(r.ctx, r.now.AddDate(0, 0, -r.job.ReportDays))
	r.sum.ObjectsDeleted += n
	return err
}

// strip removes the identifiers of request records received before the
// accountability cutoff and after the last run's, in every status, and
// records it in each request's trail. Its position (status and index page)
// is in the checkpoint, so a continuation resumes there.
func (r *run) strip() error {
	cutoff := dsr.AccountabilityCutoff(r.now, r.job.AccountabilityYears)
	if !cutoff.After(r.cp.StrippedBefore) {
		return nil
	}
	for ; r.cp.StripStatus < len(dsr.Statuses); r.cp.StripStatus, r.cp.StripCursor = r.cp.StripStatus+1, "" {
		for {
			ids, next, err := r.job.Requests.ReceivedPage(r.ctx, dsr.Statuses[r.cp.StripStatus], r.cp.StrippedBefore, cutoff, r.cp.StripCursor)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := r.stripOne(id); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			r.cp.StripCursor = next
			if err := r.pause(); err != nil {
				return err
			}
		}
	}
	r.cp.StrippedBefore, r.cp.StripStatus, r.cp.StripCursor = cutoff, 0, ""
	return r.save()
}

// stripOne strips request id, with the step that records it; a request
// stripped already (by an earlier run) is left as it is.
func (r *run) stripOne(id string) error {
	detail := fmt.Sprintf("identifiers removed after the %d-year accountability retention", r.job.AccountabilityYears)
	err := r.job.Requests.StripIdentifiers(r.ctx, id, r.now,
		dsr.Step{Actor: dsr.SystemActor("retention"), Action: dsr.AuditIdentifiersRemoved, Detail: detail, At: r.now})
	switch {
	case err == nil:
		r.sum.RequestsStripped++
	case dsr.ErrorCodeOf(err) != dsr.EConflict:
		return err
	}
	return nil
}

// firstDue is where the first run's look for failed requests past their
// due date starts: before any request of the pipeline was due.
var firstDue = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// forget removes the plain address of the failed requests whose due date
// passed since the last run (Art. 5(1)(c), (e)): a DPO may retry a failed
// request until its due date, not after, so the address has no use left;
// the subject key and the masked form stay. It reads the status/due index
// (never a Scan) from the checkpoint's due time and cursor, and records the
// removal in each request's trail. A request failing after its due date
// loses the address with that step itself (dsr.Request.AddressExpiresWith).
func (r *run) forget() error {
	from := r.cp.ForgottenBefore
	if from.IsZero() {
		from = firstDue
	}
	for {
		ids, next, err := r.job.Requests.DuePage(r.ctx, dsr.StatusFailed, from, r.now, r.cp.ForgetCursor)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := r.forgetOne(id); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		r.cp.ForgetCursor = next
		if err := r.pause(); err != nil {
			return err
		}
	}
	r.cp.ForgottenBefore, r.cp.ForgetCursor = r.now, ""
	return r.save()
}

// forgetOne removes request id's address, with the step that records it;
// a request retried meanwhile, or whose address is gone already, is left
// as it is.
func (r *run) forgetOne(id string) error {
	err := r.job.Requests.ForgetAddress(r.ctx, id, r.now,
		dsr.Step{Actor: dsr.SystemActor("retention"), Action: dsr.AuditAddressRemoved, Detail: "failed and past its due date: plain address removed", At: r.now})
	switch {
	case err == nil:
		r.sum.AddressesRemoved++
	case dsr.ErrorCodeOf(err) != dsr.EConflict:
		return err
	}
	return nil
}

// Handler is the retention function: its daily schedule and its
// continuation queue invoke the same job.
type Handler struct {
	Job *Job
	Log *slog.Logger
}

// Invoke handles one invocation: an EventBridge scheduled event (the answer
// is the run's Summary; the run's time is the event's, the time it was
// scheduled for) or an SQS batch of continuation messages (the answer is an
// SQSEventResponse; a failed run fails the batch).
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var probe struct {
		Records []events.SQSMessage `json:"Records"`
		Time    time.Time           `json:"time"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("retention: the event is not an EventBridge or SQS event: %w", err)
	}
	now := h.Job.Clock.Now()
	if len(probe.Records) == 0 && !probe.Time.IsZero() {
		now = probe.Time
	}
	sum, err := h.Job.Run(ctx, now)
	if err != nil {
		h.Log.ErrorContext(ctx, "retention run failed", "error", err.Error())
		return nil, err
	}
	if len(probe.Records) > 0 {
		return json.Marshal(events.SQSEventResponse{})
	}
	return json.Marshal(sum)
}
