//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
)

type client struct {
	t      *testing.T
	base   string
	http   *http.Client // nil: http.DefaultClient
	header http.Header  // sent with every request
}

// do sends a request and decodes a JSON answer into out (if not nil); it
// returns the status and the raw body.
func (c *client) do(method, path, token string, body any, out any) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, raw
}

var codeLine = regexp.MustCompile(`Your verification code is: (\d{6})`)

// codeFromOutbox reads the code e-mailed to ada for request id, as a person would.
func codeFromOutbox(t *testing.T, dir, id string) string {
	t.Helper()
	return codeFromOutboxFor(t, dir, id, seed.Ada)
}

func dirEntries(dir string) ([]os.DirEntry, error) { return os.ReadDir(dir) }

// codeFromOutboxFor reads the code e-mailed to address for request id.
func codeFromOutboxFor(t *testing.T, dir, id, address string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*-"+id+"-*.eml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("outbox: want one message for %s, got %v (%v)", id, files, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "To: "+address) {
		t.Errorf("outbox message is not addressed to the normalized address:\n%s", raw)
	}
	return codeIn(t, string(raw))
}

// codeIn returns the verification code of an outbox message.
func codeIn(t *testing.T, raw string) string {
	t.Helper()
	m := codeLine.FindStringSubmatch(raw)
	if m == nil {
		t.Fatalf("outbox message has no code:\n%s", raw)
	}
	return m[1]
}

type submitted struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	StatusToken string `json:"statusToken"`
	ReceivedAt  string `json:"receivedAt"`
}

type view struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	DueAt       string `json:"dueAt"`
	CompletedAt string `json:"completedAt"`
	Result      struct {
		Report string `json:"report"`
	} `json:"result"`
}

type link struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// TestAccessRequestEndToEnd is the product's base: submit for ada, read the
// code from the outbox, verify, poll until completed, fetch the report link,
// download the report: it holds exactly ada's seeded records from every
// purpose table, and nothing of grace or anyone else; in English, as asked
// (TestAccessReportInGerman reads it in German).
func TestAccessRequestEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}

	var sub submitted
	status, hdr, raw := c.do("POST", "/v1/requests", "", `{"type":"access","email":"  Ada@Example.COM ","language":"en"}`, &sub)
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, raw)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("submit Content-Type = %q", ct)
	}
	if sub.Status != "awaiting_verification" || sub.Type != "access" || len(sub.StatusToken) < 22 || sub.ID == "" {
		t.Fatalf("submit answer: %+v", sub)
	}
	if bytes.Contains(raw, []byte("ada@")) || bytes.Contains(raw, []byte("Ada@")) {
		t.Errorf("submit answer echoes the address: %s", raw)
	}
	code := codeFromOutbox(t, outbox, sub.ID)

	// Object-level authorization: no token, a wrong token, an unknown id and
	// another request's token all get the same 404.
	var other submitted
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": "grace@example.com"}, &other); s != 202 {
		t.Fatalf("submit grace: %d %s", s, b)
	}
	_, _, notFound := c.do("GET", "/v1/requests/"+sub.ID, "", nil, nil)
	for name, tc := range map[string]struct{ id, token string }{
		"wrong token":         {sub.ID, sub.StatusToken + "x"},
		"unknown id":          {"01JD0000000000000000000000", sub.StatusToken},
		"other request token": {sub.ID, other.StatusToken},
		"not an id":           {"not-an-id", sub.StatusToken},
	} {
		s, h, b := c.do("GET", "/v1/requests/"+tc.id, tc.token, nil, nil)
		if s != 404 || h.Get("Content-Type") != "application/problem+json" || !bytes.Equal(b, notFound) {
			t.Errorf("%s: %d %s %s, want the same 404 as without a token (%s)", name, s, h.Get("Content-Type"), b, notFound)
		}
	}

	// A wrong code is a 400 and counts (against the request's 5 attempts and
	// the person's 3 wrong codes a day); the right one verifies.
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": wrong}, nil); s != 400 || !strings.Contains(string(b), "2 attempt(s) left") {
		t.Fatalf("wrong code: %d %s", s, b)
	}
	var v view
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, &v); s != 200 {
		t.Fatalf("verify: %d %s", s, b)
	}
	if v.Status == "awaiting_verification" || v.DueAt == "" {
		t.Fatalf("after verify: %+v", v)
	}
	// Verifying twice with the right code is harmless.
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, &v); s != 200 {
		t.Fatalf("verify again: %d %s", s, b)
	}
	// Before completion the report is a 409 (unless the pipeline was faster).
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/report", sub.StatusToken, nil, nil); s != 409 && s != 200 {
		t.Errorf("report before completion: %d %s", s, b)
	}

	deadline := time.Now().Add(90 * time.Second)
	for v.Status != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("request not completed in time: %+v", v)
		}
		if v.Status == "failed" {
			t.Fatalf("request failed: %+v", v)
		}
		time.Sleep(200 * time.Millisecond)
		if s, _, b := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &v); s != 200 {
			t.Fatalf("status: %d %s", s, b)
		}
	}
	if v.Result.Report != "/v1/requests/"+sub.ID+"/report" || v.CompletedAt == "" {
		t.Fatalf("completed view: %+v", v)
	}

	var l link
	before := time.Now()
	if s, _, b := c.do("GET", v.Result.Report, sub.StatusToken, nil, &l); s != 200 {
		t.Fatalf("report link: %d %s", s, b)
	}
	if l.ExpiresAt.After(before.Add(5*time.Minute+time.Second)) || !strings.Contains(l.URL, "X-Amz-Expires=300") {
		t.Errorf("link valid for more than 5 minutes: %+v", l)
	}
	report := download(t, l.URL)

	var rep dsr.Report
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	checkReport(t, stack, cfg, rep, report)

	var hl link
	if s, _, b := c.do("GET", v.Result.Report+"?format=html", sub.StatusToken, nil, &hl); s != 200 {
		t.Fatalf("html link: %d %s", s, b)
	}
	page := string(download(t, hl.URL))
	checkProvenance(t, stack.Registry, rep, page)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || strings.Contains(page, "<script") || strings.Contains(page, "src=") ||
		strings.Contains(page, "<link") || strings.Contains(page, "@import") {
		t.Errorf("html report is not one self-contained page")
	}
	for _, want := range []string{`<html lang="en">`, "ada@example.com", "INV-2026-0100", "Purpose: Invoices and payments", "consent (Art. 6(1)(a) GDPR)", "invoice number"} {
		if !strings.Contains(page, want) {
			t.Errorf("html report lacks %q", want)
		}
	}
	if strings.Contains(page, "grace") || strings.Contains(page, "example.net") {
		t.Errorf("html report holds someone else's data")
	}
	if s, _, b := c.do("GET", v.Result.Report+"?format=pdf", sub.StatusToken, nil, nil); s != 400 {
		t.Errorf("format=pdf: %d %s", s, b)
	}

}

