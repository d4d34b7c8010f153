package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/intake"
	"github.com/privacyops/dsr/internal/memstore"
)

// fakeLinks holds documents by "<id>/<document>".
type fakeLinks struct{ objects map[string]bool }

func (l *fakeLinks) Exists(_ context.Context, id string, doc dsr.Document) (bool, error) {
	return l.objects[id+"/"+string(doc)], nil
}
func (l *fakeLinks) PresignGet(_ context.Context, id string, doc dsr.Document, ttl time.Duration) (string, error) {
	return "https://bucket.example/" + id + "/" + string(doc) + "?X-Amz-Expires=" + ttl.String(), nil
}

type env struct {
	h       *intake.Handler
	store   *memstore.Requests
	queue   *dsrtest.Queue
	mailer  *dsrtest.Mailer
	links   *fakeLinks
	audit   *memstore.Audit
	limits  *memstore.Limits
	metrics *dsrtest.LockedBuffer
	now     time.Time
	client  string // the source address of calls
}

// newEnv is the subject routes on fakes, with the API's limits.
func newEnv(t *testing.T) *env { return newEnvWith(t, dsr.DefaultLimits) }

func newEnvWith(t *testing.T, l dsr.Limits) *env {
	t.Helper()
	hasher, err := dsr.NewHasher([]byte("test pepper, long enough to use"))
	if err != nil {
		t.Fatal(err)
	}
	reg := dsrtest.Registry(t)
	store := &memstore.Requests{}
	e := &env{store: store, queue: &dsrtest.Queue{}, mailer: &dsrtest.Mailer{}, links: &fakeLinks{objects: map[string]bool{}},
		audit: store.Trail(), limits: &memstore.Limits{}, metrics: &dsrtest.LockedBuffer{},
		now: time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC), client: "198.51.100.7"}
	e.h = &intake.Handler{Service: &intake.Service{
		Store: e.store, Queue: e.queue, Mailer: e.mailer, Links: e.links, Audit: e.audit, Hasher: hasher, Registry: reg,
		Limiter: e.limits, Limits: l, Metrics: e.metrics, Language: dsr.LangDE,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Clock: func() time.Time { return e.now },
	}}
	return e
}

// manyGuesses are limits under which a request's own five attempts are
// reached before the person's daily budget.
var manyGuesses = dsr.Limits{OpenPerPerson: 3, CodesPerDay: 5, WrongCodesPerDay: 100, LinksPerHour: 10, Client: dsr.DefaultLimits.Client}

func (e *env) call(t *testing.T, route, id, token, body string, query map[string]string) (int, map[string]any, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, Body: body, Headers: map[string]string{}, QueryStringParameters: query}
	if strings.HasPrefix(route, "POST ") {
		req.Headers["content-type"] = "application/json"
	}
	if id != "" {
		req.PathParameters = map[string]string{"id": id}
	}
	if token != "" {
		req.Headers["authorization"] = "Bearer " + token
	}
	return e.do(t, req)
}

// callWith submits body to route with headers as given.
func (e *env) callWith(t *testing.T, route, body string, headers map[string]string) (int, map[string]any, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	return e.do(t, events.APIGatewayV2HTTPRequest{RouteKey: route, Body: body, Headers: headers})
}

func (e *env) do(t *testing.T, req events.APIGatewayV2HTTPRequest) (int, map[string]any, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	req.RequestContext.HTTP.SourceIP = e.client
	resp, err := e.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body is not JSON: %s", resp.Body)
	}
	if resp.StatusCode >= 400 {
		if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
			t.Errorf("error Content-Type = %q", ct)
		}
		if m["status"] != float64(resp.StatusCode) || m["title"] == "" || m["type"] == "" {
			t.Errorf("problem body %s", resp.Body)
		}
	}
	return resp.StatusCode, m, resp
}

var codeRE = regexp.MustCompile(`code is: (\d{6})`)

