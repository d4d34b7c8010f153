//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/dynamo"
)

// TestBadInputThroughTheAPI sends what web forms get wrong, through the local
// HTTP API: every answer is the 4xx of docs/api.md with a problem+json body that
// does not echo the address, and nothing is written.
func TestBadInputThroughTheAPI(t *testing.T) {
	stack, outbox := startStack(t, awsConfig(t), nil)
	c := &client{t: t, base: stack.URL}
	tests := []struct {
		name, body string
		status     int
	}{
		{"malformed JSON", `{"type":"access","email":`, 400},
		{"unknown field", `{"type":"access","email":"eve@example.org","admin":true}`, 400},
		{"missing field", `{"type":"access"}`, 400},
		{"malformed address", `{"type":"access","email":"eve@@example.org"}`, 400},
		{"unknown type", `{"type":"delete-everything","email":"eve@example.org"}`, 400},
		{"body over 16 KiB", `{"type":"access","email":"eve@example.org","x":"` + strings.Repeat("a", 16<<10) + `"}`, 400},
		{"unknown purpose", `{"type":"objection","email":"eve@example.org","purposes":["astrology"]}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, raw := c.do("POST", "/v1/requests", "", tc.body, nil)
			if status != tc.status || hdr.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d %s %s", status, hdr.Get("Content-Type"), raw)
			}
			var p struct {
				Type, Title, Detail string
				Status              int
			}
			if err := json.Unmarshal(raw, &p); err != nil || p.Status != tc.status || p.Title == "" || p.Type == "" {
				t.Errorf("problem body %s", raw)
			}
			if strings.Contains(string(raw), "eve@") {
				t.Errorf("problem echoes the address: %s", raw)
			}
		})
	}
	if files, _ := dirEntries(outbox); len(files) != 0 {
		t.Errorf("bad input sent %d e-mails", len(files))
	}
	for _, path := range []string{"/v1/nothing-here", "/v1/requests/x/certificate", "/v1/requests/x/report/extra"} {
		if s, h, b := c.do("GET", path, "", nil, nil); s != 404 || h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("unknown route %s: %d %s %s", path, s, h.Get("Content-Type"), b)
		}
	}
}

// TestCORSPreflight asks, as a browser on the web form's origin would,
// whether it may POST a submission: the template's CorsConfiguration answers.
func TestCORSPreflight(t *testing.T) {
	stack, _ := startStack(t, awsConfig(t), nil)
	req, err := http.NewRequest(http.MethodOptions, stack.URL+"/v1/requests", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "http://localhost:8080")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8080" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestThrottle sends a bounded burst over the template's throttling burst
// limit to the local API on 127.0.0.1: the excess gets 429 problems with
// Retry-After, and the API answers again a moment later.
func TestThrottle(t *testing.T) {
	stack, _ := startStack(t, awsConfig(t), nil)
	c := &client{t: t, base: stack.URL}
	// 10 clients × 20 requests at once: well over the burst of 50 and the
	// rate of 20/s however slow the machine.
	var throttled atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				resp, err := http.Get(stack.URL + "/v1/requests/01JD0000000000000000000000")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					throttled.Add(1)
					if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
						t.Errorf("429 without Retry-After or problem body: %v", resp.Header)
					}
				}
			}
		}()
	}
	wg.Wait()
	if throttled.Load() == 0 {
		t.Error("no request throttled")
	}
	time.Sleep(1500 * time.Millisecond)
	if s, _, _ := c.do("GET", "/v1/requests/01JD0000000000000000000000", "", nil, nil); s != http.StatusNotFound {
		t.Errorf("after the pause: %d", s)
	}
}

// TestLargeSubjectCheckpoints gives one subject thousands of records (several
// 1 MB query pages) and makes the worker checkpoint after every page, as it
// would near its deadline: the report still holds every record, once.
func TestLargeSubjectCheckpoints(t *testing.T) {
	const n = 6000
	cfg := awsConfig(t)
	// With 59.5 s of the worker's 60 s kept in reserve, every invocation
	// checkpoints after its first page.
	stack, outbox := startStack(t, cfg, map[string]string{"WORKER_DEADLINE_RESERVE": "59.5s"})
	ctx := context.Background()
	p, _ := stack.Registry.Lookup("marketing")
	big := "big.subject@example.org"
	putSubjectItems(t, cfg, stack, p, big, n)
	c := &client{t: t, base: stack.URL}
	var sub submitted
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": big}, &sub); s != 202 {
		t.Fatalf("submit: %d %s", s, b)
	}
	code := codeFromOutboxFor(t, outbox, sub.ID, big)
	var v view
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, &v); s != 200 {
		t.Fatalf("verify: %d %s", s, b)
	}
	v = pollUntilDone(t, c, sub, 3*time.Minute)
	var l link
	if s, _, b := c.do("GET", v.Result.Report, sub.StatusToken, nil, &l); s != 200 {
		t.Fatalf("link: %d %s", s, b)
	}
	var rep dsr.Report
	if err := json.Unmarshal(download(t, l.URL), &rep); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rep.Purposes[0].Records {
		seen[r.Item["contactId"].(string)] = true
	}
	if rep.Purposes[0].Purpose != "marketing" || len(rep.Purposes[0].Records) != n || len(seen) != n {
		t.Errorf("marketing: %d records, %d distinct; want %d", len(rep.Purposes[0].Records), len(seen), n)
	}
	req, err := (&dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}).Get(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if req.DoneParts["marketing"] < 2 {
		t.Errorf("marketing written in %d chunk(s); want several (one per page)", req.DoneParts["marketing"])
	}
	t.Logf("%d records in %d chunks (one invocation each)", n, req.DoneParts["marketing"])
}

// TestPoisonTaskFailsTheRequest sends a task no worker can process: after
// maxReceiveCount receives the queue moves it to the dead-letter queue, and
// the dead-letter function marks its request failed with a reason.
func TestPoisonTaskFailsTheRequest(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	ctx := context.Background()
	sqsc := sqs.NewFromConfig(cfg)
	// Speed up redelivery for the test: 1 s instead of 6 × the timeout.
	taskQueue := stack.QueueURL("TaskQueue")
	if _, err := sqsc.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &taskQueue,
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): "1"}}); err != nil {
		t.Fatal(err)
	}
	// A receive already waiting (the pollers long-poll for 1 s) took the
	// queue's visibility timeout when it began: let those end first.
	time.Sleep(2500 * time.Millisecond)
	c := &client{t: t, base: stack.URL}
	var sub submitted
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": "ada@example.com"}, &sub); s != 202 {
		t.Fatalf("submit: %d %s", s, b)
	}
	// Move the request to in progress by hand, with a purpose no registry has,
	// and send that poison task.
	store := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
	now := time.Now()
	if err := store.Transition(ctx, sub.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
		t.Fatal(err)
	}
	if err := store.Transition(ctx, sub.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"astrology"}}, dsrtest.StepTo(dsr.StatusInProgress)); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(dsr.TaskMessage{RequestID: sub.ID, Purpose: "astrology"})
	if _, err := sqsc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &taskQueue, MessageBody: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
	_ = outbox
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := store.Get(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == dsr.StatusFailed {
			if !strings.Contains(r.FailureReason, `"astrology"`) || !strings.Contains(r.FailureReason, "dead-letter") {
				t.Errorf("reason %q", r.FailureReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("request not failed after the poison task: %s", r.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var v view
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &v); s != 200 || v.Status != "failed" {
		t.Errorf("status route: %d %s", s, b)
	}
}

func pollUntilDone(t *testing.T, c *client, sub submitted, limit time.Duration) view {
	t.Helper()
	var v view
	deadline := time.Now().Add(limit)
	for v.Status != "completed" {
		if time.Now().After(deadline) || v.Status == "failed" {
			t.Fatalf("request not completed: %+v", v)
		}
		time.Sleep(250 * time.Millisecond)
		if s, _, b := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &v); s != http.StatusOK {
			t.Fatalf("status: %d %s", s, b)
		}
	}
	return v
}

// putSubjectItems writes n contacts of subject into purpose p's table, each
// with a 400-byte note (so that pages of the subject index fill up), keyed
// as the stack's stream consumer keys them (the tests of the keying itself
// write records without a key), and waits until the stream is read.
func putSubjectItems(t *testing.T, cfg aws.Config, stack *devstack.Stack, p dsr.Purpose, subject string, n int) {
	t.Helper()
	hasher, err := awsapp.LoadHasher(context.Background(), cfg, stack.Names["PepperSecret"].Ref)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]map[string]types.AttributeValue, 0, n)
	for i := range n {
		av, err := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("big-%05d", i), p.Identifier: subject,
			p.SubjectKeyAttribute: hasher.Subject(subject), "note": strings.Repeat("n", 400)})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(context.Background(), dynamodb.NewFromConfig(cfg), p.Table, items); err != nil {
		t.Fatal(err)
	}
	waitKeyed(t, stack)
}

// waitKeyed waits until the stack's stream consumer has seen every contact
// record written so far (and keyed it): what the CRM writes is found by a
// request made after the stream's lag.
func waitKeyed(t *testing.T, stack *devstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := stack.WaitStreams(ctx); err != nil {
		t.Fatal(err)
	}
}
