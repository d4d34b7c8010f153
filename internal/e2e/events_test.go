package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/intake"
	"github.com/privacyops/dsr/internal/jsonbody"
	"github.com/privacyops/dsr/internal/keying"
	"github.com/privacyops/dsr/internal/sqsqueue"
	"github.com/privacyops/dsr/internal/suppression"
)

// eventsDir is the repository's events/ folder (sample events for
// `sam local invoke -e` and for the RIE test).
func eventsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "events")
}

// decodeStrict decodes raw into out, refusing unknown fields and trailing data.
func decodeStrict(raw []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return nil
}

// TestEventsDecode proves every sample event under events/ is the event its
// function receives: it decodes into the aws-lambda-go type with no unknown
// field, and its body is the message that function expects.
func TestEventsDecode(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir(), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasPrefix(name, "intake-"), strings.HasPrefix(name, "suppression-"), strings.HasPrefix(name, "dpo-"):
				checkHTTPEvent(t, name, raw)
			case strings.HasSuffix(name, "-sqs.json"):
				checkSQSEvent(t, name, raw)
			case strings.HasSuffix(name, "-stream.json"):
				checkStreamEvent(t, name, raw)
			case strings.HasSuffix(name, "-invoke.json"):
				var req keying.Request
				if err := decodeStrict(raw, &req); err != nil || req.Purpose == "" {
					t.Errorf("%s is not a backfill request: %v %+v", name, err, req)
				}
			case strings.HasSuffix(name, "-schedule.json"):
				var ev events.EventBridgeEvent
				if err := decodeStrict(raw, &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Time.IsZero() {
					t.Errorf("%s is not a scheduled EventBridge event: %v %+v", name, err, ev)
				}
			default:
				t.Fatalf("%s: no event type known for this file name (intake-*.json, suppression-*.json, dpo-*.json, *-sqs.json, *-stream.json, *-invoke.json or *-schedule.json)", name)
			}
		})
	}
}

// validLanguage reports whether l is absent or a language of the answers.
func validLanguage(l string) bool {
	_, ok := dsr.ParseLanguage(l)
	return l == "" || ok
}