func (e *env) submit(t *testing.T) (id, token, code string) {
	t.Helper()
	status, m, resp := e.call(t, intake.RouteSubmit, "", "", `{"type":"access","email":"Ada@Example.com"}`, nil)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, resp.Body)
	}
	last := e.mailer.Mails[len(e.mailer.Mails)-1]
	return m["id"].(string), m["statusToken"].(string), codeRE.FindStringSubmatch(last.Text)[1]
}

func TestSubmit(t *testing.T) {
	e := newEnv(t)
	id, token, _ := e.submit(t)
	r, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Email != "ada@example.com" || r.Status != dsr.StatusAwaitingVerification || r.TokenHash == token || r.TokenHash == "" {
		t.Errorf("stored request: %+v", r)
	}
	if want := time.Date(2027, 2, 28, 23, 59, 59, 0, time.UTC); !r.DueAt.Equal(want) {
		t.Errorf("due %s, want %s (31 January + 1 month)", r.DueAt, want)
	}
	if !r.CodeExpiresAt.Equal(e.now.Add(15 * time.Minute)) {
		t.Errorf("code expires %s", r.CodeExpiresAt)
	}
	if len(e.mailer.Mails) != 1 || e.mailer.Mails[0].To != "ada@example.com" {
		t.Errorf("mails: %+v", e.mailer.Mails)
	}
	if strings.Contains(r.CodeHash, codeRE.FindStringSubmatch(e.mailer.Mails[0].Text)[1]) {
		t.Error("code stored in clear")
	}
	if r.SubjectKey != e.h.Service.Hasher.Subject("ada@example.com") || strings.Contains(r.SubjectKey, "ada") {
		t.Errorf("subject key %q is not the keyed hash of the address", r.SubjectKey)
	}
}

func TestSubmitErasureAndObjection(t *testing.T) {
	for _, body := range []string{
		`{"type":"erasure","email":"Ada@Example.com"}`,
		`{"type":"objection","email":"ada@example.com","scope":"direct_marketing"}`,
		`{"type":"objection","email":"ada@example.com","purposes":["billing"],"grounds":"I moved abroad"}`,
	} {
		e := newEnv(t)
		status, m, resp := e.call(t, intake.RouteSubmit, "", "", body, nil)
		if status != 202 || m["statusToken"] == "" {
			t.Fatalf("%s: %d %s", body, status, resp.Body)
		}
		r, err := e.store.Get(context.Background(), m["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if r.Email != "ada@example.com" || r.SubjectKey == "" || len(e.mailer.Mails) != 1 {
			t.Errorf("%s: stored %+v, %d mails", body, r, len(e.mailer.Mails))
		}
	}
}

func TestSubmitRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
	}{
		{"malformed", `{"type":`, 400},
		{"unknown field", `{"type":"access","email":"a@b.co","x":1}`, 400},
		{"missing email", `{"type":"access"}`, 400},
		{"malformed address", `{"type":"access","email":"ada"}`, 400},
		{"unknown type", `{"type":"rectification_by_fax","email":"a@b.co"}`, 400},
		{"oversized", `{"type":"access","email":"a@b.co","pad":"` + strings.Repeat("x", 17<<10) + `"}`, 400},
		{"unknown purpose", `{"type":"objection","email":"a@b.co","purposes":["astrology"]}`, 400},
		{"objection without scope or purposes", `{"type":"objection","email":"a@b.co"}`, 400},
		{"erasure with a scope", `{"type":"erasure","email":"a@b.co","scope":"direct_marketing"}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			status, m, resp := e.call(t, intake.RouteSubmit, "", "", tc.body, nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, resp.Body)
			}
			if strings.Contains(resp.Body, "a@b.co") {
				t.Errorf("problem echoes the address: %s", resp.Body)
			}
			if len(e.mailer.Mails) != 0 || len(e.queue.Requests()) != 0 {
				t.Errorf("bad input had effects")
			}
			_ = m
		})
	}
}

func TestSubmitMailFailureEndsRequest(t *testing.T) {
	e := newEnv(t)
	e.mailer.Err = errors.New("SES throttled")
	status, _, resp := e.call(t, intake.RouteSubmit, "", "", `{"type":"access","email":"ada@example.com"}`, nil)
	if status != 503 || strings.Contains(resp.Body, "SES") || resp.Headers["Retry-After"] == "" {
		t.Fatalf("status %d body %s headers %v; want 503 with Retry-After, without internals", status, resp.Body, resp.Headers)
	}
	rs, _, _ := e.store.List(context.Background(), dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusExpired}, Limit: 10})
	if len(rs) != 1 || !slices.Equal(e.audit.Actions(rs[0].ID), []dsr.AuditAction{dsr.AuditReceived, dsr.AuditExpired}) {
		t.Errorf("the ended request and its trail: %v", rs)
	}
}

func TestVerify(t *testing.T) {
	e := newEnv(t)
	id, token, code := e.submit(t)
	status, m, resp := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil)
	if status != 200 || m["status"] != "queued" {
		t.Fatalf("verify: %d %s", status, resp.Body)
	}
	if len(e.queue.Requests()) != 1 || e.queue.Requests()[0].RequestID != id {
		t.Fatalf("queued: %+v", e.queue.Requests())
	}
	if got := e.audit.Actions(id); !slices.Equal(got, []dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified}) {
		t.Errorf("audit trail %v, want received, verified", got)
	}
	// Twice with the right code: harmless, no second queueing.
	if status, _, resp := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 200 || len(e.queue.Requests()) != 1 {
		t.Fatalf("second verify: %d %s, sent %d", status, resp.Body, len(e.queue.Requests()))
	}
	// A wrong code after verification is a conflict.
	if status, _, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"000000"}`, nil); status != 409 && code != "000000" {
		t.Errorf("wrong code after verification: %d", status)
	}
}