// tableNames are the physical names of reg's tables, which a person never
// reads in a report.
func tableNames(reg dsr.Registry) []string {
	var names []string
	for _, p := range reg {
		names = append(names, p.Table)
	}
	return names
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v %.200s", resp.StatusCode, err, b)
	}
	return b
}

// seededItems are the stack's seeded records, as keyed, and each purpose
// table's key attribute.
func seededItems(t *testing.T, cfg aws.Config, stack *devstack.Stack) (map[string][]seed.Item, map[string]string) {
	t.Helper()
	keys, err := seed.KeyAttributes(context.Background(), dynamodb.NewFromConfig(cfg), stack.Registry)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := awsapp.LoadHasher(context.Background(), cfg, stack.Names["PepperSecret"].Ref)
	if err != nil {
		t.Fatal(err)
	}
	items, err := seed.Items(stack.Registry, keys, hasher)
	if err != nil {
		t.Fatal(err)
	}
	return items, keys
}

// checkReport compares the report with exactly ada's seeded records, those
// the CRM stored under other forms of her address included.
func checkReport(t *testing.T, stack *devstack.Stack, cfg aws.Config, rep dsr.Report, raw []byte) {
	t.Helper()
	reg := stack.Registry
	items, keys := seededItems(t, cfg, stack)
	if rep.Subject.Email != seed.Ada || len(rep.Rights) == 0 || rep.Controller.Name == "" {
		t.Errorf("report header: %+v %+v %v", rep.Subject, rep.Controller, rep.Rights)
	}
	if len(rep.Purposes) != len(reg) {
		t.Fatalf("report has %d purposes, registry %d", len(rep.Purposes), len(reg))
	}
	l := rep.Language
	for i, p := range reg {
		got := rep.Purposes[i]
		if got.Purpose != p.Name || got.Description != p.Description.In(l) || got.LegalBasisCode != p.Basis() || got.Retention != p.Retention.In(l) ||
			got.Title != p.Title.In(l) || !slices.Equal(got.Categories, p.Categories.In(l)) {
			t.Errorf("purpose %d: %+v", i, got)
		}
		var want, records []map[string]any
		for _, it := range seed.Of(items[p.Name], p, seed.Ada) {
			want = append(want, normalize(t, it))
		}
		if len(want) == 0 {
			t.Fatalf("seed has no record of ada in %s", p.Name)
		}
		for _, r := range got.Records {
			records = append(records, r.Item)
			for attr := range r.Item {
				if label, ok := p.Label(attr, l); !ok || r.Labels[attr] != label {
					t.Errorf("%s: attribute %s labelled %q, want the registry's label", p.Name, attr, r.Labels[attr])
				}
			}
		}
		sortByKey := cmpopts.SortSlices(func(a, b map[string]any) bool {
			return fmt.Sprint(a[keys[p.Name]]) < fmt.Sprint(b[keys[p.Name]])
		})
		if diff := cmp.Diff(want, records, sortByKey); diff != "" {
			t.Errorf("purpose %s records (-seeded +report):\n%s", p.Name, diff)
		}
	}
	for _, foreign := range append([]string{seed.Grace, "example.net"}, tableNames(reg)...) {
		if bytes.Contains(raw, []byte(foreign)) {
			t.Errorf("report holds %q", foreign)
		}
	}
}