func checkHTTPEvent(t *testing.T, name string, raw []byte) {
	var ev events.APIGatewayV2HTTPRequest
	if err := decodeStrict(raw, &ev); err != nil {
		t.Fatalf("%s is not an API Gateway HTTP API (payload 2.0) event: %v", name, err)
	}
	if ev.Version != "2.0" || ev.RouteKey == "" || ev.RouteKey != ev.RequestContext.RouteKey ||
		ev.RawPath != ev.RequestContext.HTTP.Path || !strings.HasPrefix(ev.RouteKey, ev.RequestContext.HTTP.Method+" ") {
		t.Errorf("%s: inconsistent event: version %q, routeKey %q/%q, path %q/%q, method %q", name, ev.Version,
			ev.RouteKey, ev.RequestContext.RouteKey, ev.RawPath, ev.RequestContext.HTTP.Path, ev.RequestContext.HTTP.Method)
	}
	switch ev.RouteKey {
	case intake.RouteSubmit:
		var sub struct {
			Type     string `json:"type"`
			Email    string `json:"email"`
			Language string `json:"language"`
		}
		if err := decodeStrict([]byte(ev.Body), &sub); err != nil || sub.Type != "access" || sub.Email == "" || !validLanguage(sub.Language) {
			t.Errorf("%s: body %q is not an access submission: %v", name, ev.Body, err)
		}
	case intake.RouteStatus:
		id := ev.PathParameters["id"]
		if id == "" || ev.RawPath != "/v1/requests/"+id {
			t.Errorf("%s: pathParameters.id %q does not match rawPath %q", name, id, ev.RawPath)
		}
		if !strings.HasPrefix(ev.Headers["authorization"], "Bearer ") {
			t.Errorf("%s: no bearer Authorization header: %v", name, ev.Headers)
		}
	case intake.RoutePurposes:
		if ev.Body != "" || ev.Headers["authorization"] != "" || len(ev.PathParameters) != 0 {
			t.Errorf("%s: the purposes route takes no body, token or path parameter: %+v", name, ev)
		}
	case suppression.RouteCheck:
		var c struct {
			Email     string `json:"email"`
			Purpose   string `json:"purpose"`
			ConsentAt string `json:"consentAt,omitempty"`
		}
		if err := decodeStrict([]byte(ev.Body), &c); err != nil || c.Email == "" || c.Purpose == "" {
			t.Errorf("%s: body %q is not a suppression check: %v", name, ev.Body, err)
		}
		if a := ev.RequestContext.Authorizer; a == nil || a.IAM == nil || a.IAM.UserARN == "" ||
			!strings.HasPrefix(ev.Headers["authorization"], "AWS4-HMAC-SHA256 ") {
			t.Errorf("%s: an IAM-authorized route's event needs a SigV4 Authorization header and requestContext.authorizer.iam", name)
		}
	case intake.RouteUnsubscribe:
		if ev.PathParameters["token"] == "" || ev.Body != "List-Unsubscribe=One-Click" ||
			ev.Headers["content-type"] != "application/x-www-form-urlencoded" || ev.Headers["authorization"] != "" {
			t.Errorf("%s: a one-click POST (RFC 8058) has a token in its path, the form body and no authorization: %+v", name, ev)
		}
	case suppression.RouteIssueToken:
		if _, err := jsonbody.ParseUnsubscribeIssue([]byte(ev.Body), provenanceRegistry(t)); err != nil {
			t.Errorf("%s: body %q is not a token request: %v", name, ev.Body, err)
		}
		if a := ev.RequestContext.Authorizer; a == nil || a.IAM == nil || !strings.HasPrefix(ev.Headers["authorization"], "AWS4-HMAC-SHA256 ") {
			t.Errorf("%s: an IAM-authorized route's event needs a SigV4 Authorization header and requestContext.authorizer.iam", name)
		}
	case dpo.RouteList:
		if _, err := dpo.Authorize(ev); err != nil {
			t.Errorf("%s: a DPO route's event needs a bearer token in the dpo group, with requestContext.authorizer.jwt claims of that token: %v", name, err)
		}
		if _, err := dsr.ParseListQuery(ev.QueryStringParameters, time.Now()); err != nil {
			t.Errorf("%s: query %v: %v", name, ev.QueryStringParameters, err)
		}
	case dpo.RouteRegister:
		if _, err := dpo.Authorize(ev); err != nil {
			t.Errorf("%s: a DPO route's event needs a bearer token in the dpo group, with requestContext.authorizer.jwt claims of that token: %v", name, err)
		}
		// As the DPO registered it on the day of the event: received then.
		at := time.UnixMilli(ev.RequestContext.TimeEpoch)
		if _, err := jsonbody.ParseRegistration([]byte(ev.Body), provenanceRegistry(t), dsr.DeadlinePolicy{Location: time.UTC}, at); err != nil {
			t.Errorf("%s: body %q is not a registration: %v", name, ev.Body, err)
		}
	default:
		t.Errorf("%s: routeKey %q is no route of intake, suppression or dpo", name, ev.RouteKey)
	}
}

// checkStreamEvent checks a DynamoDB stream event of a purpose table, as
// KeyingFunction receives it.
func checkStreamEvent(t *testing.T, name string, raw []byte) {
	var ev events.DynamoDBEvent
	if err := decodeStrict(raw, &ev); err != nil {
		t.Fatalf("%s is not a DynamoDB stream event: %v", name, err)
	}
	if len(ev.Records) == 0 {
		t.Fatalf("%s: no records", name)
	}
	for i, r := range ev.Records {
		if r.EventID == "" || r.EventSource != "aws:dynamodb" || r.AWSRegion != "us-east-1" || r.Change.SequenceNumber == "" ||
			!strings.HasPrefix(r.EventSourceArn, "arn:aws:dynamodb:us-east-1:") || !strings.Contains(r.EventSourceArn, "/stream/") ||
			len(r.Change.Keys) == 0 || (r.EventName != "REMOVE") != (r.Change.NewImage != nil) {
			t.Errorf("%s record %d: missing stream fields: %+v", name, i, r)
		}
	}
}

