//go:build integration

package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// TestRetriedSubmissionEndToEnd: a submission sent twice with one
// Idempotency-Key, as the privacy center retries when no answer arrived,
// is one request: the same id and status token, one received step, one
// request of the person's stored; and a browser on another origin may send
// the header.
func TestRetriedSubmissionEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL, header: http.Header{"Idempotency-Key": {"e2e-6f1c2d0e-8a5b-4c1e-9f3a"}}}
	body := map[string]string{"type": "erasure", "email": seed.Grace}
	var first, again submitted
	if s, _, b := c.do("POST", "/v1/requests", "", body, &first); s != http.StatusAccepted {
		t.Fatalf("submit: %d %s", s, b)
	}
	if s, _, b := c.do("POST", "/v1/requests", "", body, &again); s != http.StatusAccepted || again.ID != first.ID || again.StatusToken != first.StatusToken {
		t.Fatalf("retried: %d %s, want the first answer (%s)", s, b, first.ID)
	}
	files, err := filepath.Glob(filepath.Join(outbox, "*-"+first.ID+"-*.eml"))
	codes := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		codes[codeIn(t, string(raw))] = true
	}
	if err != nil || len(files) != 2 || len(codes) != 1 {
		t.Fatalf("outbox: %d messages with %d codes (%v), want the same code twice", len(files), len(codes), err)
	}
	var code string
	for c := range codes {
		code = c
	}
	if s, _, b := c.do("POST", "/v1/requests/"+first.ID+"/verify", first.StatusToken, map[string]string{"code": code}, nil); s != http.StatusOK {
		t.Fatalf("verify with the code of either mail: %d %s", s, b)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	hasher, err := awsapp.LoadHasher(context.Background(), cfg, stack.Names["PepperSecret"].Ref)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := (&dynamo.Requests{Client: ddb, Table: stack.Names["RequestsTable"].Ref}).BySubject(context.Background(), hasher.Subject(seed.Grace))
	if err != nil {
		t.Fatal(err)
	}
	var erasures int
	for _, r := range mine {
		if r.Type == dsr.TypeErasure && r.ID == first.ID {
			erasures++
		}
	}
	trail, err := (&dynamo.Audit{Client: ddb, Table: stack.Names["AuditTable"].Ref}).Entries(context.Background(), first.ID)
	if err != nil || erasures != 1 || len(trail) < 2 || trail[0].Action != dsr.AuditReceived || trail[1].Action != dsr.AuditVerified {
		t.Errorf("%d stored, trail %v (%v): want one request, received once then verified", erasures, trail, err)
	}
	pre, err := http.NewRequest(http.MethodOptions, stack.URL+"/v1/requests", nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.Header.Set("Origin", "http://127.0.0.1:8080") // AllowedOrigins' default
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type,idempotency-key")
	resp, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if allowed := resp.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(strings.ToLower(allowed), "idempotency-key") {
		t.Errorf("preflight: %d, allowed headers %q: a browser could not send the key", resp.StatusCode, allowed)
	}
}
