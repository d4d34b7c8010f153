//go:build integration

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// signedPost posts body to path, signed with the stack's credentials as the
// CRM signs with its role's (the IAM-authorized integration routes).
func signedPost(t *testing.T, cfg aws.Config, base, path string, body any, out any) (int, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+path, strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", cfg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode, b
}

// checkChannel asks the suppression check for purpose, on channel ("": none
// named).
func checkChannel(t *testing.T, cfg aws.Config, base, email, purpose string, channel dsr.Channel) dsr.SuppressionStatus {
	t.Helper()
	body := map[string]string{"email": email, "purpose": purpose}
	if channel != "" {
		body["channel"] = string(channel)
	}
	var st dsr.SuppressionStatus
	if s, b := signedPost(t, cfg, base, "/v1/suppressions/check", body, &st); s != 200 {
		t.Fatalf("check %s/%s: %d %s", purpose, channel, s, b)
	}
	return st
}

// normalized is s by the one address rule, or s where it is no address.
func normalized(s string) string {
	if n, err := dsr.NormalizeEmail(s); err == nil {
		return n
	}
	return s
}

// itemsOf scans purpose's table for the items of email, however the CRM
// stored the address (a test may scan).
func itemsOf(t *testing.T, cfg aws.Config, p dsr.Purpose, email string) []map[string]any {
	t.Helper()
	var out []map[string]any
	pages := dynamodb.NewScanPaginator(dynamodb.NewFromConfig(cfg), &dynamodb.ScanInput{TableName: aws.String(p.Table)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			if id, _ := m[p.Identifier].(string); normalized(id) == email {
				out = append(out, m)
			}
		}
	}
	return out
}

// fetchPreferencesCertificate waits for a preferences request and
// downloads its certificate as the person would.
func fetchPreferencesCertificate(t *testing.T, c *client, sub submitted) dsr.PreferencesCertificate {
	t.Helper()
	_, raw := fetchCertificate(t, c, sub, 90*time.Second)
	var cert dsr.PreferencesCertificate
	if err := json.Unmarshal(raw, &cert); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(raw)), seed.Ada) {
		t.Errorf("the certificate holds the address:\n%s", raw)
	}
	return cert
}

