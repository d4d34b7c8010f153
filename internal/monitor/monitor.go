// Package monitor is the daily deadline monitor: it ends requests left
// unverified for 7 days as expired, finds open requests due within 7 days
// and overdue, emits the figures as CloudWatch metrics in Embedded Metric
// Format, and sends the DPO a digest.
package monitor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/emf"
)

// UnverifiedFor is how long a request may wait for its code to be verified.
const UnverifiedFor = 7 * 24 * time.Hour

// DueSoon is how far ahead the monitor warns.
const DueSoon = 7 * 24 * time.Hour

// Store finds requests through the requests table's indexes and ends them.
type Store interface {
	List(ctx context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error)
	Unverified(ctx context.Context, before time.Time, cursor string) ([]string, string, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
}

// Mailer sends the digest.
type Mailer interface {
	Send(ctx context.Context, m dsr.Mail) error
}

// Limits reads the day's digest of the per-person limits people reached.
type Limits interface {
	Digest(ctx context.Context, day string) (dsr.LimitDigest, error)
}

// Unkeyable reads how many contact records of each purpose were first found
// without a usable identifier on a day (dynamo.Keying).
type Unkeyable interface {
	UnkeyableDigest(ctx context.Context, day string) (map[string]int, error)
}

// Handler runs the monitor on each scheduled event.
type Handler struct {
	Store      Store
	Limits     Limits    // nil: no limits in the digest
	Unkeyable  Unkeyable // nil: no unkeyable records in the digest
	Mailer     Mailer
	DPOAddress string
	// Zone is the deadlines' time zone (the controller's): the digest
	// prints due dates in it, as the DPO counts them (nil: UTC).
	Zone *time.Location
	// Metrics receives one EMF line per run (os.Stdout in Lambda, where
	// CloudWatch Logs turns it into metrics).
	Metrics io.Writer
	Log     *slog.Logger
	Clock   dsr.Clock
}

// Run is what one run found and did.
type Run struct {
	At      time.Time
	Zone    *time.Location // the deadlines' zone (nil: UTC)
	Expired int
	Overdue []*dsr.Request
	DueSoon []*dsr.Request
	// Limited is the digest of the UTC day before the run's: how many
	// people reached each per-person limit (a sign of someone guessing
	// codes or mail-bombing an address).
	Limited dsr.LimitDigest
	// Unkeyable is, per purpose, how many contact records were first found
	// the UTC day before the run's with an identifier that gives no subject
	// key: nobody's request finds them until the CRM fixes them.
	Unkeyable map[string]int
}

func (r *Run) unkeyable() int {
	n := 0
	for _, c := range r.Unkeyable {
		n += c
	}
	return n
}

// limitedPeople is how many people reached a per-person limit.
func (r *Run) limitedPeople() int {
	n := 0
	for _, c := range r.Limited.People {
		n += c
	}
	return n
}

// Handle runs the monitor for the event's time (its schedule's time).
func (h *Handler) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	now := ev.Time.UTC()
	if now.IsZero() {
		now = h.Clock.Now()
	}
	run, err := h.Run(ctx, now)
	if err != nil {
		return err
	}
	if err := h.emit(run); err != nil {
		return err
	}
	h.Log.InfoContext(ctx, "deadline monitor ran", "expired", run.Expired, "overdue", len(run.Overdue), "dueWithin7Days", len(run.DueSoon), "event", "monitored")
	if run.Expired+len(run.Overdue)+len(run.DueSoon)+run.limitedPeople()+run.unkeyable() == 0 {
		return nil
	}
	if err := h.Mailer.Send(ctx, Digest(run, h.DPOAddress)); err != nil {
		// Failing the run would have it retried, counting its metrics twice;
		// the dashboard and the metrics hold the same figures.
		h.Log.ErrorContext(ctx, "digest not sent", "error", err.Error())
	}
	return nil
}

// Run expires requests unverified since before now-7d, then lists the open
// requests due before now+7d, page by page from the status/due index.
func (h *Handler) Run(ctx context.Context, now time.Time) (*Run, error) {
	run := &Run{At: now, Zone: h.Zone}
	h.digests(ctx, run)
	if err := h.expireUnverified(ctx, run); err != nil {
		return nil, err
	}
	if err := h.dueSoon(ctx, run); err != nil {
		return nil, err
	}
	return run, nil
}

// digests reads yesterday's limits and unkeyable digests into run. The
// deadlines matter more: a digest that cannot be read is logged, and the
// run goes on without it.
func (h *Handler) digests(ctx context.Context, run *Run) {
	day := run.At.AddDate(0, 0, -1).Format(time.DateOnly)
	var err error
	if h.Limits != nil {
		if run.Limited, err = h.Limits.Digest(ctx, day); err != nil {
			h.Log.ErrorContext(ctx, "limits digest not read", "error", err.Error())
		}
	}
	if h.Unkeyable != nil {
		if run.Unkeyable, err = h.Unkeyable.UnkeyableDigest(ctx, day); err != nil {
			h.Log.ErrorContext(ctx, "unkeyable records not read", "error", err.Error())
		}
	}
}

