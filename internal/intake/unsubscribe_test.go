package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/intake"
)

// TestOneClickUnsubscribe: a valid token's one-click POST stores a queued
// preferences request and queues it; the same POST again answers the same
// request without storing another; a bad form, a forged, altered or
// malformed token is refused, the token never echoed.
func TestOneClickUnsubscribe(t *testing.T) {
	e := newEnv(t)
	h := e.h.Service.Hasher
	key := h.Subject("ada@example.com")
	token := h.UnsubscribeToken(dsr.Unsubscribe{SubjectKey: key, Purpose: "marketing", Channel: dsr.ChannelPost, IssuedAt: e.now})
	click := func(tok, contentType, body string) (int, map[string]any) {
		s, m, _ := e.do(t, events.APIGatewayV2HTTPRequest{RouteKey: intake.RouteUnsubscribe, PathParameters: map[string]string{"token": tok},
			Headers: map[string]string{"content-type": contentType}, Body: body})
		return s, m
	}
	payload, sig, _ := strings.Cut(token, ".")
	for name, tt := range map[string]struct {
		token, contentType, body string
		status                   int
	}{
		"forged":                 {payload + "." + strings.Repeat("A", len(sig)), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", 404},
		"altered":                {"x" + token, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", 404},
		"malformed":              {"not-a-token", "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", 404},
		"not one-click":          {token, "application/x-www-form-urlencoded", "List-Unsubscribe=Yes", 400},
		"JSON":                   {token, "application/json", `{"List-Unsubscribe":"One-Click"}`, 400},
		"multipart, no boundary": {token, "multipart/form-data", "List-Unsubscribe=One-Click", 400},
	} {
		s, m := click(tt.token, tt.contentType, tt.body)
		if s != tt.status || strings.Contains(m["detail"].(string), payload) {
			t.Errorf("%s: %d %v", name, s, m)
		}
	}
	if n := len(e.queue.Requests()); n != 0 {
		t.Fatalf("refused clicks queued %d requests", n)
	}
	s, first := click(token, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
	if s != 200 || first["type"] != "preferences" || first["status"] != "queued" {
		t.Fatalf("one-click: %d %v", s, first)
	}
	multipart := "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n"
	if s, again := click(token, "multipart/form-data; boundary=b", multipart); s != 200 || again["id"] != first["id"] {
		t.Errorf("the same click again (multipart): %d %v", s, again)
	}
	r, err := e.store.Get(context.Background(), first["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	want := []dsr.PreferenceChange{{Purpose: "marketing", Channel: dsr.ChannelPost, Consent: dsr.ConsentWithdraw}}
	if r.Status != dsr.StatusQueued || !r.OneClick || r.Email != "" || r.SubjectKey != key || r.DueAt.IsZero() || !dsr.TokenMatches(token, r.TokenHash) ||
		len(r.Preferences) != 1 || r.Preferences[0] != want[0] {
		t.Errorf("stored: %+v", r)
	}
	if n := len(e.queue.Requests()); n != 2 {
		t.Errorf("queued %d times, want each click's (dispatch is idempotent)", n)
	}
	entries, _ := e.audit.Entries(context.Background(), r.ID)
	if len(entries) != 2 || entries[0].Actor != "subject:one-click" || entries[1].Action != dsr.AuditVerified {
		t.Errorf("trail %+v", entries)
	}
}
