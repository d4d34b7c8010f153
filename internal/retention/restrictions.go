package retention

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Restrictions is the due list of statutory restrictions and the purpose
// tables as the job uses them (dynamo.Contacts): DueRestrictions returns up
// to limit entries of a month (2006-01) whose day has come at now;
// EndRestrictions deletes the items of p those entries name that are still
// restricted until then, reads them back, and returns the entries whose
// items are gone; DropDue deletes entries.
type Restrictions interface {
	DueRestrictions(ctx context.Context, month string, now time.Time, limit int) ([]dsr.DueRestriction, error)
	EndRestrictions(ctx context.Context, p dsr.Purpose, due []dsr.DueRestriction, now time.Time) ([]dsr.DueRestriction, error)
	DropDue(ctx context.Context, due []dsr.DueRestriction) error
}

// Notices takes the Art. 19 notices to recipients.
type Notices interface {
	SendNotices(ctx context.Context, notices []dsr.RecipientNotice) error
}

// restrictionLookbackYears is how far back the first run reads the due
// list. Entries are written when an erasure restricts, each for a day after
// it, so none is older than the first erasure after deployment; ten years
// back (a Query per month, once) covers a first run long after that, and a
// run fired with a time years ahead (the local stack's tests).
const restrictionLookbackYears = 10

// dueMonth is the UTC month of t, as the due list and the checkpoint name it.
func dueMonth(t time.Time) string { return t.UTC().Format("2006-01") }

// restrictions ends the statutory restrictions whose day has come: month by
// month of the due list from the checkpoint's to this one, a page at a
// time, each page's items deleted, recorded and told (endPage), its entries
// dropped, and the checkpoint saved. This month stays the checkpoint's: its
// later days are due later.
func (r *run) restrictions() error {
	this := dueMonth(r.now)
	if r.cp.RestrictionMonth == "" {
		r.cp.RestrictionMonth = dueMonth(r.now.AddDate(-restrictionLookbackYears, 0, 0))
	}
	for {
		due, err := r.job.Restrictions.DueRestrictions(r.ctx, r.cp.RestrictionMonth, r.now, PageSize)
		if err != nil {
			return err
		}
		if len(due) > 0 {
			if err := r.endPage(due); err != nil {
				return err
			}
			if err := r.save(); err != nil {
				return err
			}
			if err := r.pause(); err != nil {
				return err
			}
			continue
		}
		if r.cp.RestrictionMonth >= this {
			return r.save()
		}
		month, err := time.Parse("2006-01", r.cp.RestrictionMonth)
		if err != nil {
			return fmt.Errorf("retention checkpoint month %q: %w", r.cp.RestrictionMonth, err)
		}
		r.cp.RestrictionMonth = dueMonth(month.AddDate(0, 1, 0))
	}
}

// endPage ends the restrictions of one page of due entries: per purpose,
// the items still restricted until their day are deleted and read back;
// per erasure, purpose and day, the recipients are told and the step
// recorded (ended); then the page's entries are dropped. Entries whose item
// is still there under a later until (a DPO's extension, with its own
// entry) are dropped without more.
func (r *run) endPage(due []dsr.DueRestriction) error {
	byPurpose := map[string][]dsr.DueRestriction{}
	for _, d := range due {
		byPurpose[d.Purpose] = append(byPurpose[d.Purpose], d)
	}
	type group struct {
		request, purpose string
		until            time.Time
	}
	groups := map[group]int{}
	for name, ds := range byPurpose {
		p, ok := r.job.Registry.Lookup(name)
		if !ok {
			return fmt.Errorf("due restriction of purpose %q, which the registry does not have", name)
		}
		gone, err := r.job.Restrictions.EndRestrictions(r.ctx, p, ds, r.now)
		if err != nil {
			return err
		}
		for _, d := range gone {
			groups[group{d.RequestID, d.Purpose, d.Until.UTC()}]++
		}
	}
	keys := make([]group, 0, len(groups))
	for g := range groups {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, g := range keys {
		if err := r.ended(g.request, g.purpose, g.until); err != nil {
			return err
		}
		r.sum.RestrictedDeleted += groups[g]
	}
	return r.job.Restrictions.DropDue(r.ctx, due)
}

// ended tells the recipients of erasure id's purpose that its data
// restricted until until is deleted (Art. 19; the same notice ids on every
// run) and records it on the erasure's trail, once (a run that recorded it
// already leaves it).
func (r *run) ended(id, purpose string, until time.Time) error {
	req, err := r.job.Requests.Get(r.ctx, id)
	if err != nil {
		return fmt.Errorf("restriction of request %s ended: %w", id, err)
	}
	notices := dsr.RestrictionEndedNotices(req, purpose, until, r.now)
	if len(notices) > 0 {
		if err := r.job.Notices.SendNotices(r.ctx, notices); err != nil {
			return err
		}
	}
	err = r.job.Requests.RecordRestriction(r.ctx, id, dsr.RestrictionEndedToken(purpose, until), r.now,
		dsr.RestrictionEndedStep(purpose, until, len(notices), r.now))
	switch {
	case err == nil:
		r.job.Log.InfoContext(r.ctx, "statutory restriction ended", "dsrId", id, "purpose", purpose, "until", until.Format(time.DateOnly),
			"recipients", len(notices), "event", "restriction_ended")
	case dsr.ErrorCodeOf(err) != dsr.EConflict:
		return err
	}
	return nil
}