func TestVerifyQueueFailureIsRetryable(t *testing.T) {
	e := newEnv(t)
	id, token, code := e.submit(t)
	e.queue.SetErr(errors.New("sqs down"))
	if status, _, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 503 {
		t.Fatalf("status %d, want 503", status)
	}
	r, _ := e.store.Get(context.Background(), id)
	if r.Status != dsr.StatusAwaitingVerification {
		t.Fatalf("request moved on without a queued message: %s", r.Status)
	}
	e.queue.SetErr(nil)
	if status, m, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 200 || m["status"] != "queued" {
		t.Fatalf("retry: %d %v", status, m)
	}
}

func wrongCode(code string) string {
	if code == "111111" {
		return "222222"
	}
	return "111111"
}

func TestVerifyWrongCodes(t *testing.T) {
	e := newEnvWith(t, manyGuesses)
	id, token, code := e.submit(t)
	for i := 1; i <= 4; i++ {
		status, m, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+wrongCode(code)+`"}`, nil)
		if status != 400 || !strings.Contains(m["detail"].(string), "attempt(s) left") {
			t.Fatalf("attempt %d: %d %v", i, status, m)
		}
	}
	if status, _, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+wrongCode(code)+`"}`, nil); status != 410 {
		t.Fatalf("fifth wrong code: %d, want 410", status)
	}
	if status, _, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 410 {
		t.Fatalf("right code after expiry: %d, want 410", status)
	}
	if status, m, _ := e.call(t, intake.RouteStatus, id, token, "", nil); status != 200 || m["status"] != "expired" {
		t.Fatalf("status after expiry: %d %v", status, m)
	}
	if len(e.queue.Requests()) != 0 {
		t.Error("expired request was queued")
	}
}

func TestVerifyExpiredCode(t *testing.T) {
	e := newEnv(t)
	id, token, code := e.submit(t)
	e.now = e.now.Add(15 * time.Minute)
	if status, _, _ := e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil); status != 410 {
		t.Fatalf("status %d, want 410", status)
	}
	if r, _ := e.store.Get(context.Background(), id); r.Status != dsr.StatusExpired {
		t.Errorf("status %s, want expired", r.Status)
	}
}

