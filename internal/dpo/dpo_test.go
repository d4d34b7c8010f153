package dpo_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
)

type env struct {
	h      *dpo.Handler
	store  *memstore.Requests
	audit  *memstore.Audit
	queue  *dsrtest.Queue
	mailer *dsrtest.Mailer
	now    time.Time
}

var ids = map[string]string{
	"waiting":  "01JD0000000000000000000001",
	"running":  "01JD0000000000000000000002",
	"failed":   "01JD0000000000000000000003",
	"overdue":  "01JD0000000000000000000004",
	"complete": "01JD0000000000000000000005",
	"queued":   "01JD0000000000000000000006",
}

// newEnv stores five requests received on 2027-01-31 (due 2027-02-28), in
// the statuses their names say; "overdue" was received a month earlier.
func newEnv(t *testing.T) *env {
	t.Helper()
	store := &memstore.Requests{}
	e := &env{store: store, audit: store.Trail(), queue: &dsrtest.Queue{}, mailer: &dsrtest.Mailer{}, now: time.Date(2027, 2, 20, 9, 0, 0, 0, time.UTC)}
	e.h = &dpo.Handler{Service: &dpo.Service{
		Store: e.store, Queue: e.queue, Mailer: e.mailer, Trail: e.audit, Cursors: testHasher(t), Deadline: dsr.DeadlinePolicy{Location: time.UTC},
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Clock: func() time.Time { return e.now },
	}}
	ctx := context.Background()
	received := time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)
	policy := dsr.DeadlinePolicy{Location: time.UTC}
	for name, id := range ids {
		at := received
		if name == "overdue" {
			at = received.AddDate(0, -1, 0)
		}
		r := &dsr.Request{ID: id, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "ada.lovelace@example.com",
			ReceivedAt: at, UpdatedAt: at, DueAt: policy.Due(at, 1)}
		must(t, e.store.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
		path := map[string][]dsr.Status{
			"queued":   {dsr.StatusQueued},
			"running":  {dsr.StatusQueued, dsr.StatusInProgress},
			"failed":   {dsr.StatusQueued, dsr.StatusFailed},
			"overdue":  {dsr.StatusQueued, dsr.StatusInProgress},
			"complete": {dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusCompleted},
		}[name]
		from := dsr.StatusAwaitingVerification
		for _, to := range path {
			ch := dsr.Changes{}
			switch to {
			case dsr.StatusQueued:
				ch.VerifiedAt = at
			case dsr.StatusInProgress:
				ch.PlannedPurposes = []string{"marketing", "billing"}
			case dsr.StatusCompleted:
				ch.CompletedAt = at.Add(30 * time.Hour)
			case dsr.StatusFailed:
				ch.FailureReason = "a task reached the dead-letter queue"
			}
			if to == dsr.StatusCompleted {
				donePart(t, e.store, id, "marketing", at)
				donePart(t, e.store, id, "billing", at)
			}
			must(t, e.store.Transition(ctx, id, from, to, at, ch, dsrtest.StepTo(to)))
			from = to
		}
	}
	donePart(t, e.store, ids["running"], "marketing", received)
	return e
}