func checkSQSEvent(t *testing.T, name string, raw []byte) {
	var ev events.SQSEvent
	if err := decodeStrict(raw, &ev); err != nil {
		t.Fatalf("%s is not an SQS event: %v", name, err)
	}
	if len(ev.Records) == 0 {
		t.Fatalf("%s: no records", name)
	}
	for i, r := range ev.Records {
		if r.MessageId == "" || r.ReceiptHandle == "" || r.Md5OfBody == "" || r.EventSource != "aws:sqs" ||
			r.AWSRegion != "us-east-1" || !strings.HasPrefix(r.EventSourceARN, "arn:aws:sqs:us-east-1:") ||
			r.Attributes["ApproximateReceiveCount"] == "" || r.Attributes["SentTimestamp"] == "" {
			t.Errorf("%s record %d: missing SQS fields: %+v", name, i, r)
		}
		if sum := md5.Sum([]byte(r.Body)); r.Md5OfBody != hex.EncodeToString(sum[:]) {
			t.Errorf("%s record %d: md5OfBody %s is not the MD5 of the body (%x)", name, i, r.Md5OfBody, sum)
		}
		var err error
		switch {
		case strings.HasPrefix(name, "dispatch-"):
			var m dsr.RequestMessage
			if err = decodeStrict([]byte(r.Body), &m); err == nil && m.RequestID == "" {
				t.Errorf("%s record %d: body names no request", name, i)
			}
		case strings.HasPrefix(name, "worker-"), strings.HasPrefix(name, "deadletter-"):
			var m dsr.TaskMessage
			if err = decodeStrict([]byte(r.Body), &m); err == nil && (m.RequestID == "" || m.Purpose == "") {
				t.Errorf("%s record %d: body is not a task: %s", name, i, r.Body)
			}
		case strings.HasPrefix(name, "provenance-"):
			var m struct{ Email, Purpose, Event, Source, Recipient, Country, Safeguard, At string }
			if err = decodeStrict([]byte(r.Body), &m); err == nil {
				_, perr := jsonbody.ParseProvenanceEvent([]byte(r.Body), provenanceRegistry(t), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), dsrtest.Policy(t))
				if perr != nil {
					t.Errorf("%s record %d: not a valid provenance event: %v", name, i, perr)
				}
			}
		case strings.HasPrefix(name, "backfill-discarded-"):
			// Lambda's on-failure record of a stream batch (not ours: read leniently).
			var m keying.Discarded
			if err = json.Unmarshal([]byte(r.Body), &m); err == nil && (m.Timestamp.IsZero() || !strings.Contains(m.Info.StreamArn, ":table/") || m.Info.BatchSize == 0) {
				t.Errorf("%s record %d: not a discarded stream batch: %s", name, i, r.Body)
			}
		case strings.HasPrefix(name, "backfill-"):
			var m keying.Request
			if err = decodeStrict([]byte(r.Body), &m); err == nil && m.Purpose == "" {
				t.Errorf("%s record %d: not a continuation: %s", name, i, r.Body)
			}
		case strings.HasPrefix(name, "retention-"):
			var m sqsqueue.ContinueMessage
			if err = decodeStrict([]byte(r.Body), &m); err == nil && m.Continue != "retention" {
				t.Errorf("%s record %d: not a continuation: %s", name, i, r.Body)
			}
		default:
			t.Errorf("%s: no function known for this file name", name)
		}
		if err != nil {
			t.Errorf("%s record %d: body %s: %v", name, i, r.Body, err)
		}
	}
	if strings.HasPrefix(name, "deadletter-") && !strings.Contains(ev.Records[0].EventSourceARN, "DeadLetter") {
		t.Errorf("%s: not from a dead-letter queue: %s", name, ev.Records[0].EventSourceARN)
	}
}

// provenanceRegistry is the template's purpose registry.
func provenanceRegistry(t *testing.T) dsr.Registry {
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
	reg, err := dsr.ParseRegistry([]byte(fns[0].Environment["PURPOSE_REGISTRY"]))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
