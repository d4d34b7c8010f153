package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// list is the list and deadline part of the contract: its steps run in
// order on one set of requests (listed), the last moving a deadline. It
// uses only the statuses failed, rejected and expired with a due date,
// which no other case leaves behind, so it can share a table with them.
func list(t *testing.T, s Store, _ Options) {
	made := listed(t, s)
	steps := []struct {
		name string
		run  func(t *testing.T, s Store, made []string)
	}{
		{"ByStatusThenDuePageByPage", listByStatusThenDue},
		{"FilteredByTypeAndDue", listFilteredByTypeAndDue},
		{"FilteredAcrossPages", listFilteredAcrossPages},
		{"BadCursorInvalid", listBadCursorInvalid},
		{"DeadlineMovesOnlyWhenOpenFromTheExtensionSeen", deadlineMovesOnlyWhenOpen},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) { st.run(t, s, made) })
	}
}

// listed creates the list's requests and returns their ids, in this order:
// failed access due in 3 days, failed erasure due 2 days ago, rejected
// access due tomorrow, failed access due 5 days ago, expired objection due
// in 9 days, rejected erasure due yesterday.
func listed(t *testing.T, s Store) []string {
	ctx, now := t.Context(), requestsNow
	var made []string
	for i, tc := range []struct {
		st  dsr.Status
		typ dsr.Type
		due time.Time
	}{
		{dsr.StatusFailed, dsr.TypeAccess, now.AddDate(0, 0, 3)},
		{dsr.StatusFailed, dsr.TypeErasure, now.AddDate(0, 0, -2)},
		{dsr.StatusRejected, dsr.TypeAccess, now.AddDate(0, 0, 1)},
		{dsr.StatusFailed, dsr.TypeAccess, now.AddDate(0, 0, -5)},
		{dsr.StatusExpired, dsr.TypeObjection, now.AddDate(0, 0, 9)},
		{dsr.StatusRejected, dsr.TypeErasure, now.AddDate(0, 0, -1)},
	} {
		r := newRequest()
		r.Type, r.DueAt = tc.typ, tc.due
		if tc.typ == dsr.TypeObjection {
			r.Scope = dsr.ScopeDirectMarketing
		}
		must(t, s.Create(ctx, r, aStep))
		switch tc.st {
		case dsr.StatusFailed:
			must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
			must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusFailed, now, dsr.Changes{FailureReason: fmt.Sprint("case ", i)}, aStep))
		default:
			must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, tc.st, now, dsr.Changes{}, aStep))
		}
		made = append(made, r.ID)
	}
	return made
}

// listAll reads every page of q, failing on a page larger than q.Limit.
func listAll(t *testing.T, s Store, q dsr.ListQuery) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("list paging does not end")
		}
		rs, cursor, err := s.List(t.Context(), q)
		must(t, err)
		if len(rs) > q.Limit {
			t.Fatalf("page of %d, limit %d", len(rs), q.Limit)
		}
		got = append(got, requestIDs(rs)...)
		if cursor == "" {
			return got
		}
		q.Cursor = cursor
	}
}

func requestIDs(rs []*dsr.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// listByStatusThenDue: the statuses in the query's order, each by due date, two a page.
func listByStatusThenDue(t *testing.T, s Store, made []string) {
	got := listAll(t, s, dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed, dsr.StatusRejected, dsr.StatusExpired}, Limit: 2})
	wantDiff(t, "list order", []string{made[3], made[1], made[0], made[5], made[2], made[4]}, got)
}

// listFilteredByTypeAndDue: the filters type and due before now (overdue) give the matches, in order.
func listFilteredByTypeAndDue(t *testing.T, s Store, made []string) {
	q := dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed, dsr.StatusRejected}, Type: dsr.TypeErasure, DueBefore: requestsNow, Limit: 10}
	rs, cursor, err := s.List(t.Context(), q)
	must(t, err)
	wantDiff(t, "cursor after the one page", "", cursor)
	wantDiff(t, "erasures due before now", []string{made[1], made[5]}, requestIDs(rs))
}

// listFilteredAcrossPages: a filter across pages gives every match once, in order.
func listFilteredAcrossPages(t *testing.T, s Store, made []string) {
	got := listAll(t, s, dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed, dsr.StatusRejected}, Type: dsr.TypeAccess, Limit: 1})
	wantDiff(t, "access requests, one a page", []string{made[3], made[0], made[2]}, got)
}

// listBadCursorInvalid: a cursor the store did not give is invalid.
func listBadCursorInvalid(t *testing.T, s Store, _ []string) {
	_, _, err := s.List(t.Context(), dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed}, Cursor: "not-a-cursor", Limit: 10})
	wantCode(t, "bad cursor", err, dsr.EInvalid)
}

// deadlineMovesOnlyWhenOpen: a deadline moves only for an open request, and only from the extension the caller saw.
func deadlineMovesOnlyWhenOpen(t *testing.T, s Store, made []string) {
	ctx, now := t.Context(), requestsNow
	id := made[0] // failed: open
	first := dsr.Extension{Months: 1, Reason: "four systems", By: "dpo-7", At: now, DueAt: now.AddDate(0, 1, 0)}
	wantCode(t, "set the deadline of a rejected request", s.SetDeadline(ctx, made[2], 0, first, aStep), dsr.EConflict)
	must(t, s.SetDeadline(ctx, id, 0, first, aStep))
	wantCode(t, "a second extension from 0 months", s.SetDeadline(ctx, id, 0, first, aStep), dsr.EConflict)
	second := dsr.Extension{Months: 1, Reason: "an archive to restore", By: "dpo-8", At: now.Add(time.Hour), DueAt: now.AddDate(0, 2, 0)}
	must(t, s.SetDeadline(ctx, id, 1, second, aStep))
	type deadline struct {
		DueAt      time.Time
		Months     int
		UpdatedAt  time.Time
		Extensions []dsr.Extension
	}
	r := mustGet(t, s, id)
	wantDiff(t, "after the extensions", deadline{second.DueAt, 2, second.At, []dsr.Extension{first, second}},
		deadline{r.DueAt, r.ExtendedMonths, r.UpdatedAt, r.Extensions})
}