// TestPreferencesPerChannel: ada withdraws e-mail advertising but keeps
// post, and takes the newsletter weekly instead of monthly, with a
// verified preferences request. Her marketing records keep their data and
// their postal consent, their e-mail consent withdrawn since the request;
// the suppression check answers per channel (e-mail: until new consent;
// post: allowed; the purpose as a whole: allowed); her access report shows
// each channel's consent; the certificate says what was done, without
// personal data.
func TestPreferencesPerChannel(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	marketing, _ := stack.Registry.Lookup("marketing")
	newsletter, _ := stack.Registry.Lookup("newsletter")
	before := itemsOf(t, cfg, marketing, seed.Ada)

	// A bad change is a 400 naming its field.
	bad := map[string]any{"type": "preferences", "email": seed.Ada, "changes": []map[string]string{{"purpose": "marketing", "channel": "fax", "consent": "withdrawn"}}}
	if s, _, b := c.do("POST", "/v1/requests", "", bad, nil); s != 400 || !strings.Contains(string(b), `"changes[0].channel"`) {
		t.Errorf("a bad channel: %d %s", s, b)
	}

	sub := submitVerified(t, c, outbox, map[string]any{"type": "preferences", "email": seed.Ada, "changes": []map[string]string{
		{"purpose": "marketing", "channel": "email", "consent": "withdrawn"},
		{"purpose": "marketing", "channel": "post", "consent": "kept"},
		{"purpose": "newsletter", "frequency": "weekly"},
	}})
	cert := fetchPreferencesCertificate(t, c, sub)
	if len(cert.Changes) != 3 || cert.Changes[0].RecordsFound != len(before) || !cert.Changes[0].Verified ||
		len(cert.Suppression) != 1 || cert.Suppression[0].Channel != dsr.ChannelEmail || cert.Suppression[0].Reason != dsr.SuppressedByWithdrawal {
		t.Errorf("certificate: %+v", cert)
	}

	after := itemsOf(t, cfg, marketing, seed.Ada)
	if len(after) != len(before) || len(after) == 0 {
		t.Fatalf("ada's marketing records: %d before, %d after", len(before), len(after))
	}
	for _, it := range after {
		if marketing.ConsentOf(it, dsr.ChannelEmail).State != dsr.ConsentWithdrawn || marketing.ConsentOf(it, dsr.ChannelPost).State != dsr.ConsentGiven ||
			it["segment"] == nil || it["name"] == nil {
			t.Errorf("ada's marketing record after: %v", it)
		}
	}
	for _, it := range itemsOf(t, cfg, newsletter, seed.Ada) {
		if it["frequency"] != "weekly" || newsletter.ConsentOf(it, dsr.ChannelEmail).State != dsr.ConsentGiven {
			t.Errorf("ada's newsletter record after: %v", it)
		}
	}

	// The suppression check, per channel; without one it cannot promise any.
	for _, tt := range []struct {
		purpose    string
		channel    dsr.Channel
		suppressed bool
	}{{"marketing", dsr.ChannelEmail, true}, {"marketing", dsr.ChannelPost, false}, {"marketing", "", true}, {"newsletter", dsr.ChannelEmail, false}} {
		st := checkChannel(t, cfg, stack.URL, seed.Ada, tt.purpose, tt.channel)
		if st.Suppressed != tt.suppressed || tt.suppressed && (st.Reason != dsr.SuppressedByWithdrawal || st.Effect != dsr.EffectUntilNewConsent) {
			t.Errorf("check %s/%s: %+v, want suppressed %v", tt.purpose, tt.channel, st, tt.suppressed)
		}
	}
	if s, b := signedPost(t, cfg, stack.URL, "/v1/suppressions/check", map[string]string{"email": seed.Ada, "purpose": "marketing", "channel": "sms"}, nil); s != 400 || !strings.Contains(string(b), `"channel"`) {
		t.Errorf("check of a channel the purpose lacks: %d %s", s, b)
	}

	// Her access report shows each channel's consent.
	access := submitVerified(t, c, outbox, map[string]any{"type": "access", "email": seed.Ada})
	rep, page := fetchReport(t, c, access)
	for _, pr := range rep.Purposes {
		if pr.Purpose != "marketing" {
			continue
		}
		for _, r := range pr.Records {
			if len(r.Consents) != 2 || r.Consents[0].State != dsr.ConsentWithdrawn || r.Consents[1].State != dsr.ConsentGiven {
				t.Errorf("a marketing record's consents in the report: %+v", r.Consents)
			}
		}
	}
	if !strings.Contains(page, "Consent per channel") && !strings.Contains(page, "Einwilligung je Kanal") {
		t.Error("the HTML report shows no consent per channel")
	}
}

// unsubscribeToken asks the CRM's token route for a token.
func unsubscribeToken(t *testing.T, cfg aws.Config, stack *devstack.Stack, email, purpose string, channel dsr.Channel) (token, path string) {
	t.Helper()
	var out struct{ Token, Path, ListUnsubscribePost string }
	if s, b := signedPost(t, cfg, stack.URL, "/v1/unsubscribe-tokens", map[string]string{"email": email, "purpose": purpose, "channel": string(channel)}, &out); s != 200 {
		t.Fatalf("token: %d %s", s, b)
	}
	if out.Path != "/v1/unsubscribe/"+out.Token || out.ListUnsubscribePost != "List-Unsubscribe=One-Click" || strings.Contains(out.Token, "@") {
		t.Fatalf("token answer %+v", out)
	}
	return out.Token, out.Path
}

