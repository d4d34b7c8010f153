//go:build integration

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/dynamo"
)

// dpoView is the part of a DPO view the tests read.
type dpoView struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Subject        string `json:"subject"`
	DueAt          string `json:"dueAt"`
	ExtendedMonths int    `json:"extendedMonths"`
	Overdue        bool   `json:"overdue"`
	FailureReason  string `json:"failureReason"`
}

type dpoPage struct {
	Items  []dpoView `json:"items"`
	Cursor string    `json:"cursor"`
}

// dpoDo calls a DPO route with token (none if empty).
func (c *client) dpoDo(method, path, token string, body any, out any) (int, []byte) {
	c.t.Helper()
	status, _, raw := c.do(method, path, token, body, out)
	return status, raw
}

// TestDPOEndToEnd: a DPO lists overdue requests, extends one (the person gets
// the notice), rejects one, and retries a failed one to completion; the DPO
// routes refuse missing, expired, wrongly addressed and group-less tokens.
func TestDPOEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	if stack.DpoToken == "" {
		t.Fatal("the local stack minted no DPO token")
	}
	c := &client{t: t, base: stack.URL}
	ctx := context.Background()
	store := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
	now := time.Now().UTC()

	submit := func(email string) submitted {
		var sub submitted
		if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": email}, &sub); s != 202 {
			t.Fatalf("submit: %d %s", s, b)
		}
		return sub
	}
	// B: grace's request, verified and queued (by hand, without its message,
	// so that it stays open), within its first month.
	b := submit(seed.Grace)
	if err := store.Transition(ctx, b.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
		t.Fatal(err)
	}
	// C: overdue and unverified: its deadline passed (set back by hand: a
	// month cannot pass in a test).
	cReq := submit("late.person@example.org")
	if err := store.SetDeadline(ctx, cReq.ID, 0, dsr.Extension{At: now, DueAt: now.Add(-24 * time.Hour)}, dsrtest.Step(dsr.AuditExtended)); err != nil {
		t.Fatal(err)
	}
	// D: ada's request, failed on its way (moved there by hand).
	d := submit(seed.Ada)
	if err := store.Transition(ctx, d.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
		t.Fatal(err)
	}
	if err := store.Transition(ctx, d.ID, dsr.StatusQueued, dsr.StatusFailed, now, dsr.Changes{FailureReason: "a task reached the dead-letter queue"}, dsrtest.StepTo(dsr.StatusFailed)); err != nil {
		t.Fatal(err)
	}
	token := stack.DpoToken

	// Authorization first.
	noGroup, err := stack.MintToken(map[string]any{"sub": "support-1", "cognito:groups": []string{"support"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := stack.MintToken(map[string]any{"sub": "dpo-1", "cognito:groups": []string{"dpo"}, "exp": now.Add(-time.Hour).Unix()}, time.Hour)
	otherAudience, _ := stack.MintToken(map[string]any{"sub": "dpo-1", "cognito:groups": []string{"dpo"}, "aud": "another-app"}, time.Hour)
	for name, tc := range map[string]struct {
		token  string
		status int
	}{
		"no token": {"", 401}, "malformed": {"not.a.jwt", 401}, "expired": {expired, 401},
		"another audience": {otherAudience, 401}, "no dpo group": {noGroup, 403},
	} {
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests", tc.token, nil, nil); s != tc.status || !strings.Contains(string(raw), `"status":`) {
			t.Errorf("%s: %d %s, want %d with a problem body", name, s, raw, tc.status)
		}
	}

	// The overdue list holds C, masked.
	var page dpoPage
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests?overdue=true", token, nil, &page); s != 200 {
		t.Fatalf("overdue list: %d %s", s, raw)
	}
	if len(page.Items) != 1 || page.Items[0].ID != cReq.ID || !page.Items[0].Overdue || page.Items[0].Subject != "l***@e***.org" {
		t.Errorf("overdue list: %+v", page.Items)
	}
	// The open list holds B, C and D, failed first.
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests", token, nil, &page); s != 200 || len(page.Items) != 3 || page.Items[0].ID != d.ID {
		t.Errorf("open list: %d %s", s, raw)
	}

	// Extend B: the person is told the new date and the reason.
	var v dpoView
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+b.ID+"/extend", token, map[string]any{"months": 2, "reason": "Your records are spread over four systems."}, &v); s != 200 || v.ExtendedMonths != 2 {
		t.Fatalf("extend: %d %s", s, raw)
	}
	notice := mailTo(t, outbox, b.ID, seed.Grace, "we need more time")
	if !strings.Contains(notice, "four systems") {
		t.Errorf("extension notice lacks the reason:\n%s", notice)
	}
	if s, _ := c.dpoDo("POST", "/v1/dpo/requests/"+cReq.ID+"/extend", token, map[string]any{"months": 1, "reason": "late"}, nil); s != 409 {
		t.Errorf("extending an overdue request: %d, want 409", s)
	}

	// Reject C. Its address was never verified: no notice goes to it.
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+cReq.ID+"/reject", token, map[string]any{"reason": "manifestly_unfounded", "detail": "No such customer has ever existed."}, &v); s != 200 || v.Status != "rejected" {
		t.Fatalf("reject: %d %s", s, raw)
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*-"+cReq.ID+"-*.eml")); len(files) != 1 {
		t.Errorf("messages about the unverified, rejected request: %v, want only its code", files)
	}

	// Retry D to completion.
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+d.ID+"/retry", token, nil, &v); s != 200 || v.Status != "queued" {
		t.Fatalf("retry: %d %s", s, raw)
	}
	deadline := time.Now().Add(90 * time.Second)
	for v.Status != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("retried request not completed: %+v", v)
		}
		time.Sleep(250 * time.Millisecond)
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+d.ID, token, nil, &v); s != 200 {
			t.Fatalf("detail: %d %s", s, raw)
		}
	}
	if s, raw := c.dpoDo("GET", "/v1/requests/"+d.ID+"/report", d.StatusToken, nil, nil); s != 200 {
		t.Errorf("report of the retried request: %d %s", s, raw)
	}

	// Its audit trail tells the whole story, and proves itself intact...
	var detail struct {
		Audit []struct{ Actor, Action, Detail string } `json:"audit"`
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+d.ID, token, nil, &detail); s != 200 {
		t.Fatalf("detail: %d %s", s, raw)
	}
	var actions []string
	for _, e := range detail.Audit {
		actions = append(actions, e.Action)
		if strings.Contains(e.Detail, "@") || strings.Contains(e.Actor, "@") {
			t.Errorf("audit entry with an address: %+v", e)
		}
	}
	// The test made it verified and failed itself, with those steps; the
	// DPO's retry and the pipeline did the rest.
	want := []string{"received", "verified", "failed", "retried", "dispatched", "purpose_done", "purpose_done", "purpose_done", "purpose_done", "person_notified", "completed", "link_issued"}
	if fmt.Sprint(actions) != fmt.Sprint(want) || detail.Audit[3].Actor != "local-dpo" {
		t.Errorf("trail %v (retried by %q), want %v", actions, detail.Audit[3].Actor, want)
	}
	var check dsr.AuditCheck
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+d.ID+"/audit", token, nil, &check); s != 200 || !check.Intact || check.Entries != len(want) {
		t.Errorf("audit check: %d %s", s, raw)
	}
	// ...until someone edits an entry in the table: the check names it, and so
	// does the command.
	auditTable := stack.Names["AuditTable"].Ref
	if _, err := dynamodb.NewFromConfig(cfg).UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &auditTable,
		Key:              map[string]types.AttributeValue{"requestId": &types.AttributeValueMemberS{Value: d.ID}, "seq": &types.AttributeValueMemberN{Value: "2"}},
		UpdateExpression: aws.String("SET actor = :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: "someone-else"}},
	}); err != nil {
		t.Fatal(err)
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+d.ID+"/audit", token, nil, &check); s != 200 || check.Intact || check.Broken != 2 {
		t.Errorf("audit check after tampering: %d %s, want entry 2 named", s, raw)
	}
	cmd := exec.Command("go", "run", "./infra/auditcheck", "-request", d.ID)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "AUDIT_TABLE="+auditTable, "AWS_ENDPOINT_URL="+os.Getenv("AWS_ENDPOINT_URL"),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), `"brokenAt":2`) {
		t.Errorf("auditcheck: %v, output %s; want exit status 1 naming entry 2", err, out)
	}

	var m struct {
		ByStatus map[string]int `json:"byStatus"`
		Overdue  int            `json:"overdue"`
		Requests int            `json:"requests"`
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/metrics", token, nil, &m); s != 200 || m.ByStatus["completed"] != 1 || m.ByStatus["rejected"] != 1 || m.ByStatus["queued"] != 1 || m.Requests != 3 {
		t.Errorf("metrics: %d %s", s, raw)
	}
}