// donePart records purpose's part of request id done, as the worker does.
func donePart(t *testing.T, s *memstore.Requests, id, purpose string, at time.Time) {
	t.Helper()
	step := dsrtest.Step(dsr.AuditPurposeDone)
	step.Detail = dsr.PurposeDoneDetail(purpose, 1, "")
	if _, _, err := s.MarkPartDone(context.Background(), id, purpose, 1, at, step); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testHasher(t *testing.T) *dsr.Hasher {
	t.Helper()
	h, err := dsr.NewHasher([]byte("test pepper, long enough to use"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var dpoClaims = map[string]any{"sub": "dpo-7", "iss": "https://dpo.example/", "exp": 1896000000, "cognito:groups": []any{"dpo", "admin"}}

// token is the JWT a DPO sends, with claims (its signature is API
// Gateway's business: the function does not check it again).
func token(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

// gatewayClaims renders claims as API Gateway's JWT authorizer passes them:
// every value a string, an array as "[a b]".
func gatewayClaims(claims map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range claims {
		switch x := v.(type) {
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[k] = "[" + strings.Join(parts, " ") + "]"
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

func (e *env) call(t *testing.T, route, id string, claims map[string]any, query map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: map[string]string{"id": id}, QueryStringParameters: query, Body: body,
		Headers: map[string]string{}}
	if body != "" {
		req.Headers["content-type"] = "application/json"
	}
	if claims != nil {
		req.Headers["authorization"] = "Bearer " + token(t, claims)
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: gatewayClaims(claims)},
		}
	}
	return e.do(t, route, req)
}

func (e *env) do(t *testing.T, route string, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	resp, err := e.h.Handle(context.Background(), req)
	must(t, err)
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("%s: body %q", route, resp.Body)
	}
	if strings.Contains(resp.Body, "ada.lovelace@") {
		t.Errorf("%s answers the subject's address: %s", route, resp.Body)
	}
	return resp.StatusCode, m
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	in := func(claim string, groups any) map[string]any {
		return map[string]any{"sub": "u1", "exp": 1896000000, claim: groups}
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		status int
	}{
		{"no token", nil, 401},
		{"no subject", map[string]any{"cognito:groups": []any{"dpo"}}, 401},
		{"no group", map[string]any{"sub": "u1"}, 403},
		{"other groups", in("cognito:groups", []any{"support", "dpo-readers"}), 403},
		{"cognito groups", dpoClaims, 200},
		{"groups as a JSON array", in("groups", []any{"dpo"}), 200},
		{"one group as a string", in("groups", "dpo"), 200},
		{"a group named staff,dpo", in("cognito:groups", []any{"staff,dpo"}), 403},
		{"a group named x dpo", in("cognito:groups", []any{"x dpo"}), 403},
		{"a group named [dpo]", in("cognito:groups", []any{"[dpo]"}), 403},
		{"a group named DPO", in("cognito:groups", []any{"DPO"}), 403},
		{"a group named notdpo", in("cognito:groups", []any{"notdpo"}), 403},
		{"a group named dpo-readonly", in("cognito:groups", []any{"dpo-readonly"}), 403},
		{"the string staff,dpo", in("groups", "staff,dpo"), 403},
		{"the string x dpo", in("groups", "x dpo"), 403},
		{"the string [dpo]", in("groups", "[dpo]"), 403},
		{"the string DPO", in("groups", "DPO"), 403},
		{"a number", in("groups", 1), 403},
		{"an object", in("groups", map[string]any{"dpo": true}), 403},
	} {
		for _, route := range []string{dpo.RouteList, dpo.RouteMetrics} {
			if status, m := e.call(t, route, "", tc.claims, nil, ""); status != tc.status {
				t.Errorf("%s, %s: %d %v, want %d", tc.name, route, status, m, tc.status)
			}
		}
	}
}

// The groups are read from the token API Gateway verified: a header token
// whose subject, issuer or expiry is not the verified one's counts as none.
func TestAuthorizationNeedsTheVerifiedToken(t *testing.T) {
	e := newEnv(t)
	verified := gatewayClaims(map[string]any{"sub": "u1", "iss": "https://dpo.example/", "exp": 1896000000, "cognito:groups": []any{"support"}})
	for _, tc := range []struct {
		name   string
		header string
	}{
		{"another subject", "Bearer " + token(t, map[string]any{"sub": "u2", "iss": "https://dpo.example/", "exp": 1896000000, "cognito:groups": []any{"dpo"}})},
		{"another expiry", "Bearer " + token(t, map[string]any{"sub": "u1", "iss": "https://dpo.example/", "exp": 1896000001, "cognito:groups": []any{"dpo"}})},
		{"no issuer", "Bearer " + token(t, map[string]any{"sub": "u1", "exp": 1896000000, "cognito:groups": []any{"dpo"}})},
		{"no token", ""},
		{"not a JWT", "Bearer dpo"},
	} {
		req := events.APIGatewayV2HTTPRequest{RouteKey: dpo.RouteMetrics, Headers: map[string]string{"authorization": tc.header}}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: verified},
		}
		if status, m := e.do(t, dpo.RouteMetrics, req); status != 401 {
			t.Errorf("%s: %d %v, want 401", tc.name, status, m)
		}
	}
}

func TestListAndDetail(t *testing.T) {
	e := newEnv(t)
	status, m := e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"limit": "2"}, "")
	if status != 200 || len(m["items"].([]any)) != 2 || m["cursor"] == nil {
		t.Fatalf("first page: %d %v", status, m)
	}
	first := m["items"].([]any)[0].(map[string]any)
	if first["subject"] != "a***@e***.com" || first["id"] != ids["failed"] {
		t.Errorf("first item (failed requests come first): %v", first)
	}
	seen := len(m["items"].([]any))
	for cursor := m["cursor"]; cursor != nil; {
		_, m = e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"limit": "2", "cursor": cursor.(string)}, "")
		seen += len(m["items"].([]any))
		cursor = m["cursor"]
	}
	if seen != 5 {
		t.Errorf("listed %d open requests, want 5 (the completed one is not open)", seen)
	}
	_, m = e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"overdue": "true"}, "")
	if items := m["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != ids["overdue"] || items[0].(map[string]any)["overdue"] != true {
		t.Errorf("overdue: %v", m)
	}
	_, m = e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"status": "completed"}, "")
	if items := m["items"].([]any); len(items) != 1 {
		t.Errorf("completed: %v", m)
	}
	for _, bad := range []map[string]string{{"status": "lost"}, {"limit": "0"}, {"limit": "101"}, {"dueBefore": "tomorrow"}, {"overdue": "yes"}, {"cursor": "x"}, {"sort": "due"}} {
		if status, m := e.call(t, dpo.RouteList, "", dpoClaims, bad, ""); status != 400 {
			t.Errorf("list %v: %d %v", bad, status, m)
		}
	}
	status, m = e.call(t, dpo.RouteDetail, ids["running"], dpoClaims, nil, "")
	want := []any{
		map[string]any{"purpose": "marketing", "done": true, "chunks": 1.0},
		map[string]any{"purpose": "billing", "done": false, "chunks": 0.0},
	}
	if status != 200 || !cmp.Equal(m["purposes"], want) {
		t.Errorf("detail: %d %v", status, m)
	}
	if status, _ := e.call(t, dpo.RouteDetail, "01JD9999999999999999999999", dpoClaims, nil, ""); status != 404 {
		t.Errorf("unknown id: %d", status)
	}
}

