package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

// TestErrorStatuses: the one place that turns errors into answers. A
// failure marked dsr.Unavailable is a 503 with Retry-After and a fixed
// detail, its cause logged and never shown; a domain error behind the mark
// is answered as itself.
func TestErrorStatuses(t *testing.T) {
	cause := errors.New("dial tcp: connection refused to requests-table")
	conflict := dsr.Errorf(dsr.EConflict, "the request moved on")
	const unavailableBody = `{"type":"https://privacyops.example/problems/service-unavailable","title":"Service Unavailable","status":503,` +
		`"detail":"A service this request depends on is unavailable. Please try again shortly."}`
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		retryAfter string
		body       string // "" for any
		logged     string // "" for no log line
	}{
		{"unavailable", dsr.Unavailable(fmt.Errorf("send verification code: %w", cause)), 503, "5", unavailableBody,
			"unavailable: send verification code: dial tcp"},
		{"unavailable, wrapped", fmt.Errorf("verify: %w", dsr.Unavailable(cause)), 503, "5", unavailableBody, "verify: unavailable: dial tcp"},
		{"unavailable, an internal error behind it", dsr.Unavailable(dsr.Errorf(dsr.EInternal, "boom")), 503, "5", unavailableBody, "unavailable: internal: boom"},
		{"unavailable, a domain error behind it", dsr.Unavailable(fmt.Errorf("quota: %w", conflict)), 409, "", "", ""},
		{"unavailable, joined", errors.Join(cause, dsr.Unavailable(cause)), 503, "5", unavailableBody, "dial tcp"},
		{"a domain error", dsr.Invalid("the request body is invalid", dsr.FieldError{Field: "email", Reason: "is required"}), 400, "",
			`{"type":"https://privacyops.example/problems/bad-request","title":"Bad Request","status":400,"detail":"the request body is invalid","errors":[{"field":"email","reason":"is required"}]}`, ""},
		{"too many", dsr.TooMany(dsr.LimitCodes, 90*time.Second+time.Millisecond, "wait"), 429, "91", "", ""},
		{"anything else", cause, 500, "",
			`{"type":"https://privacyops.example/problems/internal-server-error","title":"Internal Server Error","status":500,"detail":"Something went wrong on our side. Please try again later."}`,
			"internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := httpapi.Error(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), tc.err)
			if r.StatusCode != tc.status || r.Headers["Retry-After"] != tc.retryAfter || r.Headers["Content-Type"] != "application/problem+json" {
				t.Errorf("status %d, headers %v; want %d, Retry-After %q", r.StatusCode, r.Headers, tc.status, tc.retryAfter)
			}
			if tc.body != "" && r.Body != tc.body {
				t.Errorf("body\n%s\nwant\n%s", r.Body, tc.body)
			}
			if strings.Contains(r.Body, "dial tcp") || strings.Contains(r.Body, "boom") {
				t.Errorf("the answer shows the failure: %s", r.Body)
			}
			if (tc.logged == "") != (logs.Len() == 0) || !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("logged %q, want it to say %q", logs.String(), tc.logged)
			}
		})
	}
	if got := dsr.Unavailable(cause).Error(); got != "unavailable: "+cause.Error() {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(dsr.Unavailable(cause), cause) || dsr.ErrorCodeOf(fmt.Errorf("x: %w", dsr.Unavailable(cause))) != dsr.EUnavailable {
		t.Error("an unavailable error must wrap its failure and have its code")
	}
}