// mailTo returns the outbox message about request id to address whose
// subject contains subject.
func mailTo(t *testing.T, dir, id, address, subject string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*-"+id+"-*.eml"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "To: "+address) && strings.Contains(string(raw), subject) {
			return string(raw)
		}
	}
	t.Fatalf("no message %q to %s about %s in the outbox (%d messages)", subject, address, id, len(files))
	return ""
}

// queryCounter counts the DynamoDB Query calls of a stack and the items
// they read (ScannedCount) and returned (Count).
type queryCounter struct {
	mu                      sync.Mutex
	calls, scanned, counted int
}

func (q *queryCounter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CountQueries",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if res, ok := out.Result.(*dynamodb.QueryOutput); ok && err == nil {
				q.mu.Lock()
				q.calls++
				q.scanned += int(res.ScannedCount)
				q.counted += int(res.Count)
				q.mu.Unlock()
			}
			return out, md, err
		}), middleware.After)
}

func (q *queryCounter) take() (calls, scanned, counted int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	calls, scanned, counted = q.calls, q.scanned, q.counted
	q.calls, q.scanned, q.counted = 0, 0, 0
	return
}

// TestDPOListPageCost stores 10,000 requests and reads pages of the DPO list:
// each page costs the Query calls and items of its own size, not of the
// table (no Scan). It logs the figures.
func TestDPOListPageCost(t *testing.T) {
	const n = 10000
	counter := &queryCounter{}
	cfg := awsConfig(t, counter.middleware)
	stack, _ := startStack(t, cfg, nil)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	statuses := []dsr.Status{dsr.StatusInProgress, dsr.StatusQueued, dsr.StatusAwaitingVerification, dsr.StatusCompleted}
	var items []map[string]types.AttributeValue
	for i := range n {
		due := now.Add(time.Duration(i-n/10) * time.Hour) // a tenth overdue
		av, err := attributevalue.MarshalMap(map[string]any{
			"id": fmt.Sprintf("01JE%022d", i), "type": []string{"access", "erasure", "objection"}[i%3],
			"status": string(statuses[i%len(statuses)]), "email": fmt.Sprintf("person%05d@example.org", i),
			"tokenHash": "x", "codeAttempts": 0, "receivedAt": due.AddDate(0, -1, 0).Format("2006-01-02T15:04:05.000Z"),
			"dueAt": due.Format("2006-01-02T15:04:05.000Z"), "updatedAt": now.Format("2006-01-02T15:04:05.000Z"),
		})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(ctx, dynamodb.NewFromConfig(awsConfig(t)), stack.Names["RequestsTable"].Ref, items); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: stack.URL}
	counter.take()
	for _, tc := range []struct {
		query     string
		pageItems int
	}{
		{"limit=25", 25},
		{"limit=100", 100},
		{"overdue=true&limit=25", 25},
		{"status=in_progress&type=erasure&limit=25", 25},
	} {
		var page dpoPage
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests?"+tc.query, stack.DpoToken, nil, &page); s != http.StatusOK || len(page.Items) != tc.pageItems || page.Cursor == "" {
			t.Fatalf("%s: %d, %d items, cursor %q: %.300s", tc.query, s, len(page.Items), page.Cursor, raw)
		}
		calls, scanned, counted := counter.take()
		t.Logf("GET /v1/dpo/requests?%s with %d requests stored: %d Query call(s), %d items read, %d returned (page of %d)",
			tc.query, n, calls, scanned, counted, tc.pageItems)
		if scanned > 3*tc.pageItems+100 {
			t.Errorf("%s read %d items for a page of %d: the list must not read the table", tc.query, scanned, tc.pageItems)
		}
	}
}