func TestExtend(t *testing.T) {
	e := newEnv(t)
	setup := len(e.audit.Actions(ids["running"]))
	status, m := e.call(t, dpo.RouteExtend, ids["running"], dpoClaims, nil, `{"months":2,"reason":"Records in four systems, one of them archived."}`)
	if status != 200 || m["dueAt"] != "2027-04-30T23:59:59Z" || m["extendedMonths"] != 2.0 {
		t.Fatalf("extend: %d %v", status, m)
	}
	if ext, _ := m["extensions"].([]any); len(ext) != 1 || ext[0].(map[string]any)["by"] != "dpo-7" || !strings.Contains(ext[0].(map[string]any)["reason"].(string), "archived") {
		t.Errorf("extension record: %v", m["extensions"])
	}
	if status, m := e.call(t, dpo.RouteDetail, ids["running"], dpoClaims, nil, ""); status != 200 || len(m["audit"].([]any)) != setup+2 ||
		m["audit"].([]any)[setup].(map[string]any)["actor"] != "dpo-7" || m["audit"].([]any)[setup].(map[string]any)["action"] != string(dsr.AuditExtended) ||
		m["audit"].([]any)[setup+1].(map[string]any)["action"] != string(dsr.AuditPersonNotified) {
		t.Errorf("detail's trail: %v", m["audit"])
	}
	if status, m := e.call(t, dpo.RouteAudit, ids["running"], dpoClaims, nil, ""); status != 200 || m["intact"] != true || m["entries"] != float64(setup+2) {
		t.Errorf("audit check: %d %v", status, m)
	}
	if len(e.mailer.Mails) != 1 || !strings.Contains(e.mailer.Mails[0].Text, "30 April 2027") || !strings.Contains(e.mailer.Mails[0].Text, "archived") {
		t.Errorf("notice: %+v", e.mailer.Mails)
	}
	for _, tc := range []struct {
		id, body string
		status   int
	}{
		{ids["running"], `{"months":1,"reason":"more"}`, 409}, // three months in all
		{ids["waiting"], `{"months":1}`, 400},                 // no reason
		{ids["waiting"], `{"months":3,"reason":"r"}`, 400},
		{ids["overdue"], `{"months":1,"reason":"r"}`, 409}, // the first month is over
		{ids["complete"], `{"months":1,"reason":"r"}`, 409},
		{ids["waiting"], `{"months":1,"reason":"r"}`, 409}, // not verified: nothing to extend, no one to tell
		{ids["waiting"], `{"months":"1","reason":"r"}`, 400},
	} {
		if status, m := e.call(t, dpo.RouteExtend, tc.id, dpoClaims, nil, tc.body); status != tc.status {
			t.Errorf("extend %s %s: %d %v, want %d", tc.id, tc.body, status, m, tc.status)
		}
	}
	if len(e.mailer.Mails) != 1 {
		t.Errorf("refused extensions sent mail: %d", len(e.mailer.Mails))
	}
	// A notice that cannot be sent leaves the deadline as it was.
	e.mailer.Err = errors.New("SES throttled")
	if status, _ := e.call(t, dpo.RouteExtend, ids["queued"], dpoClaims, nil, `{"months":1,"reason":"r"}`); status != 503 {
		t.Errorf("extend without notice: %d", status)
	}
	if r, _ := e.store.Get(context.Background(), ids["queued"]); r.ExtendedMonths != 0 {
		t.Errorf("extended without notice")
	}
}

func TestRejectAndRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// An unverified request: rejected without a notice to an address nobody proved.
	if status, m := e.call(t, dpo.RouteReject, ids["waiting"], dpoClaims, nil, `{"reason":"manifestly_unfounded","detail":"d"}`); status != 200 || m["status"] != "rejected" || len(e.mailer.Mails) != 0 {
		t.Fatalf("reject unverified: %d %v, %d mails", status, m, len(e.mailer.Mails))
	}
	// The notice goes first (the rejection removes the address): one that
	// cannot be sent leaves the request as it was, to be rejected again.
	rejectQueued := `{"reason":"excessive","detail":"The fourth identical request this week."}`
	before := len(e.audit.Actions(ids["queued"]))
	e.mailer.Err = errors.New("SES throttled")
	if status, m := e.call(t, dpo.RouteReject, ids["queued"], dpoClaims, nil, rejectQueued); status != 503 {
		t.Errorf("reject without notice: %d %v, want 503", status, m)
	}
	if r, _ := e.store.Get(ctx, ids["queued"]); r.Status != dsr.StatusQueued || r.Email == "" || len(e.audit.Actions(ids["queued"])) != before {
		t.Fatalf("after a notice that failed: %s, address kept %t, trail %v; want queued, unchanged", r.Status, r.Email != "", e.audit.Actions(ids["queued"]))
	}
	e.mailer.Err = nil
	status, m := e.call(t, dpo.RouteReject, ids["queued"], dpoClaims, nil, rejectQueued)
	if status != 200 || m["status"] != "rejected" {
		t.Fatalf("reject: %d %v", status, m)
	}
	if len(e.mailer.Mails) != 1 || !strings.Contains(e.mailer.Mails[0].Text, "excessive") || !strings.Contains(e.mailer.Mails[0].Text, "supervisory authority") ||
		e.mailer.Mails[0].MailID() != ids["queued"]+"-rejected" {
		t.Errorf("rejection notice: %+v", e.mailer.Mails)
	}
	if got := e.audit.Actions(ids["queued"])[before:]; !slices.Equal(got, []dsr.AuditAction{dsr.AuditRejected, dsr.AuditPersonNotified}) {
		t.Errorf("rejection steps: %v, want rejected and person_notified, written together", got)
	}
	if r, _ := e.store.Get(ctx, ids["queued"]); r.Email != "" {
		t.Error("a rejected request keeps its address")
	}
	for _, tc := range []struct {
		id, body string
		status   int
	}{
		{ids["running"], `{"reason":"excessive","detail":"d"}`, 409},
		{ids["failed"], `{"reason":"boring","detail":"d"}`, 400},
		{ids["failed"], `{"reason":"excessive"}`, 400},
	} {
		if status, m := e.call(t, dpo.RouteReject, tc.id, dpoClaims, nil, tc.body); status != tc.status {
			t.Errorf("reject %s %s: %d %v, want %d", tc.id, tc.body, status, m, tc.status)
		}
	}

	if status, _ := e.call(t, dpo.RouteRetry, ids["running"], dpoClaims, nil, ""); status != 409 {
		t.Errorf("retry of a running request: %d", status)
	}
	// An access request failed because an erasure deleted its data stays failed.
	superseded := "01JD0000000000000000000009"
	must(t, e.store.Create(ctx, &dsr.Request{ID: superseded, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "a@b.co", ReceivedAt: e.now, DueAt: e.now.AddDate(0, 1, 0)}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, superseded, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, superseded, dsr.StatusQueued, dsr.StatusFailed, e.now, dsr.Changes{FailureReason: dsr.SupersededPrefix + " erased by R"}, dsrtest.StepTo(dsr.StatusFailed)))
	if status, m := e.call(t, dpo.RouteRetry, superseded, dpoClaims, nil, ""); status != 409 || !strings.Contains(m["detail"].(string), "erasure") {
		t.Errorf("retry of a superseded request: %d %v", status, m)
	}
	// Failed past its due date, a request loses its address (Art. 5(1)(e)):
	// nothing of the person's could be found or sent, so it is not retried.
	forgotten := "01JD0000000000000000000010"
	must(t, e.store.Create(ctx, &dsr.Request{ID: forgotten, Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "a@b.co", ReceivedAt: e.now, DueAt: e.now.Add(-time.Hour)}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, forgotten, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, forgotten, dsr.StatusQueued, dsr.StatusFailed, e.now, dsr.Changes{FailureReason: "dead-lettered"}, dsrtest.StepTo(dsr.StatusFailed)))
	if r, _ := e.store.Get(ctx, forgotten); r.Email != "" {
		t.Fatalf("failed after its due date, the request keeps its address")
	}
	if status, m := e.call(t, dpo.RouteRetry, forgotten, dpoClaims, nil, ""); status != 409 || !strings.Contains(m["detail"].(string), "address is removed") {
		t.Errorf("retry of a failed request past its due date: %d %v", status, m)
	}
	e.queue.SetErr(errors.New("SQS unavailable"))
	if status, _ := e.call(t, dpo.RouteRetry, ids["failed"], dpoClaims, nil, ""); status != 503 {
		t.Errorf("retry without a queue: %d", status)
	}
	if r, _ := e.store.Get(ctx, ids["failed"]); r.Status != dsr.StatusFailed {
		t.Errorf("after a retry that could not be queued: %s, want failed", r.Status)
	}
	e.queue.SetErr(nil)
	if status, m := e.call(t, dpo.RouteRetry, ids["failed"], dpoClaims, nil, ""); status != 200 || m["status"] != "queued" || len(e.queue.Requests()) != 1 {
		t.Errorf("retry: %d %v, sent %v", status, m, e.queue.Requests())
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	status, m := e.call(t, dpo.RouteMetrics, "", dpoClaims, nil, "")
	want := map[string]any{
		"byStatus":              map[string]any{"awaiting_verification": 1.0, "queued": 1.0, "in_progress": 2.0, "failed": 1.0, "completed": 1.0},
		"byType":                map[string]any{"access": 6.0},
		"overdue":               1.0,
		"dueWithin7Days":        0.0,
		"medianHoursToComplete": 30.0,
		"requests":              6.0,
	}
	if status != 200 || !cmp.Equal(want, m) {
		t.Errorf("metrics: %d %s", status, cmp.Diff(want, m))
	}
	e.now = time.Date(2027, 2, 22, 9, 0, 0, 0, time.UTC)
	if _, m := e.call(t, dpo.RouteMetrics, "", dpoClaims, nil, ""); m["dueWithin7Days"] != 4.0 {
		t.Errorf("due within 7 days of 22 February: %v", m["dueWithin7Days"])
	}
}

