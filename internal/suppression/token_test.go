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

// TestIssueTokenAndCheckPerChannel: the CRM's token opens to the person's
// subject key, purpose and channel (no address); a withdrawn channel is
// suppressed, another channel of the purpose and the purpose as a whole
// are not.
func TestIssueTokenAndCheckPerChannel(t *testing.T) {
	hasher, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	reg := dsrtest.Registry(t)
	list := &memstore.Suppressions{}
	ada := hasher.Subject("ada@example.com")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(list.Add(context.Background(), []dsr.Suppression{{SubjectKey: ada, Scope: "marketing", Channel: dsr.ChannelEmail, Reason: dsr.SuppressedByWithdrawal, Since: now, RequestID: "P"}}))
	h := &suppression.Handler{List: list, Hasher: hasher, Registry: reg, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Clock: func() time.Time { return now }}
	call := func(route, body string) (int, string) {
		resp, err := h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: route, Body: body, Headers: map[string]string{"content-type": "application/json"}})
		must(err)
		return resp.StatusCode, resp.Body
	}
	s, body := call(suppression.RouteIssueToken, `{"email":"Ada@Example.com","purpose":"marketing","channel":"post"}`)
	var tok suppression.Token
	if s != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.Path != "/v1/unsubscribe/"+tok.Token || strings.Contains(body, "ada") {
		t.Fatalf("token: %d %s", s, body)
	}
	u, err := hasher.ParseUnsubscribeToken(tok.Token, reg, now)
	if err != nil || u != (dsr.Unsubscribe{SubjectKey: ada, Purpose: "marketing", Channel: dsr.ChannelPost, IssuedAt: now}) {
		t.Errorf("the token opens to %+v, %v", u, err)
	}
	for _, bad := range []string{`{"email":"ada@example.com","purpose":"billing","channel":"email"}`, `{"email":"ada@example.com","purpose":"marketing","channel":"sms"}`,
		`{"email":"ada@example.com","purpose":"marketing"}`, `{"email":"ada@example.com","purpose":"marketing","channel":"email","x":1}`} {
		if s, body := call(suppression.RouteIssueToken, bad); s != 400 {
			t.Errorf("token for %s: %d %s", bad, s, body)
		}
	}
	for _, tt := range []struct{ body, want string }{
		{`{"email":"ada@example.com","purpose":"marketing","channel":"email"}`, `{"suppressed":true,"reason":"consent_withdrawn","since":"2026-12-02T18:00:00Z","effect":"blocked_until_new_consent"}`},
		{`{"email":"ada@example.com","purpose":"marketing","channel":"email","consentAt":"2026-12-03T08:00:00Z"}`, `{"suppressed":false,"reason":"consent_withdrawn","since":"2026-12-02T18:00:00Z","effect":"new_data_only"}`},
		{`{"email":"ada@example.com","purpose":"marketing","channel":"post"}`, `{"suppressed":false}`},
		{`{"email":"ada@example.com","purpose":"marketing"}`, `{"suppressed":true,"reason":"consent_withdrawn","since":"2026-12-02T18:00:00Z","effect":"blocked_until_new_consent","channels":["email"]}`},
	} {
		if s, body := call(suppression.RouteCheck, tt.body); s != 200 || body != tt.want {
			t.Errorf("check %s: %d %s, want %s", tt.body, s, body, tt.want)
		}
	}
}