// TestDeadlineMonitorEndToEnd fires the monitor's schedule on the local
// stack: a request left unverified for 8 days expires (its person sees it),
// an overdue one is reported, and the DPO gets the digest.
func TestDeadlineMonitorEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg)
	table := stack.Names["RequestsTable"].Ref
	store := &dynamo.Requests{Client: ddb, Table: table, AuditTable: stack.Names["AuditTable"].Ref}
	now := time.Now().UTC()
	var stale, late submitted
	for _, sub := range []*submitted{&stale, &late} {
		if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": seed.Grace}, sub); s != 202 {
			t.Fatalf("submit: %d %s", s, b)
		}
	}
	// Eight days pass for the first (set back by hand); the second is overdue.
	_, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &table, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: stale.ID}},
		UpdateExpression:          aws.String("SET receivedAt = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: now.Add(-8 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Transition(ctx, late.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
		t.Fatal(err)
	}
	if err := store.SetDeadline(ctx, late.ID, 0, dsr.Extension{At: now, DueAt: now.Add(-time.Hour)}, dsrtest.Step(dsr.AuditExtended)); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Fire(ctx, "MonitorFunction", now); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	var v view
	if s, _, b := c.do("GET", "/v1/requests/"+stale.ID, stale.StatusToken, nil, &v); s != 200 || v.Status != "expired" {
		t.Errorf("the stale request: %d %s, want expired", s, b)
	}
	digest := mailTo(t, outbox, "digest", "privacy@example.com", "1 overdue")
	if !strings.Contains(digest, late.ID) || !strings.Contains(digest, "now expired: 1") || strings.Contains(digest, seed.Grace) {
		t.Errorf("digest:\n%s", digest)
	}
}