// normalize gives a seeded item the shape it has after a JSON round trip.
func normalize(t *testing.T, it seed.Item) map[string]any {
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAccessRequestAWSCalls counts, with an SDK middleware on every client,
// the DynamoDB, SQS and S3 calls of one access request over the registry's
// purposes: submit, verify, the pipeline, one report link. Status polls are
// counted apart (a client may poll as often as it likes).
func TestAccessRequestAWSCalls(t *testing.T) {
	var counter callCounter
	cfg := awsConfig(t, counter.middleware)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	waitKeyed(t, stack) // the seed's stream records, keyed at start already
	counter.reset()

	var sub submitted
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": seed.Ada}, &sub); s != 202 {
		t.Fatalf("submit: %d %s", s, b)
	}
	code := codeFromOutbox(t, outbox, sub.ID)
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != 200 {
		t.Fatalf("verify: %d %s", s, b)
	}
	v, polls := counter.untilDone(t, c, sub, time.Minute)
	if s, _, b := c.do("GET", v.Result.Report, sub.StatusToken, nil, nil); s != 200 {
		t.Fatalf("link: %d %s", s, b)
	}
	byOp, byService := counter.without(polls)
	logCalls(t, fmt.Sprintf("one access request over %d purposes (%d status polls, one GetItem each, left out)", len(stack.Registry), polls), byOp, byService)
	// What the design cannot do without, for P purposes. Every change of
	// the request is one TransactWriteItems with its audit step (the
	// request's update, the entry, the trail's head), after one GetItem that
	// reads the head: a "change" below is those 2 calls. Submit: the create
	// with its received step, 1 TransactWriteItems (no head to read). Verify:
	// 1 GetItem + 1 UpdateItem (the attempt, spent before the code is
	// compared) + 1 SendMessage + a change (queued, verified). Dispatch:
	// 1 GetItem + a change (in progress, dispatched) + 1 SendMessageBatch.
	// Per purpose: 1 GetItem + 1 Query (one page) + 1 PutObject + a change
	// (the part, purpose_done). Assembly: P GetObject + 2 PutObject + 1 Query
	// (the subject's provenance, every purpose at once) + a change
	// (completed). Link: 1 GetItem + 1 HeadObject (the 410 check; signing is
	// no call) + a change (the link_issued step alone).
	//
	// The limits (README: "Limits") add, on the limits table: submit 1
	// UpdateItem (the client's bucket) + 1 GetItem and 1 PutItem (the
	// person's quota: a code and a place among the open requests); verify 2
	// UpdateItem (the bucket, in use since the submission a moment before) +
	// 2 × (GetItem + PutItem) (the person's guess, spent before the code is
	// compared, then given back with the place); the link 1 UpdateItem (the
	// request's links this hour).
	//
	// The subject keys (README: "Every record, however the CRM stored the
	// address") add: per purpose 1 BatchGetItem (the subject index holds
	// keys only: the records are read from the table, strongly consistent);
	// and once per function process, what it then keeps: the worker's 1
	// DescribeTable per purpose table (its key), dispatch's 1 BatchGetItem
	// (are the planned purposes' tables keyed?).
	p := len(stack.Registry)
	const change = 2
	limits := 3 + 6 + 1
	keys, perProcess := p, p+1
	minDynamo := 1 + (2 + change) + (1 + change) + p*(2+change) + (1 + change) + (1 + change) + limits + keys + perProcess
	minS3 := 2*p + 2 + 1
	t.Logf("  minimum the design allows: DynamoDB %d (%d of them the limits', %d the subject keys', %d once per process), SQS 2, S3 %d",
		minDynamo, limits, keys, perProcess, minS3)
	// Dispatch may read the request more than once: intake queues its
	// message a moment before it records the request as queued, and dispatch
	// waits that out, reading again. Those rereads are not counted against
	// the minimum.
	rereads := max(byOp["DispatchFunction DynamoDB.GetItem"]-2, 0)
	// Two changes of the request may race for its trail's head: the loser's
	// transaction is canceled, and it reads the request twice (did it take
	// effect? the new head) and tries again, three calls more.
	races := lostRaces(byOp)
	if byService["SQS"] != 2 || byService["DynamoDB"]-rereads-3*races != minDynamo || byService["S3"] != minS3 {
		t.Errorf("calls %v (%d dispatch rereads, %d lost races), not the design's minimum", byService, rereads, races)
	}
}