// expireUnverified expires the requests not verified within UnverifiedFor,
// page by page, each with its audit step.
func (h *Handler) expireUnverified(ctx context.Context, run *Run) error {
	for cursor := ""; ; {
		ids, next, err := h.Store.Unverified(ctx, run.At.Add(-UnverifiedFor), cursor)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := h.expire(ctx, run, id); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// expire moves request id from awaiting verification to expired; one that
// was verified meanwhile is left as it is.
func (h *Handler) expire(ctx context.Context, run *Run, id string) error {
	reason := "not verified within 7 days"
	err := h.Store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusExpired, run.At, dsr.Changes{FailureReason: reason},
		dsr.Step{Actor: dsr.SystemActor("monitor"), Action: dsr.AuditExpired, Detail: reason, At: run.At})
	switch {
	case dsr.ErrorCodeOf(err) == dsr.EConflict:
		return nil
	case err != nil:
		return err
	}
	run.Expired++
	h.Log.InfoContext(ctx, "unverified request expired", "dsrId", id, "event", "expired")
	return nil
}

// dueSoon lists the open requests due within DueSoon into run, overdue
// apart.
func (h *Handler) dueSoon(ctx context.Context, run *Run) error {
	q := dsr.ListQuery{Statuses: dsr.OpenStatuses, DueBefore: run.At.Add(DueSoon), Limit: dsr.MaxListLimit}
	for {
		rs, cursor, err := h.Store.List(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Overdue(run.At) {
				run.Overdue = append(run.Overdue, r)
			} else {
				run.DueSoon = append(run.DueSoon, r)
			}
		}
		if cursor == "" {
			return nil
		}
		q.Cursor = cursor
	}
}

// emit writes the run's figures as one Embedded Metric Format record.
func (h *Handler) emit(run *Run) error {
	if h.Metrics == nil {
		return nil
	}
	return emf.Write(h.Metrics, run.At, nil, map[string]int{
		"OverdueRequests":           len(run.Overdue),
		"RequestsDueWithin7Days":    len(run.DueSoon),
		"UnverifiedRequestsExpired": run.Expired,
		"PeopleAtLimitsYesterday":   run.limitedPeople(),
		"UnkeyableRecordsYesterday": run.unkeyable(),
	})
}

// limitWords explain the per-person limits in the digest.
var limitWords = map[string]string{
	dsr.LimitWrongCodes:   "wrong codes for one address, across its requests",
	dsr.LimitCodes:        "codes e-mailed to one address",
	dsr.LimitOpenRequests: "requests of one address waiting for their code",
}

// Digest is the DPO's daily message: what is overdue, what is due within 7
// days, what expired; subjects masked.
func Digest(run *Run, to string) dsr.Mail {
	var b strings.Builder
	zone := run.Zone
	if zone == nil {
		zone = time.UTC
	}
	fmt.Fprintf(&b, "Deadline monitor, %s (UTC).\n\n", run.At.Format("2 January 2006, 15:04"))
	section := func(title string, rs []*dsr.Request) {
		fmt.Fprintf(&b, "%s: %d\n", title, len(rs))
		for _, r := range rs {
			fmt.Fprintf(&b, "  %s  %-10s %-22s due %s  %s\n", r.ID, r.Type, r.Status, r.DueAt.In(zone).Format("2006-01-02 15:04 MST"), r.Masked())
		}
		b.WriteString("\n")
	}
	section("Overdue", run.Overdue)
	section("Due within 7 days", run.DueSoon)
	fmt.Fprintf(&b, "Unverified for 7 days and now expired: %d\n\n", run.Expired)
	if n := run.limitedPeople(); n > 0 {
		fmt.Fprintf(&b, "People who reached a per-person limit on %s (UTC): %d\n", run.Limited.Day, n)
		for _, l := range slices.Sorted(maps.Keys(run.Limited.People)) {
			fmt.Fprintf(&b, "  %-22s %d  %s\n", l, run.Limited.People[l], limitWords[l])
		}
		b.WriteString("Their new requests and codes waited until the next day. Many wrong codes for one address\n" +
			"is someone trying to guess a code for another person's data; the metric LimitReached has each refusal.\n\n")
	}
	if n := run.unkeyable(); n > 0 {
		fmt.Fprintf(&b, "Contact records found on %s (UTC) whose address is not one (no request can find them): %d\n", run.At.AddDate(0, 0, -1).Format(time.DateOnly), n)
		for _, p := range slices.Sorted(maps.Keys(run.Unkeyable)) {
			fmt.Fprintf(&b, "  %-22s %d\n", p, run.Unkeyable[p])
		}
		b.WriteString("The keying table lists their keys (partition unkeyable#<purpose>); correct their address in the CRM.\n\n")
	}
	b.WriteString("The DPO dashboard has the details (GET /v1/dpo/requests?overdue=true).\n")
	subject := fmt.Sprintf("Data-subject requests: %d overdue, %d due within 7 days", len(run.Overdue), len(run.DueSoon))
	return dsr.Mail{To: to, Subject: subject, Text: b.String(), RequestID: "digest"}
}
