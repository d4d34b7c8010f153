package suppression_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/suppression"
)

func TestCheck(t *testing.T) {
	hasher, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	list := &memstore.Suppressions{}
	since := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if err := list.Add(ctx, []dsr.Suppression{
		{SubjectKey: hasher.Subject("grace@example.com"), Scope: "marketing", Reason: dsr.SuppressedByObjection, Since: since},
		{SubjectKey: hasher.Subject("ada@xn--exmple-cua.com"), Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: since},
		// Written under the earlier rule, which kept the domain in Unicode.
		{SubjectKey: hasher.Subject("lin@bücher.example"), Scope: "marketing", Reason: dsr.SuppressedByObjection, Since: since},
		{SubjectKey: hasher.Subject("ada@example.com"), Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: since},
	}); err != nil {
		t.Fatal(err)
	}
	h := &suppression.Handler{List: list, Hasher: hasher, Registry: dsrtest.Registry(t), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	tests := []struct {
		name, body string
		status     int
		want       string
		header     string // Content-Type; "" is application/json
	}{
		// After an erasure, per legal basis: a legal obligation (billing) takes new invoices, not old data.
		{"erased: billing takes new data only", `{"email":"Ada@Example.com","purpose":"billing"}`, 200, `{"suppressed":false,"reason":"erasure","since":"2026-11-29T10:00:00Z","effect":"new_data_only"}`, ""},
		// Consent (marketing): blocked until consent given after the erasure.
		{"erased: consent purpose blocked", `{"email":"ada@example.com","purpose":"marketing"}`, 200, `{"suppressed":true,"reason":"erasure","since":"2026-11-29T10:00:00Z","effect":"blocked_until_new_consent"}`, ""},
		{"erased: consent before the erasure", `{"email":"ada@example.com","purpose":"marketing","consentAt":"2026-11-29T09:59:59Z"}`, 200, `{"suppressed":true,"reason":"erasure","since":"2026-11-29T10:00:00Z","effect":"blocked_until_new_consent"}`, ""},
		{"erased: new consent after it", `{"email":"ada@example.com","purpose":"marketing","consentAt":"2026-12-01T08:00:00+01:00"}`, 200, `{"suppressed":false,"reason":"erasure","since":"2026-11-29T10:00:00Z","effect":"new_data_only"}`, ""},
		{"objected purpose", `{"email":"grace@example.com","purpose":"marketing"}`, 200, `{"suppressed":true,"reason":"objection","since":"2026-11-29T10:00:00Z","effect":"blocked"}`, ""},
		{"objection: consent does not lift it", `{"email":"grace@example.com","purpose":"marketing","consentAt":"2026-12-01T08:00:00Z"}`, 200, `{"suppressed":true,"reason":"objection","since":"2026-11-29T10:00:00Z","effect":"blocked"}`, ""},
		{"consentAt not a time", `{"email":"ada@example.com","purpose":"marketing","consentAt":"yesterday"}`, 400, "", ""},
		{"consentAt for a purpose not based on consent", `{"email":"ada@example.com","purpose":"billing","consentAt":"2026-12-01T08:00:00Z"}`, 400, "", ""},
		{"other purpose", `{"email":"grace@example.com","purpose":"billing"}`, 200, `{"suppressed":false}`, ""},
		{"unknown person", `{"email":"alan@example.com","purpose":"marketing"}`, 200, `{"suppressed":false}`, ""},
		{"unknown purpose", `{"email":"grace@example.com","purpose":"astrology"}`, 400, "", ""},
		{"missing purpose", `{"email":"grace@example.com"}`, 400, "", ""},
		{"bad address", `{"email":"grace","purpose":"marketing"}`, 400, "", ""},
		{"unknown field", `{"email":"grace@example.com","purpose":"marketing","x":1}`, 400, "", ""},
		{"malformed", `{"email":`, 400, "", ""},
		{"IDN and its A-label are one person", `{"email":"ada@exämple.com","purpose":"marketing"}`, 200, `{"suppressed":true,"reason":"erasure","since":"2026-11-29T10:00:00Z","effect":"blocked_until_new_consent"}`, ""},
		{"an entry of the earlier rule", `{"email":"Lin@xn--bcher-kva.example","purpose":"marketing"}`, 200, `{"suppressed":true,"reason":"objection","since":"2026-11-29T10:00:00Z","effect":"blocked"}`, ""},
		{"not JSON", `{"email":"grace@example.com","purpose":"marketing"}`, 415, "", "text/plain"},
		{"duplicate key", `{"email":"grace@example.com","purpose":"billing","purpose":"marketing"}`, 400, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.header
			if ct == "" {
				ct = "application/json"
			}
			resp, err := h.Handle(ctx, events.APIGatewayV2HTTPRequest{RouteKey: suppression.RouteCheck, Body: tc.body, Headers: map[string]string{"content-type": ct}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.want != "" && resp.Body != tc.want {
				t.Errorf("body %s, want %s", resp.Body, tc.want)
			}
			if tc.status == 400 {
				var p map[string]any
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.Headers["Content-Type"] != "application/problem+json" {
					t.Errorf("not a problem: %v %s", resp.Headers, resp.Body)
				}
				if strings.Contains(resp.Body, "grace") {
					t.Errorf("problem echoes the address: %s", resp.Body)
				}
			}
		})
	}
}