func TestVerifyBadBody(t *testing.T) {
	e := newEnv(t)
	id, token, _ := e.submit(t)
	for _, body := range []string{`{"code":"12345"}`, `{"code":123456}`, `{}`, `x`, `{"code":"123456","extra":true}`} {
		if status, _, _ := e.call(t, intake.RouteVerify, id, token, body, nil); status != 400 {
			t.Errorf("%s: %d, want 400", body, status)
		}
	}
	if r, _ := e.store.Get(context.Background(), id); r.CodeAttempts != 0 {
		t.Errorf("malformed bodies counted as attempts: %d", r.CodeAttempts)
	}
}

func TestNotFoundIsUniform(t *testing.T) {
	e := newEnv(t)
	id, token, _ := e.submit(t)
	otherID, otherToken, _ := e.submit(t)
	_, _, base := e.call(t, intake.RouteStatus, id, "", "", nil)
	if base.StatusCode != 404 {
		t.Fatalf("no token: %d", base.StatusCode)
	}
	for _, route := range []string{intake.RouteStatus, intake.RouteVerify, intake.RouteReport} {
		for name, c := range map[string][2]string{
			"no token": {id, ""}, "wrong token": {id, token + "x"}, "unknown id": {"01JD0000000000000000000000", token},
			"other's token": {id, otherToken}, "garbage id": {"../etc", token}, "other's id": {otherID, token},
		} {
			_, _, resp := e.call(t, route, c[0], c[1], `{"code":"123456"}`, nil)
			if resp.StatusCode != 404 || resp.Body != base.Body {
				t.Errorf("%s %s: %d %s", route, name, resp.StatusCode, resp.Body)
			}
		}
	}
}

func TestReportLink(t *testing.T) {
	e := newEnv(t)
	id, token, code := e.submit(t)
	if status, _, _ := e.call(t, intake.RouteReport, id, token, "", nil); status != 409 {
		t.Errorf("before verification: %d, want 409", status)
	}
	e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil)
	ctx := context.Background()
	_ = e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing"}}, dsrtest.StepTo(dsr.StatusInProgress))
	if status, _, _ := e.call(t, intake.RouteReport, id, token, "", nil); status != 409 {
		t.Errorf("in progress: %d, want 409", status)
	}
	res := &dsr.Result{ReportJSONKey: "reports/" + id + "/report.json", ReportHTMLKey: "reports/" + id + "/report.html"}
	_ = e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now, Result: res}, dsrtest.StepTo(dsr.StatusCompleted))
	if status, _, _ := e.call(t, intake.RouteReport, id, token, "", nil); status != 410 {
		t.Errorf("object deleted: %d, want 410", status)
	}
	e.links.objects[id+"/report.json"], e.links.objects[id+"/report.html"] = true, true
	status, m, _ := e.call(t, intake.RouteReport, id, token, "", nil)
	if status != 200 || !strings.Contains(m["url"].(string), "report.json") || !strings.Contains(m["url"].(string), "5m0s") {
		t.Errorf("json link: %d %v", status, m)
	}
	if exp, _ := time.Parse(time.RFC3339, m["expiresAt"].(string)); exp.After(e.now.Add(5 * time.Minute)) {
		t.Errorf("expiresAt %v beyond 5 minutes", exp)
	}
	if status, m, _ := e.call(t, intake.RouteReport, id, token, "", map[string]string{"format": "html"}); status != 200 || !strings.Contains(m["url"].(string), "report.html") {
		t.Errorf("html link: %d %v", status, m)
	}
	if status, _, _ := e.call(t, intake.RouteReport, id, token, "", map[string]string{"format": "xml"}); status != 400 {
		t.Errorf("format=xml: %d", status)
	}
	if status, m, _ := e.call(t, intake.RouteStatus, id, token, "", nil); status != 200 || m["result"].(map[string]any)["report"] != "/v1/requests/"+id+"/report" {
		t.Errorf("completed view: %v", m)
	}
}

