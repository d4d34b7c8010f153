package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/privacyops/dsr/internal/dsr"
)

// RequestStore is the part of the request store the seed writes to: a
// request with the steps of its trail.
type RequestStore interface {
	Create(ctx context.Context, r *dsr.Request, steps ...dsr.Step) error
}

// demoRequest is one of the DPO's demo requests: received daysAgo days
// before today, at 09:30 UTC.
type demoRequest struct {
	email   string
	typ     dsr.Type
	status  dsr.Status
	daysAgo int
}

// demoRequests give the DPO console something to do: ada's access request,
// in progress and overdue (received 40 days ago), and grace's erasure,
// verified and queued, due within 7 days (received 26 days ago).
var demoRequests = []demoRequest{
	{Ada, dsr.TypeAccess, dsr.StatusInProgress, 40},
	{Grace, dsr.TypeErasure, dsr.StatusQueued, 26},
}

// Requests stores the DPO's demo requests as the pipeline would have left
// them, with their audit trails, and returns their ids. Nothing sends them
// on: no queue message exists for them, so they stay where they are. The
// ids are derived from the day, so a second run on the same day finds them
// stored and adds nothing. Their status tokens are thrown away: only the
// DPO routes show them.
func Requests(ctx context.Context, store RequestStore, hasher *dsr.Hasher, reg dsr.Registry,
	deadline dsr.DeadlinePolicy, now time.Time) ([]string, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	var ids []string
	for _, d := range demoRequests {
		r, err := d.request(hasher, reg, deadline, today)
		if err != nil {
			return nil, err
		}
		switch err := store.Create(ctx, r, trail(r)...); {
		case dsr.ErrorCodeOf(err) == dsr.EConflict: // seeded today already
		case err != nil:
			return nil, fmt.Errorf("seed request: %w", err)
		}
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// request builds the stored form of d, received on today's date less
// d.daysAgo.
func (d demoRequest) request(hasher *dsr.Hasher, reg dsr.Registry, deadline dsr.DeadlinePolicy, today time.Time) (*dsr.Request, error) {
	received := today.AddDate(0, 0, -d.daysAgo).Add(9*time.Hour + 30*time.Minute)
	verified := received.Add(10 * time.Minute)
	_, tokenHash, err := dsr.NewStatusToken()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(d.email + "\x1f" + string(d.typ) + "\x1f" + today.Format(time.DateOnly)))
	id, err := ulid.New(ulid.Timestamp(received), bytes.NewReader(sum[:]))
	if err != nil {
		return nil, err
	}
	r := &dsr.Request{
		ID: id.String(), Type: d.typ, Status: d.status, Email: d.email, SubjectKey: hasher.Subject(d.email),
		TokenHash: tokenHash, ReceivedAt: received, VerifiedAt: verified, UpdatedAt: verified,
		DueAt: deadline.Due(received, 1),
	}
	if deadline.Start == dsr.ClockAtVerification {
		r.DueAt = deadline.Due(verified, 1)
	}
	if d.status == dsr.StatusInProgress {
		if r.PlannedPurposes, err = dsr.Plan(r, reg); err != nil {
			return nil, err
		}
		r.DoneParts = map[string]int{}
		r.UpdatedAt = verified.Add(2 * time.Second)
	}
	return r, nil
}

// trail is the steps that brought r where it is, as the intake and
// dispatch functions write them.
func trail(r *dsr.Request) []dsr.Step {
	steps := []dsr.Step{
		{Actor: dsr.ActorSubject, Action: dsr.AuditReceived, Detail: string(r.Type) + " request; verification code e-mailed", At: r.ReceivedAt},
		{Actor: dsr.ActorSubject, Action: dsr.AuditVerified, Detail: "code verified; queued", At: r.VerifiedAt},
	}
	if r.Status == dsr.StatusInProgress {
		steps = append(steps, dsr.Step{Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditDispatched,
			Detail: "purposes: " + strings.Join(r.PlannedPurposes, ", "), At: r.UpdatedAt})
	}
	return steps
}
