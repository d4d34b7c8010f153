package seed

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/memstore"
)

func TestRequests(t *testing.T) {
	ctx := context.Background()
	hasher, err := dsr.NewHasher([]byte("a pepper of sixteen bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	reg := dsr.Registry{{Name: "marketing"}, {Name: "billing"}}
	store := &memstore.Requests{}
	audit := store.Trail()
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	ids, err := Requests(ctx, store, hasher, reg, dsr.DeadlinePolicy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Type             dsr.Type
		Status           dsr.Status
		Email            string
		SubjectKey       string
		Overdue, DueSoon bool
		Planned          []string
		Actions          []dsr.AuditAction
		Intact           bool
	}
	want := []summary{
		{dsr.TypeAccess, dsr.StatusInProgress, Ada, hasher.Subject(Ada), true, false, []string{"marketing", "billing"},
			[]dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified, dsr.AuditDispatched}, true},
		{dsr.TypeErasure, dsr.StatusQueued, Grace, hasher.Subject(Grace), false, true, nil,
			[]dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified}, true},
	}
	var got []summary
	for _, id := range ids {
		r, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := audit.Entries(ctx, id)
		got = append(got, summary{
			r.Type, r.Status, r.Email, r.SubjectKey, r.DueAt.Before(now), r.DueAt.After(now) && r.DueAt.Before(now.Add(7*24*time.Hour)),
			r.PlannedPurposes, audit.Actions(id), checked(r, entries).Intact,
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demo requests (-want +got):\n%s", diff)
	}
	again, err := Requests(ctx, store, hasher, reg, dsr.DeadlinePolicy{}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids, again); diff != "" {
		t.Errorf("a second run the same day (-first +second):\n%s", diff)
	}
	if n := len(audit.Actions(ids[0])); n != 3 {
		t.Errorf("a second run wrote the trail again: %d entries", n)
	}
}

// checked is the DPO's integrity check of r's trail, entries.
func checked(r *dsr.Request, entries []dsr.AuditEntry) dsr.AuditCheck {
	c := dsr.NewAuditChecker(r.ID)
	for _, e := range entries {
		c.Add(e)
	}
	return c.Check(r)
}