func TestUnknownRoute(t *testing.T) {
	e := newEnv(t)
	if status, _, _ := e.call(t, "DELETE /v1/requests/{id}", "x", "", "", nil); status != 404 {
		t.Errorf("status %d", status)
	}
}

// TestParallelGuessesEachCount fires many wrong codes at once: only the
// request's five attempts get a "wrong code" answer, every other one ends the
// request (with a daily budget larger than five; TestWrongCodeBudget has the
// API's).
func TestParallelGuessesEachCount(t *testing.T) {
	e := newEnvWith(t, manyGuesses)
	id, token, code := e.submit(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := e.h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{
				RouteKey: intake.RouteVerify, PathParameters: map[string]string{"id": id},
				Headers: map[string]string{"authorization": "Bearer " + token, "content-type": "application/json"}, Body: `{"code":"` + wrongCode(code) + `"}`,
			})
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[400] != dsr.MaxCodeAttempts-1 || statuses[410] != 20-(dsr.MaxCodeAttempts-1) {
		t.Errorf("answers %v; want %d × 400 and the rest 410", statuses, dsr.MaxCodeAttempts-1)
	}
	if r, _ := e.store.Get(context.Background(), id); r.Status != dsr.StatusExpired || r.CodeAttempts != dsr.MaxCodeAttempts {
		t.Errorf("request %s with %d attempts", r.Status, r.CodeAttempts)
	}
}

func TestCertificateLink(t *testing.T) {
	e := newEnv(t)
	id, token, _ := e.submit(t)
	if status, m, _ := e.call(t, intake.RouteCertificate, id, token, "", nil); status != 409 || !strings.Contains(m["detail"].(string), "report, not a certificate") {
		t.Errorf("access request: %d %v", status, m)
	}
	if status, _, _ := e.call(t, intake.RouteCertificate, id, token+"x", "", nil); status != 404 {
		t.Errorf("wrong token: %d", status)
	}
	// An erasure request completed with a certificate (stored directly; the
	// worker's tests make real ones).
	ctx, now := context.Background(), e.now
	r := &dsr.Request{ID: "01JD3ZQ5V8K9N6M2T4W7X1Y0AC", Type: dsr.TypeErasure, Status: dsr.StatusAwaitingVerification, TokenHash: dsr.HashToken("tok")}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.store.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
	if status, _, _ := e.call(t, intake.RouteCertificate, r.ID, "tok", "", nil); status != 409 {
		t.Errorf("not completed: %d", status)
	}
	must(e.store.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(e.store.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusInProgress)))
	must(e.store.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, Result: &dsr.Result{CertificateKey: "certificates/x.json"}}, dsrtest.StepTo(dsr.StatusCompleted)))
	if status, _, _ := e.call(t, intake.RouteCertificate, r.ID, "tok", "", nil); status != 410 {
		t.Errorf("deleted: %d", status)
	}
	e.links.objects[r.ID+"/certificate.json"] = true
	if status, m, _ := e.call(t, intake.RouteCertificate, r.ID, "tok", "", nil); status != 200 || !strings.Contains(m["url"].(string), r.ID+"/certificate.json") {
		t.Errorf("link: %d %v", status, m)
	}
	if status, _, _ := e.call(t, intake.RouteReport, r.ID, "tok", "", nil); status != 409 {
		t.Errorf("report of an erasure: %d", status)
	}
}