// TestRegisteredLetterIsDueAMonthAfterReceipt: grace's access request came
// by letter, received three days ago; the DPO registers it with the receipt
// time, the channel and how her identity was checked. It is due one calendar
// month after its receipt (Art. 12(3), to the end of that day in the
// deadline's time zone, the template's), not after its registration; it runs without an e-mail code, grace
// reads it with the status token the DPO hands her and is told by e-mail
// when it is answered, and its trail records the channel and the check
// (Art. 5(2)). A receipt in the future is a 400 naming receivedAt.
func TestRegisteredLetterIsDueAMonthAfterReceipt(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	received := time.Now().UTC().AddDate(0, 0, -3).Truncate(time.Second)
	body := map[string]any{"type": "access", "email": seed.Grace, "receivedAt": received.Format(time.RFC3339), "channel": "letter", "identityCheck": "signature_compared"}
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests", stack.DpoToken, map[string]any{"type": "access", "email": seed.Grace,
		"receivedAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "channel": "letter", "identityCheck": "signature_compared"}, nil); s != 400 ||
		!strings.Contains(string(raw), `"receivedAt"`) {
		t.Errorf("a receipt in the future: %d %s", s, raw)
	}
	var reg struct {
		ID, Status, StatusToken string
		ReceivedAt, DueAt       time.Time
	}
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests", stack.DpoToken, body, &reg); s != http.StatusAccepted {
		t.Fatalf("register: %d %s", s, raw)
	}
	wantDue := templateDeadline(t).Due(received, 1)
	if reg.Status != "queued" || !reg.ReceivedAt.Equal(received) || !reg.DueAt.Equal(wantDue) {
		t.Errorf("registered %+v, want queued, received %s, due %s", reg, received, wantDue)
	}
	sub := submitted{ID: reg.ID, Type: "access", StatusToken: reg.StatusToken}
	pollUntilDone(t, c, sub, 90*time.Second)
	var pv struct{ ReceivedAt, DueAt time.Time }
	if s, _, b := c.do("GET", "/v1/requests/"+reg.ID, reg.StatusToken, nil, &pv); s != 200 || !pv.DueAt.Equal(wantDue) || !pv.ReceivedAt.Equal(received) {
		t.Errorf("the person's view: %d %s, want received %s, due %s", s, b, received, wantDue)
	}
	if s, _, b := c.do("GET", "/v1/requests/"+reg.ID+"/report", reg.StatusToken, nil, nil); s != 200 {
		t.Errorf("report link: %d %s", s, b)
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*-"+reg.ID+"-*.eml")); len(files) != 1 || !strings.HasSuffix(files[0], reg.ID+"-completed.eml") {
		t.Errorf("mails about the registered request: %v, want only its completion notice (no code)", files)
	}
	var d struct {
		Audit []dsr.AuditEntry `json:"audit"`
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+reg.ID, stack.DpoToken, nil, &d); s != 200 || len(d.Audit) < 2 {
		t.Fatalf("detail: %d %s", s, raw)
	}
	if a := d.Audit; a[0].Action != dsr.AuditReceived || !strings.Contains(a[0].Detail, "received by letter at "+received.Format(time.RFC3339)) ||
		a[1].Action != dsr.AuditVerified || !strings.Contains(a[1].Detail, "signature_compared") {
		t.Errorf("trail %+v", a[:2])
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+reg.ID+"/audit", stack.DpoToken, nil, nil); s != 200 || !strings.Contains(string(raw), `"intact":true`) {
		t.Errorf("audit check: %d %s", s, raw)
	}
}

// templateDeadline is the deadline policy the template gives the DPO
// function (its DEADLINE_* variables), as every local stack runs it.
func templateDeadline(t *testing.T) dsr.DeadlinePolicy {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join(eventsDir(), "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	names := samtemplate.Names{}
	for id := range tpl.Resources {
		names[id] = samtemplate.Physical{Ref: "dsr-" + id, Attrs: map[string]string{"Arn": "arn:aws:sqs:us-east-1:123456789012:dsr-" + id}}
	}
	fns, err := tpl.Functions(names, samtemplate.Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: "dsr"})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		if fn.LogicalID == "DpoFunction" {
			p, err := awsapp.DeadlinePolicy(func(k string) string { return fn.Environment[k] })
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatal("the template has no DpoFunction")
	return dsr.DeadlinePolicy{}
}
