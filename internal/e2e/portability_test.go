//go:build integration

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/pepper"
)

// receivingController is another controller's endpoint (Art. 20(2)) on
// 127.0.0.1: it checks each delivery's signature with the key the pipeline
// gave it, as docs/api.md tells a receiver to, refuses the first attempt
// with a 503 (the sender must retry), and keeps each delivery once, by its
// delivery id.
type receivingController struct {
	t   *testing.T
	key []byte

	mu        sync.Mutex
	attempts  int
	bad       []string
	delivered map[string][]byte
}

func (rc *receivingController) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if reason := rc.verify(r, body); reason != "" {
		rc.bad = append(rc.bad, reason)
		http.Error(w, reason, http.StatusUnauthorized)
		return
	}
	if rc.attempts == 1 {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if _, seen := rc.delivered[r.Header.Get("X-DSR-Delivery")]; !seen {
		rc.delivered[r.Header.Get("X-DSR-Delivery")] = body
	}
	w.WriteHeader(http.StatusAccepted)
}

// verify checks a delivery as a receiver does: POST, JSON, a delivery id,
// t= within five minutes, and v1= the HMAC-SHA256 of "<t>.<delivery>.<body>".
func (rc *receivingController) verify(r *http.Request, body []byte) string {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-DSR-Delivery") == "" {
		return "not a delivery"
	}
	var ts, v1 string
	for _, part := range strings.Split(r.Header.Get("X-DSR-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return "stale or missing timestamp"
	}
	mac := hmac.New(sha256.New, rc.key)
	mac.Write([]byte(ts + "." + r.Header.Get("X-DSR-Delivery") + "."))
	mac.Write(body)
	got, err := hex.DecodeString(v1)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return "bad signature"
	}
	return ""
}

// startReceiver starts a receiving controller holding the stack's
// transmission key.
func startReceiver(t *testing.T, cfg aws.Config, stack *devstack.Stack) (*receivingController, *httptest.Server) {
	t.Helper()
	key, err := pepper.Load(context.Background(), secretsmanager.NewFromConfig(cfg), stack.Names["TransmissionKeySecret"].Ref)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receivingController{t: t, key: key, delivered: map[string][]byte{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

type portabilityView struct {
	Status string `json:"status"`
	Result struct {
		Report       string            `json:"report"`
		Certificate  string            `json:"certificate"`
		Transmission *dsr.Transmission `json:"transmission"`
	} `json:"result"`
}

// TestPortabilityEndToEnd is issue 16's test: ada's portability export
// holds the newsletter and marketing data she provided and not the segment,
// validates against the published schema, comes as zipped CSV too, and is
// delivered to a local receiving endpoint that verifies the signature (after
// one refused attempt); the outcome is on the request and in its trail
// once. Bad endpoints are 400s naming transmitTo, without echoing it.
func TestPortabilityEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	rc, srv := startReceiver(t, cfg, stack)

	for _, bad := range []string{"http://receiver.example/inbox", "https://10.0.0.7/inbox", "https://localhost/inbox", "https://u:p@receiver.example/inbox"} {
		s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "portability", "email": seed.Ada, "transmitTo": bad}, nil)
		if s != http.StatusBadRequest || !strings.Contains(string(b), `"transmitTo"`) || strings.Contains(string(b), bad) {
			t.Errorf("transmitTo %q: %d %s", bad, s, b)
		}
	}

	sub := submitVerified(t, c, outbox, map[string]any{"type": "portability", "email": seed.Ada, "format": "csv", "transmitTo": srv.URL + "/inbox", "language": "en"})
	pollUntilDone(t, c, sub, 90*time.Second)
	var v portabilityView
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &v); s != http.StatusOK {
		t.Fatalf("status: %d %s", s, b)
	}
	tr := v.Result.Transmission
	if v.Result.Report != "/v1/requests/"+sub.ID+"/report?format=csv" || tr == nil || tr.Status != "delivered" || tr.HTTPStatus != 202 || tr.Attempts != 2 {
		t.Fatalf("completed view: %+v, transmission %+v", v.Result, tr)
	}
	if s, _, _ := c.do("GET", "/v1/requests/"+sub.ID+"/certificate", sub.StatusToken, nil, nil); s != http.StatusConflict {
		t.Errorf("certificate of a portability request: %d, want 409", s)
	}
	if s, _, _ := c.do("GET", "/v1/requests/"+sub.ID+"/report?format=html", sub.StatusToken, nil, nil); s != http.StatusBadRequest {
		t.Errorf("format=html: %d, want 400", s)
	}

	var l link
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/report?format=json", sub.StatusToken, nil, &l); s != http.StatusOK {
		t.Fatalf("export link: %d %s", s, b)
	}
	raw := download(t, l.URL)
	checkExport(t, cfg, stack, sub.ID, raw)

	rc.mu.Lock()
	if len(rc.bad) != 0 || !bytes.Equal(rc.delivered[sub.ID], raw) || rc.attempts != 2 {
		t.Errorf("receiver: %d attempts, refused %v, delivered the export: %v", rc.attempts, rc.bad, bytes.Equal(rc.delivered[sub.ID], raw))
	}
	rc.mu.Unlock()

	if s, _, b := c.do("GET", v.Result.Report, sub.StatusToken, nil, &l); s != http.StatusOK {
		t.Fatalf("CSV link: %d %s", s, b)
	}
	checkExportZip(t, download(t, l.URL))

	audit := &dynamo.Audit{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["AuditTable"].Ref, RequestsTable: stack.Names["RequestsTable"].Ref}
	entries, err := audit.Entries(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var transmitted []string
	for _, e := range entries {
		if e.Action == dsr.AuditTransmitted {
			transmitted = append(transmitted, e.Detail)
		}
		if strings.Contains(e.Detail, "127.0.0.1") || strings.Contains(e.Detail, "ada@") {
			t.Errorf("trail entry %s holds the endpoint or the address: %q", e.Action, e.Detail)
		}
	}
	if len(transmitted) != 1 || !strings.Contains(transmitted[0], "delivered") {
		t.Errorf("transmission steps: %q", transmitted)
	}
}