// TestPurposes: the registry as a web form shows it, without a table name,
// and with no token or body needed.
func TestPurposes(t *testing.T) {
	e := newEnv(t)
	status, body, resp := e.call(t, intake.RoutePurposes, "", "", "", nil)
	if status != 200 {
		t.Fatalf("status %d: %v", status, body)
	}
	var got struct{ Purposes []intake.PublicPurpose }
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	reg := dsrtest.Registry(t)
	if len(got.Purposes) != len(reg) {
		t.Fatalf("%d purposes, want the registry's %d", len(got.Purposes), len(reg))
	}
	// What a form offers for the other rights: marketing is portable, with
	// a consent per channel and a frequency; billing offers none of them.
	offers := map[string]intake.PublicPurpose{
		"marketing": {Rectifiable: []intake.PublicAttribute{}, Portable: true, Channels: []dsr.Channel{"email", "post"}, Frequencies: []string{"weekly", "monthly"}},
		"billing":   {Rectifiable: []intake.PublicAttribute{}, Channels: []dsr.Channel{}, Frequencies: []string{}},
	}
	for i, p := range reg {
		want := offers[p.Name]
		want.Purpose, want.Description, want.LegalBasis = p.Name, p.Description.In(dsr.LangDE), p.LegalBasis
		want.DirectMarketing, want.Objectionable = p.DirectMarketing, p.Objection != dsr.ActionNone
		if diff := cmp.Diff(want, got.Purposes[i]); diff != "" {
			t.Errorf("purpose %d (-want +got):\n%s", i, diff)
		}
		if strings.Contains(resp.Body, p.Table) {
			t.Errorf("the answer names the table %s", p.Table)
		}
	}
}

// TestSubmitLanguage: a request is answered in the body's language, else
// the one Accept-Language prefers, else the default (de); another language
// in the body is a 400 naming language.
func TestSubmitLanguage(t *testing.T) {
	tests := []struct {
		name, body, accept string
		status             int
		want               dsr.Language
	}{
		{"the body's", `{"type":"access","email":"ada@example.com","language":"en"}`, "de-DE,de;q=0.9", 202, dsr.LangEN},
		{"the body's German", `{"type":"access","email":"ada@example.com","language":"de"}`, "en", 202, dsr.LangDE},
		{"Accept-Language", `{"type":"access","email":"ada@example.com"}`, "en-GB,en;q=0.9,de;q=0.8", 202, dsr.LangEN},
		{"Accept-Language by q-value", `{"type":"access","email":"ada@example.com"}`, "en;q=0.4,de-AT;q=0.8", 202, dsr.LangDE},
		{"Accept-Language of neither", `{"type":"access","email":"ada@example.com"}`, "fr-FR,fr;q=0.9", 202, dsr.LangDE},
		{"no header: the default", `{"type":"access","email":"ada@example.com"}`, "", 202, dsr.LangDE},
		{"another language", `{"type":"access","email":"ada@example.com","language":"fr"}`, "", 400, ""},
		{"a region", `{"type":"access","email":"ada@example.com","language":"de-DE"}`, "", 400, ""},
		{"not a string", `{"type":"access","email":"ada@example.com","language":1}`, "", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			headers := map[string]string{"content-type": "application/json"}
			if tc.accept != "" {
				headers["accept-language"] = tc.accept
			}
			status, m, resp := e.callWith(t, intake.RouteSubmit, tc.body, headers)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, resp.Body)
			}
			if status != 202 {
				if !strings.Contains(resp.Body, `"field":"language"`) {
					t.Errorf("the problem does not name language: %s", resp.Body)
				}
				return
			}
			r, err := e.store.Get(context.Background(), m["id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if r.Language != tc.want {
				t.Errorf("language %q, want %q", r.Language, tc.want)
			}
		})
	}
}

// TestPurposesLanguage: GET /v1/purposes describes the purposes in the
// Accept-Language's language, else the default.
func TestPurposesLanguage(t *testing.T) {
	e := newEnv(t)
	for accept, want := range map[string]string{"en-US,en;q=0.9": "Ads", "de": "Werbung", "": "Werbung", "fr": "Werbung"} {
		req := events.APIGatewayV2HTTPRequest{RouteKey: intake.RoutePurposes, Headers: map[string]string{"accept-language": accept}}
		status, _, resp := e.do(t, req)
		var got struct{ Purposes []intake.PublicPurpose }
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || status != 200 {
			t.Fatalf("%d %s", status, resp.Body)
		}
		if got.Purposes[0].Description != want {
			t.Errorf("Accept-Language %q: %q, want %q", accept, got.Purposes[0].Description, want)
		}
	}
}