// oneClick posts the RFC 8058 one-click form to path, as a mail client does.
func oneClick(t *testing.T, base, path, form string) (int, []byte, string) {
	t.Helper()
	resp, err := http.Post(base+path, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("Content-Type")
}

// TestOneClickUnsubscribe: the CRM gets a signed token for ada's newsletter
// (IAM-authorized; unsigned, refused); the one-click POST of its link
// withdraws her newsletter consent without a code, as a preferences request
// the pipeline answers, recorded in the trail as the person's by one
// click; the same POST again is the same request; a forged, altered or
// malformed token is a 404 problem+json that tells nothing.
func TestOneClickUnsubscribe(t *testing.T) {
	cfg := awsConfig(t)
	stack, _ := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	newsletter, _ := stack.Registry.Lookup("newsletter")

	if s, _, b := c.do("POST", "/v1/unsubscribe-tokens", "", map[string]string{"email": seed.Ada, "purpose": "newsletter", "channel": "email"}, nil); s != http.StatusForbidden {
		t.Errorf("unsigned token request: %d %s", s, b)
	}
	token, path := unsubscribeToken(t, cfg, stack, seed.Ada, "newsletter", dsr.ChannelEmail)

	// Forged, altered, malformed: one answer, no detail.
	payload, sig, _ := strings.Cut(token, ".")
	altered := payload[:len(payload)-2] + map[bool]string{true: "A", false: "B"}[payload[len(payload)-2] != 'A'] + payload[len(payload)-1:] + "." + sig
	for name, p := range map[string]string{"altered": "/v1/unsubscribe/" + altered, "forged": "/v1/unsubscribe/" + payload + ".AAAA", "malformed": "/v1/unsubscribe/not-a-token"} {
		s, b, ct := oneClick(t, stack.URL, p, "List-Unsubscribe=One-Click")
		if s != http.StatusNotFound || ct != "application/problem+json" || strings.Contains(string(b), payload) || !strings.Contains(string(b), "not valid") {
			t.Errorf("%s token: %d %s %s", name, s, ct, b)
		}
	}
	if s, b, _ := oneClick(t, stack.URL, path, "List-Unsubscribe=Maybe"); s != 400 || !strings.Contains(string(b), "List-Unsubscribe") {
		t.Errorf("without One-Click: %d %s", s, b)
	}

	var first, again struct{ ID, Type, Status string }
	s, b, _ := oneClick(t, stack.URL, path, "List-Unsubscribe=One-Click")
	if s != 200 || json.Unmarshal(b, &first) != nil || first.Type != "preferences" {
		t.Fatalf("one-click: %d %s", s, b)
	}
	store := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
	r := awaitStored(t, store, first.ID, 90*time.Second)
	if s, b, _ := oneClick(t, stack.URL, path, "List-Unsubscribe=One-Click"); s != 200 || json.Unmarshal(b, &again) != nil || again.ID != first.ID || again.Status != "completed" {
		t.Errorf("the same click again: %d %s", s, b)
	}
	if !r.OneClick || r.Email != "" || r.Result == nil || r.Result.CertificateKey == "" {
		t.Errorf("one-click request as stored: %+v", r)
	}
	for _, it := range itemsOf(t, cfg, newsletter, seed.Ada) {
		if newsletter.ConsentOf(it, dsr.ChannelEmail).State != dsr.ConsentWithdrawn || it["name"] == nil {
			t.Errorf("ada's newsletter record after the click: %v", it)
		}
	}
	if st := checkChannel(t, cfg, stack.URL, seed.Ada, "newsletter", dsr.ChannelEmail); !st.Suppressed || st.Reason != dsr.SuppressedByWithdrawal {
		t.Errorf("newsletter e-mail after the click: %+v", st)
	}
	received := stepsOf(t, cfg, stack, first.ID, dsr.AuditReceived)
	completed := stepsOf(t, cfg, stack, first.ID, dsr.AuditCompleted)
	if len(received) != 1 || received[0].Actor != "subject:one-click" || len(completed) != 1 {
		t.Errorf("trail: received %+v, completed %+v", received, completed)
	}
}

// awaitStored polls the stored request id until it is final.
func awaitStored(t *testing.T, store *dynamo.Requests, id string, limit time.Duration) *dsr.Request {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(300 * time.Millisecond) {
		r, err := store.Get(context.Background(), id)
		if err == nil && r.Status.Final() {
			if r.Status != dsr.StatusCompleted {
				t.Fatalf("request %s ended %s: %s", id, r.Status, r.FailureReason)
			}
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s not done in %s: %v %v", id, limit, r, err)
		}
	}
}

// TestPreferencesRequestAWSCalls counts, as TestAccessRequestAWSCalls does,
// the DynamoDB, SQS and S3 calls of one preferences request of ada: e-mail
// advertising withdrawn, post kept, the newsletter weekly (two purposes of
// the registry's four, 2 marketing records and 1 newsletter record):
// submit, verify, the pipeline, one certificate link. Status polls are
// left out.
func TestPreferencesRequestAWSCalls(t *testing.T) {
	var counter callCounter
	cfg := awsConfig(t, counter.middleware)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	waitKeyed(t, stack)
	counter.reset()

	body := map[string]any{"type": "preferences", "email": seed.Ada, "changes": []map[string]string{
		{"purpose": "marketing", "channel": "email", "consent": "withdrawn"},
		{"purpose": "marketing", "channel": "post", "consent": "kept"},
		{"purpose": "newsletter", "frequency": "weekly"},
	}}
	var sub submitted
	if s, _, b := c.do("POST", "/v1/requests", "", body, &sub); s != 202 {
		t.Fatalf("submit: %d %s", s, b)
	}
	code := codeFromOutbox(t, outbox, sub.ID)
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != 200 {
		t.Fatalf("verify: %d %s", s, b)
	}
	_, polls := counter.untilDone(t, c, sub, time.Minute)
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/certificate", sub.StatusToken, nil, nil); s != 200 {
		t.Fatalf("certificate link: %d %s", s, b)
	}
	byOp, byService := counter.without(polls)
	logCalls(t, fmt.Sprintf("one preferences request over 2 of %d purposes, 3 records (%d status polls left out)", len(stack.Registry), polls), byOp, byService)
	// The design's minimum, for P planned purposes holding N records, W
	// channels withdrawn (a "change" is 2 calls, as for access): submit,
	// verify and the link as for an access request (their limits too);
	// dispatch 1 GetItem + a change + 1 SendMessageBatch + W PutItem (the
	// channels' suppression entries) + 1 BatchGetItem once per process.
	// Per purpose: 1 GetItem + 1 Query and 1 BatchGetItem (the keys, owned)
	// + one UpdateItem per record + 1 Query and 1 BatchGetItem (the
	// read-back) + 1 DescribeTable once per process + a change (the part);
	// S3 1 PutObject (its outcome). The answer: P GetObject + 1 PutObject
	// (the certificate) + a change (completed). The link: 1 GetItem + 1
	// HeadObject + a change.
	const p, n, w, change = 2, 3, 1, 2
	limits := 3 + 6 + 1
	minDynamo := 1 + (2 + change) + (1 + change + w + 1) + p*(1+2+2+1+change) + n + change + (1 + change) + limits
	minS3 := p + p + 1 + 1
	t.Logf("  minimum the design allows: DynamoDB %d (%d of them the limits'), SQS 2, S3 %d", minDynamo, limits, minS3)
	rereads := max(byOp["DispatchFunction DynamoDB.GetItem"]-2, 0)
	races := lostRaces(byOp)
	if byService["SQS"] != 2 || byService["DynamoDB"]-rereads-3*races != minDynamo || byService["S3"] != minS3 {
		t.Errorf("calls %v (%d dispatch rereads, %d lost races), not the design's minimum", byService, rereads, races)
	}
}