// checkExport checks the JSON export against docs/portability.schema.json
// and against exactly what ada provided to the portable purposes: the
// provided attributes of each of her seeded records, no segment, nothing
// of customer care or billing.
func checkExport(t *testing.T, cfg aws.Config, stack *devstack.Stack, id string, raw []byte) {
	t.Helper()
	schema, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "portability.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	sdoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	comp := jsonschema.NewCompiler()
	comp.AssertFormat()
	if err := comp.AddResource(dsr.ExportSchemaID, sdoc); err != nil {
		t.Fatal(err)
	}
	sch, err := comp.Compile(dsr.ExportSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("the export does not match its schema: %v", err)
	}
	if bytes.Contains(raw, []byte("segment")) || bytes.Contains(raw, []byte("loyal-customers")) || bytes.Contains(raw, []byte("dsrSubjectKey")) {
		t.Errorf("the export holds derived data or the subject key:\n%s", raw)
	}
	var exp dsr.Export
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	items, _ := seededItems(t, cfg, stack)
	want := map[string][]map[string]any{}
	for _, name := range []string{"marketing", "newsletter"} {
		p, _ := stack.Registry.Lookup(name)
		want[name] = []map[string]any{}
		for _, it := range seed.Of(items[name], p, seed.Ada) {
			provided := map[string]any{}
			for _, a := range p.Provided {
				if v, ok := it[a]; ok {
					provided[a] = v
				}
			}
			want[name] = append(want[name], provided)
		}
	}
	got := map[string][]map[string]any{}
	for _, p := range exp.Purposes {
		got[p.Purpose] = p.Records
	}
	sortRecords := cmp.Transformer("sort", func(in []map[string]any) []string {
		var out []string
		for _, r := range in {
			b, _ := json.Marshal(r)
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	})
	if diff := cmp.Diff(want, got, sortRecords); diff != "" || exp.RequestID != id || exp.Schema != dsr.ExportSchemaID {
		t.Errorf("export of request %s (schema %s), records (-want +got):\n%s", exp.RequestID, exp.Schema, diff)
	}
}

// checkExportZip checks the CSV form: one file per portable purpose, the
// provided attributes as header, no segment.
func checkExportZip(t *testing.T, b []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the CSV export is not a zip archive: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(body), "loyal-customers") || !strings.HasPrefix(string(body), "email,name,") {
			t.Errorf("%s:\n%s", f.Name, body)
		}
	}
	if !cmp.Equal(names, []string{"marketing.csv", "newsletter.csv"}) {
		t.Errorf("zip entries %v", names)
	}
}

// TestPortabilityRequestAWSCalls counts the AWS calls of one portability
// request of ada's, with its transmission, beside the access request's
// (TestAccessRequestAWSCalls): the same pipeline over the portable purposes
// only, without the provenance read, with two documents and one secret read.
func TestPortabilityRequestAWSCalls(t *testing.T) {
	var counter callCounter
	cfg := awsConfig(t, counter.middleware)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	_, srv := startReceiver(t, awsConfig(t), stack) // the receiver's key read is not the pipeline's
	waitKeyed(t, stack)
	counter.reset()

	var sub submitted
	body := map[string]string{"type": "portability", "email": seed.Ada, "transmitTo": srv.URL + "/inbox"}
	if s, _, b := c.do("POST", "/v1/requests", "", body, &sub); s != 202 {
		t.Fatalf("submit: %d %s", s, b)
	}
	code := codeFromOutbox(t, outbox, sub.ID)
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != 200 {
		t.Fatalf("verify: %d %s", s, b)
	}
	_, polls := counter.untilDone(t, c, sub, time.Minute)
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/report", sub.StatusToken, nil, nil); s != 200 {
		t.Fatalf("link: %d %s", s, b)
	}
	byOp, byService := counter.without(polls)
	p := len(stack.Registry.Portable())
	logCalls(t, fmt.Sprintf("one portability request over %d of %d purposes, transmitted (%d status polls left out)", p, len(stack.Registry), polls), byOp, byService)
	// As TestAccessRequestAWSCalls counts them, for the P portable purposes
	// planned: no provenance Query at assembly (an export holds what the
	// person provided, not its sources and recipients); assembly writes two
	// documents (export.json, export.zip) as the access report does (JSON,
	// HTML); the worker reads the transmission key once per process.
	const change = 2
	limits := 3 + 6 + 1
	keys, perProcess := p, p+1
	minDynamo := 1 + (2 + change) + (1 + change) + p*(2+change) + change + (1 + change) + limits + keys + perProcess
	minS3 := 2*p + 2 + 1
	t.Logf("  minimum the design allows: DynamoDB %d, SQS 2, S3 %d, Secrets Manager 1", minDynamo, minS3)
	rereads := max(byOp["DispatchFunction DynamoDB.GetItem"]-2, 0)
	races := lostRaces(byOp)
	if byService["SQS"] != 2 || byService["DynamoDB"]-rereads-3*races != minDynamo || byService["S3"] != minS3 || byOp["WorkerFunction Secrets Manager.GetSecretValue"] != 1 {
		t.Errorf("calls %v (%d dispatch rereads, %d lost races), not the design's minimum", byService, rereads, races)
	}
}