func TestObjectionDecision(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasks, list := &dsrtest.Queue{}, &memstore.Suppressions{}
	e.h.Service.Tasks, e.h.Service.Suppressions = tasks, list
	id := "01JD0000000000000000000010"
	must(t, e.store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeObjection, Purposes: []string{"customer_care", "billing"}, Status: dsr.StatusAwaitingVerification,
		Email: "ada@example.com", SubjectKey: "key-ada", ReceivedAt: e.now, VerifiedAt: e.now, DueAt: e.now.AddDate(0, 1, 0)}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"customer_care", "billing"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(t, e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now,
		ObjectionDecisions: map[string]string{"customer_care": dsr.DecisionPending, "billing": dsr.DecisionPending}}, dsrtest.StepTo(dsr.StatusCompleted)))
	must(t, list.Add(ctx, []dsr.Suppression{{SubjectKey: "key-ada", Scope: "customer_care", RequestID: id}, {SubjectKey: "key-ada", Scope: "billing", RequestID: id}}))
	setup := len(e.audit.Actions(id))

	status, m := e.call(t, dpo.RouteDecide, id, dpoClaims, nil, `{"purpose":"customer_care","outcome":"overridden","grounds":"Warranty claims are pending."}`)
	if status != 200 {
		t.Fatalf("decide: %d %v", status, m)
	}
	if sent := tasks.Decisions(); len(sent) != 1 || sent[0].Decision != dsr.DecisionOverridden || sent[0].Purpose != "customer_care" {
		t.Errorf("tasks: %+v", sent)
	}
	if entries, _ := list.Entries(ctx, "key-ada"); len(entries) != 1 || entries[0].Scope != "billing" {
		t.Errorf("suppression after an override: %+v, want only billing's", entries)
	}
	if r, _ := e.store.Get(ctx, id); r.ObjectionDecisions["customer_care"] != dsr.Applying(dsr.DecisionOverridden) {
		t.Errorf("decision: %v", r.ObjectionDecisions)
	}
	if len(e.mailer.Mails) != 1 || !strings.Contains(e.mailer.Mails[0].Text, "Warranty claims") {
		t.Errorf("notice: %+v", e.mailer.Mails)
	}
	for _, tc := range []struct {
		id, body string
		status   int
	}{
		{id, `{"purpose":"customer_care","outcome":"upheld","grounds":"g"}`, 409}, // decided already
		{id, `{"purpose":"marketing","outcome":"upheld","grounds":"g"}`, 400},     // nothing pending
		{id, `{"purpose":"billing","outcome":"maybe","grounds":"g"}`, 400},
		{id, `{"purpose":"billing","outcome":"upheld","grounds":" "}`, 400},
		{ids["complete"], `{"purpose":"billing","outcome":"upheld","grounds":"g"}`, 409}, // not an objection
	} {
		if status, m := e.call(t, dpo.RouteDecide, tc.id, dpoClaims, nil, tc.body); status != tc.status {
			t.Errorf("decide %s: %d %v, want %d", tc.body, status, m, tc.status)
		}
	}
	if status, _ := e.call(t, dpo.RouteDecide, id, dpoClaims, nil, `{"purpose":"billing","outcome":"upheld","grounds":"No compelling grounds."}`); status != 200 {
		t.Errorf("upheld: %d", status)
	}
	if entries, _ := list.Entries(ctx, "key-ada"); len(entries) != 1 {
		t.Errorf("an upheld objection keeps its suppression: %+v", entries)
	}
	if got := e.audit.Actions(id)[setup:]; len(got) != 2 || got[0] != dsr.AuditObjectionDecided {
		t.Errorf("trail: %v", got)
	}
}