// TestCompletionMailsHoldNoPersonalData: when ada's access request and
// grace's erasure complete, each person gets one mail telling them so,
// addressed to them, whose body holds no address, status token, code or
// link to the document: only the request id and the link to the status page
// (every request ends with an answer the person is told of). The trail
// records the mail once, with the completion.
func TestCompletionMailsHoldNoPersonalData(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	for _, tc := range []struct{ typ, email string }{{"access", seed.Ada}, {"erasure", seed.Grace}} {
		t.Run(tc.typ, func(t *testing.T) {
			var sub submitted
			if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": tc.typ, "email": tc.email}, &sub); s != http.StatusAccepted {
				t.Fatalf("submit: %d %s", s, b)
			}
			code := codeFromOutboxFor(t, outbox, sub.ID, tc.email)
			if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != http.StatusOK {
				t.Fatalf("verify: %d %s", s, b)
			}
			pollUntilDone(t, c, sub, 90*time.Second)
			var l link
			doc := map[string]string{"access": "report", "erasure": "certificate"}[tc.typ]
			if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/"+doc, sub.StatusToken, nil, &l); s != 200 {
				t.Fatalf("%s link: %d %s", doc, s, b)
			}
			files, _ := filepath.Glob(filepath.Join(outbox, "*-"+sub.ID+"-completed.eml"))
			if len(files) != 1 {
				t.Fatalf("completion mails of %s: %v, want one", sub.ID, files)
			}
			raw, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
			if !strings.Contains(head, "To: "+tc.email+"\r\n") {
				t.Errorf("completion mail not addressed to %s:\n%s", tc.email, head)
			}
			if !strings.Contains(body, stack.URL+"/privacy/") || !strings.Contains(body, "Request: "+sub.ID) {
				t.Errorf("completion mail lacks the status page or the request id:\n%s", body)
			}
			local, _, _ := strings.Cut(tc.email, "@")
			for name, bad := range map[string]string{"address": tc.email, "local part": local + "@", "status token": sub.StatusToken,
				"code": code, "document link": l.URL, "bucket": "reports/", "signature": "X-Amz-"} {
				if strings.Contains(body, bad) {
					t.Errorf("completion mail holds the %s:\n%s", name, body)
				}
			}
			var d struct {
				Audit []dsr.AuditEntry `json:"audit"`
			}
			if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID, stack.DpoToken, nil, &d); s != 200 {
				t.Fatalf("detail: %d %s", s, raw)
			}
			told := 0
			for i, e := range d.Audit {
				if e.Action == dsr.AuditPersonNotified {
					told++
					if i+1 >= len(d.Audit) || d.Audit[i+1].Action != dsr.AuditCompleted {
						t.Errorf("person_notified is not written with the completion: %+v", d.Audit)
					}
				}
			}
			if told != 1 {
				t.Errorf("%d person_notified steps, want 1", told)
			}
		})
	}
}
