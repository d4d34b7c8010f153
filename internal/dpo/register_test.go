package dpo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// TestRegister: a letter received on 5 February is registered by the DPO:
// stored queued and dispatched without an e-mail code, due one calendar
// month from its receipt (Art. 12(3)), its trail recording the receipt, the
// channel and the identity check (Art. 5(2)) without personal data. A retry
// with the same Idempotency-Key answers with the same request and stores
// nothing more; a bad body is a 400 naming the fields; a non-DPO is 403.
func TestRegister(t *testing.T) {
	e := newEnv(t)
	e.h.Service.Keys, e.h.Service.Registry, e.h.Service.Language = testHasher(t), dsrtest.Registry(t), dsr.LangDE
	body := `{"type":"erasure","email":"Ada.Lovelace@Example.com","receivedAt":"2027-02-05T14:00:00Z","channel":"letter","identityCheck":"signature_compared"}`
	register := func(key, body string) (int, map[string]any) {
		req := events.APIGatewayV2HTTPRequest{RouteKey: dpo.RouteRegister, Body: body, Headers: map[string]string{"content-type": "application/json"}}
		if key != "" {
			req.Headers["idempotency-key"] = key
		}
		req.Headers["authorization"] = "Bearer " + token(t, dpoClaims)
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: gatewayClaims(dpoClaims)},
		}
		return e.do(t, dpo.RouteRegister, req)
	}
	const key = "6f1c2d0e-8a5b-4c1e-9f3a-2b7d4e6a8c01"
	status, m := register(key, body)
	if status != 202 || m["status"] != "queued" || m["dueAt"] != "2027-03-05T23:59:59Z" || m["receivedAt"] != "2027-02-05T14:00:00Z" || m["statusToken"] == "" {
		t.Fatalf("register: %d %v", status, m)
	}
	id := m["id"].(string)
	r, err := e.store.Get(context.Background(), id)
	if err != nil || r.Status != dsr.StatusQueued || r.Email != "ada.lovelace@example.com" || r.VerifiedAt.IsZero() || r.SubjectKey == "" ||
		!dsr.TokenMatches(m["statusToken"].(string), r.TokenHash) || r.Language != dsr.LangDE {
		t.Fatalf("stored %+v, %v (want the default language de)", r, err)
	}
	entries, _ := e.audit.Entries(context.Background(), id)
	if len(entries) != 2 || entries[0].Action != dsr.AuditReceived || entries[1].Action != dsr.AuditVerified || entries[0].Actor != "dpo-7" ||
		!strings.Contains(entries[0].Detail, "received by letter at 2027-02-05T14:00:00Z") || !strings.Contains(entries[1].Detail, "signature_compared") {
		t.Errorf("trail %+v", entries)
	}
	raw, _ := json.Marshal(entries)
	if strings.Contains(strings.ToLower(string(raw)), "lovelace") {
		t.Errorf("the trail holds the address: %s", raw)
	}
	if sent := e.queue.Requests(); !slices.Contains(sent, dsr.RequestMessage{RequestID: id}) || len(e.mailer.Mails) != 0 {
		t.Errorf("queued %v, mails %d: want the request dispatched, no code e-mailed", sent, len(e.mailer.Mails))
	}
	if status, again := register(key, body); status != 202 || again["id"] != id || again["statusToken"] != m["statusToken"] {
		t.Errorf("retry: %d %v, want the first answer", status, again)
	}
	if n, _ := e.audit.Entries(context.Background(), id); len(n) != 2 {
		t.Errorf("the retry wrote %d more steps", len(n)-2)
	}
	for name, tc := range map[string]struct{ key, body, fields string }{
		"future":   {"", strings.Replace(body, "2027-02-05T14:00:00Z", "2027-02-21T00:00:00Z", 1), "[receivedAt]"},
		"too old":  {"", strings.Replace(body, "2027-02-05T14:00:00Z", "2027-01-19T00:00:00Z", 1), "[receivedAt]"},
		"channel":  {"", strings.Replace(body, `"letter"`, `"pigeon"`, 1), "[channel]"},
		"unknown":  {"", strings.Replace(body, `"channel"`, `"via"`, 1), "[via]"},
		"key":      {"short", body, "[Idempotency-Key]"},
		"language": {"", strings.Replace(body, `"type"`, `"language":"fr","type"`, 1), "[language]"},
	} {
		status, m := register(tc.key, tc.body)
		var fields []string
		errs, _ := m["errors"].([]any)
		for _, f := range errs {
			fields = append(fields, f.(map[string]any)["field"].(string))
		}
		if status != 400 || fmt.Sprint(fields) != tc.fields {
			t.Errorf("%s: %d %v, want 400 naming %s", name, status, m, tc.fields)
		}
	}
	// The person's language, as the letter was written in it.
	status, m = register("", strings.Replace(body, `"type"`, `"language":"en","type"`, 1))
	if r, err := e.store.Get(context.Background(), fmt.Sprint(m["id"])); status != 202 || err != nil || r.Language != dsr.LangEN {
		t.Errorf("registered with language en: %d %v %v", status, m, err)
	}
	if status, _ := e.call(t, dpo.RouteRegister, "", map[string]any{"sub": "x", "cognito:groups": []any{"staff"}}, nil, body); status != 403 {
		t.Errorf("a non-DPO registered: %d", status)
	}
}