// orderedMailer is a mailer that notes, for each mail, how many decision
// tasks had been queued when it was sent.
type orderedMailer struct {
	dsrtest.Mailer
	tasks       *dsrtest.Queue
	tasksBefore []int
}

func (m *orderedMailer) Send(ctx context.Context, mail dsr.Mail) error {
	m.tasksBefore = append(m.tasksBefore, len(m.tasks.Decisions()))
	return m.Mailer.Send(ctx, mail)
}

// TestOverrideToldBeforeLift: Art. 18(3): the person is told of an
// override before its restriction is lifted. While the notice cannot be
// sent, no task lifts the restriction, the suppression stays, and the
// decision is pending again for the DPO to take once more; once the mail is
// accepted, the task is queued after it.
func TestOverrideToldBeforeLift(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasks, list := &dsrtest.Queue{}, &memstore.Suppressions{}
	mailer := &orderedMailer{tasks: tasks, Mailer: dsrtest.Mailer{Err: errors.New("SES throttled")}}
	e.h.Service.Tasks, e.h.Service.Suppressions, e.h.Service.Mailer = tasks, list, mailer
	id := "01JD0000000000000000000011"
	must(t, e.store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeObjection, Purposes: []string{"customer_care"}, Status: dsr.StatusAwaitingVerification,
		Email: "ada@example.com", SubjectKey: "key-ada", ReceivedAt: e.now, VerifiedAt: e.now, DueAt: e.now.AddDate(0, 1, 0)}, dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"customer_care"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(t, e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now,
		ObjectionDecisions: map[string]string{"customer_care": dsr.DecisionPending}}, dsrtest.StepTo(dsr.StatusCompleted)))
	must(t, list.Add(ctx, []dsr.Suppression{{SubjectKey: "key-ada", Scope: "customer_care", RequestID: id}}))
	body := `{"purpose":"customer_care","outcome":"overridden","grounds":"Warranty claims are pending."}`

	if status, m := e.call(t, dpo.RouteDecide, id, dpoClaims, nil, body); status != 503 {
		t.Fatalf("override while the mail fails: %d %v, want 503", status, m)
	}
	if sent := tasks.Decisions(); len(sent) != 0 {
		t.Errorf("the restriction is lifted without the notice: tasks %+v", sent)
	}
	if entries, _ := list.Entries(ctx, "key-ada"); len(entries) != 1 {
		t.Errorf("the suppression is lifted without the notice: %+v", entries)
	}
	if r, _ := e.store.Get(ctx, id); r.ObjectionDecisions["customer_care"] != dsr.DecisionPending {
		t.Errorf("decision after a failed notice: %v, want pending", r.ObjectionDecisions)
	}

	mailer.Err = nil
	if status, m := e.call(t, dpo.RouteDecide, id, dpoClaims, nil, body); status != 200 {
		t.Fatalf("override once the mail works: %d %v", status, m)
	}
	if len(mailer.Mails) != 1 || !slices.Equal(mailer.tasksBefore, []int{0, 0}) || len(tasks.Decisions()) != 1 {
		t.Errorf("mails %d, tasks queued before each attempt %v, tasks %d: want the one accepted mail before the one task",
			len(mailer.Mails), mailer.tasksBefore, len(tasks.Decisions()))
	}
	if entries, _ := list.Entries(ctx, "key-ada"); len(entries) != 0 {
		t.Errorf("suppression after the told override: %+v", entries)
	}
}

