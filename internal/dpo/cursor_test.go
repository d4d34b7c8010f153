package dpo_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
)

// countingStore counts the list's store calls: a bad cursor makes none.
type countingStore struct {
	dpo.Store
	lists int
}

func (c *countingStore) List(ctx context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error) {
	c.lists++
	return c.Store.List(ctx, q)
}

func TestListCursors(t *testing.T) {
	e := newEnv(t)
	store := &countingStore{Store: e.h.Service.Store}
	e.h.Service.Store = store
	_, m := e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"limit": "2"}, "")
	cursor := m["cursor"].(string)
	raw, _ := base64.RawURLEncoding.DecodeString(cursor[:strings.IndexByte(cursor, '.')])
	forged := base64.RawURLEncoding.EncodeToString(append(raw, 'x')) + cursor[strings.IndexByte(cursor, '.'):]
	for _, tc := range []struct {
		name  string
		query map[string]string
	}{
		{"forged", map[string]string{"cursor": forged}},
		{"no seal", map[string]string{"cursor": base64.RawURLEncoding.EncodeToString(raw)}},
		{"garbage", map[string]string{"cursor": "!!.??"}},
		{"of another filter", map[string]string{"cursor": cursor, "status": "queued"}},
		{"of another type", map[string]string{"cursor": cursor, "type": "erasure"}},
		{"empty", map[string]string{"cursor": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := store.lists
			status, m := e.call(t, dpo.RouteList, "", dpoClaims, tc.query, "")
			if status != 400 || m["errors"].([]any)[0].(map[string]any)["field"] != "cursor" {
				t.Errorf("%d %v, want 400 naming the cursor", status, m)
			}
			if store.lists != before {
				t.Error("the store was asked")
			}
		})
	}
	// The same filters with another limit go on from the cursor.
	if status, m := e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"limit": "3", "cursor": cursor}, ""); status != 200 || len(m["items"].([]any)) != 3 {
		t.Errorf("next page: %d %v", status, m)
	}
}

func TestQueryParameters(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		route string
		query map[string]string
		field string
	}{
		{dpo.RouteList, map[string]string{"sort": "due"}, "sort"},
		{dpo.RouteList, map[string]string{"limit": ""}, "limit"},
		{dpo.RouteList, map[string]string{"status": ""}, "status"},
		{dpo.RouteList, map[string]string{strings.Repeat("x", 300): "ada@example.com"}, strings.Repeat("x", 64)},
		{dpo.RouteMetrics, map[string]string{"since": "2027-01-01"}, "since"},
		{dpo.RouteDetail, map[string]string{"cursor": "x"}, "cursor"},
		{dpo.RouteAudit, map[string]string{"full": "true"}, "full"},
	} {
		status, m := e.call(t, tc.route, ids["running"], dpoClaims, tc.query, "")
		if status != 400 || m["errors"].([]any)[0].(map[string]any)["field"] != tc.field || strings.Contains(fmt.Sprint(m), "ada@") {
			t.Errorf("%s %v: %d %v, want 400 naming %.20q", tc.route, tc.query, status, m, tc.field)
		}
	}
}

// The detail holds the newest page of the trail, with a cursor to the
// older; the check reads the whole chain page by page.
func TestAuditPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := ids["complete"]
	setup := len(e.audit.Actions(id))
	n := 2*dpo.AuditPage + 30
	for i := range n {
		must(t, e.audit.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.ActorSubject, Action: dsr.AuditLinkIssued, Detail: fmt.Sprint("link ", i+1), At: e.now.Add(time.Duration(i) * time.Second)}))
	}
	var pages [][2]float64 // first and last seq of each page
	query := map[string]string(nil)
	for range 5 {
		status, m := e.call(t, dpo.RouteDetail, id, dpoClaims, query, "")
		if status != 200 {
			t.Fatalf("detail: %d %v", status, m)
		}
		audit := m["audit"].([]any)
		pages = append(pages, [2]float64{audit[0].(map[string]any)["seq"].(float64), audit[len(audit)-1].(map[string]any)["seq"].(float64)})
		next, ok := m["auditCursor"].(string)
		if !ok {
			break
		}
		query = map[string]string{"auditCursor": next}
	}
	total := float64(setup + n)
	want := [][2]float64{{total - 99, total}, {total - 199, total - 100}, {1, total - 200}}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages, newest first, each oldest first (-want +got):\n%s", diff)
	}
	// A cursor of another request's trail is refused.
	_, m := e.call(t, dpo.RouteDetail, id, dpoClaims, nil, "")
	if status, _ := e.call(t, dpo.RouteDetail, ids["running"], dpoClaims, map[string]string{"auditCursor": m["auditCursor"].(string)}, ""); status != 400 {
		t.Errorf("another request's cursor: %d", status)
	}
	if status, m := e.call(t, dpo.RouteAudit, id, dpoClaims, nil, ""); status != 200 || m["intact"] != true || m["entries"] != total {
		t.Errorf("check: %d %v", status, m)
	}
}