// failingDeadlines is a store whose deadlines cannot be set (throttled).
type failingDeadlines struct{ *memstore.Requests }

func (failingDeadlines) SetDeadline(context.Context, string, int, dsr.Extension, ...dsr.Step) error {
	return errors.New("throttled")
}

// TestExtensionAndItsStepAreOneWrite: an extension is recorded in the
// trail with the change, and a change the store cannot make records no step
// and answers an error, for the DPO to try again.
func TestExtensionAndItsStepAreOneWrite(t *testing.T) {
	e := newEnv(t)
	id := ids["running"]
	before := len(e.audit.Actions(id))
	e.h.Service.Store = failingDeadlines{e.store}
	if status, m := e.call(t, dpo.RouteExtend, id, dpoClaims, nil, `{"months":1,"reason":"archive"}`); status < 500 {
		t.Errorf("extend while the store fails: %d %v, want 5xx", status, m)
	}
	if got := e.audit.Actions(id); len(got) != before {
		t.Errorf("a step without its change: %v", got[before:])
	}
	e.h.Service.Store = e.store
	if status, m := e.call(t, dpo.RouteExtend, id, dpoClaims, nil, `{"months":1,"reason":"archive"}`); status != 200 || m["extendedMonths"] != 1.0 {
		t.Errorf("extend: %d %v", status, m)
	}
	r, _ := e.store.Get(context.Background(), id)
	entries, _ := e.audit.Entries(context.Background(), id)
	if got := e.audit.Actions(id)[before:]; r.ExtendedMonths != 1 || !slices.Equal(got, []dsr.AuditAction{dsr.AuditExtended, dsr.AuditPersonNotified}) || r.Trail != dsr.HeadOf(entries[len(entries)-1]) {
		t.Errorf("extended by %d, new steps %v, head %+v", r.ExtendedMonths, got, r.Trail)
	}
}

// FuzzAuthorize reads the header's token as the DPO routes do: whatever it
// holds, a token is taken only with the verified claims and the dpo group.
func FuzzAuthorize(f *testing.F) {
	f.Add("sub", "u1", `["dpo"]`)
	f.Add("sub", "u1", `"staff,dpo"`)
	f.Add("iss", "x", `{"dpo":1}`)
	f.Fuzz(func(t *testing.T, claim, value, groups string) {
		payload := `{"sub":"u1","` + claim + `":"` + value + `","groups":` + groups + `}`
		enc := base64.RawURLEncoding.EncodeToString
		tok := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("s"))
		req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"authorization": "Bearer " + tok}}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "u1"}},
		}
		actor, err := dpo.Authorize(req)
		if err != nil {
			if c := dsr.ErrorCodeOf(err); c != dsr.EUnauthenticated && c != dsr.EForbidden {
				t.Fatalf("error code %q", c)
			}
			return
		}
		var claims map[string]any
		if json.Unmarshal([]byte(payload), &claims) != nil || !dpo.InGroup(claims, dsr.GroupDPO) || actor != "u1" {
			t.Fatalf("authorized %q with %s", actor, payload)
		}
	})
}

// TestViewsLinkToTheResult: the DPO's views link to a completed request's
// report as the subject's do, in the list and in the detail.
func TestViewsLinkToTheResult(t *testing.T) {
	e := newEnv(t)
	want := map[string]any{"report": "/v1/requests/" + ids["complete"] + "/report"}
	status, m := e.call(t, dpo.RouteDetail, ids["complete"], dpoClaims, nil, "")
	if status != 200 || !cmp.Equal(want, m["result"]) {
		t.Errorf("detail: %d, result %v; want %v", status, m["result"], want)
	}
	status, m = e.call(t, dpo.RouteList, "", dpoClaims, map[string]string{"status": "completed"}, "")
	items, _ := m["items"].([]any)
	if status != 200 || len(items) != 1 || !cmp.Equal(want, items[0].(map[string]any)["result"]) {
		t.Errorf("list: %d, %v", status, m)
	}
}
