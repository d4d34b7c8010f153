package intake_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/intake"
)

const (
	adaAccess = `{"type":"access","email":"Ada@Example.com"}`
	aKey      = "6f1c2d0e-8a5b-4c1e-9f3a-2b7d4e6a8c01"
)

// keyed submits body with Idempotency-Key key from the env's client.
func (e *env) keyed(t *testing.T, key, body string) (int, map[string]any) {
	t.Helper()
	status, m, _ := e.callWith(t, intake.RouteSubmit, body, map[string]string{"content-type": "application/json", "idempotency-key": key})
	return status, m
}

// TestRetriedSubmissionFindsItsRequest: a submission retried with its
// idempotency key answers 202 with the same id and status token, stores
// nothing more, and mails the same code again; anything else that differs
// (the key, the body, the client, the hour) is a submission of its own.
func TestRetriedSubmissionFindsItsRequest(t *testing.T) {
	e := newEnv(t)
	status, first := e.keyed(t, aKey, adaAccess)
	if status != 202 {
		t.Fatalf("submit: %d %v", status, first)
	}
	e.now = e.now.Add(2 * time.Minute)
	status, again := e.keyed(t, aKey, adaAccess)
	if status != 202 || again["id"] != first["id"] || again["statusToken"] != first["statusToken"] || again["receivedAt"] != first["receivedAt"] {
		t.Errorf("retried: %d %v, want the first answer %v", status, again, first)
	}
	id := first["id"].(string)
	if got := e.audit.Actions(id); !cmp.Equal(got, []dsr.AuditAction{dsr.AuditReceived}) {
		t.Errorf("trail %v, want one received step", got)
	}
	codes := map[string]bool{}
	for _, m := range e.mailer.Mails {
		codes[codeRE.FindStringSubmatch(m.Text)[1]] = true
	}
	if len(e.mailer.Mails) != 2 || len(codes) != 1 {
		t.Errorf("%d mails with %d codes, want the same code twice", len(e.mailer.Mails), len(codes))
	}
}

// TestOtherSubmissionsAreTheirOwn: what differs from a first submission
// (the key, the body, the client) is a request of its own.
func TestOtherSubmissionsAreTheirOwn(t *testing.T) {
	for name, submit := range map[string]func(e *env) (int, map[string]any){
		"another key": func(e *env) (int, map[string]any) { return e.keyed(t, "a-second-random-key-0001", adaAccess) },
		"another body": func(e *env) (int, map[string]any) {
			return e.keyed(t, aKey, `{"type":"erasure","email":"ada@example.com"}`)
		},
		"another client": func(e *env) (int, map[string]any) { e.client = "203.0.113.9"; return e.keyed(t, aKey, adaAccess) },
		"no key": func(e *env) (int, map[string]any) {
			status, m, _ := e.call(t, intake.RouteSubmit, "", "", adaAccess, nil)
			return status, m
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			_, first := e.keyed(t, aKey, adaAccess)
			status, m := submit(e)
			if status != 202 || m["id"] == first["id"] || m["statusToken"] == first["statusToken"] {
				t.Errorf("%d %v, want a request of its own (first %v)", status, m, first["id"])
			}
		})
	}
}

// TestRetryAcrossTheHour: the next hour's first quarter still finds the
// request; later, the key makes a new one.
func TestRetryAcrossTheHour(t *testing.T) {
	e := newEnv(t)
	e.now = time.Date(2027, 1, 31, 9, 58, 0, 0, time.UTC)
	_, first := e.keyed(t, aKey, adaAccess)
	e.now = time.Date(2027, 1, 31, 10, 10, 0, 0, time.UTC)
	if status, m := e.keyed(t, aKey, adaAccess); status != 202 || m["id"] != first["id"] {
		t.Errorf("12 minutes later, in the next hour: %d %v, want %v", status, m, first["id"])
	}
	e.now = time.Date(2027, 1, 31, 10, 20, 0, 0, time.UTC)
	if status, m := e.keyed(t, aKey, adaAccess); status != 202 || m["id"] == first["id"] {
		t.Errorf("past the next hour's first quarter: %d %v, want a new request", status, m)
	}
}

// TestReplayAnswersAsTheRequestStands: a retry of a submission whose code
// expired, or whose code could not be mailed, is 410; of one verified since,
// 202 with its status and no mail; a key not of the form is 400.
func TestReplayAnswersAsTheRequestStands(t *testing.T) {
	t.Run("code expired", func(t *testing.T) {
		e := newEnv(t)
		e.keyed(t, aKey, adaAccess)
		e.now = e.now.Add(dsr.CodeTTL + time.Minute)
		if status, m := e.keyed(t, aKey, adaAccess); status != 410 {
			t.Errorf("%d %v, want 410", status, m)
		}
	})
	t.Run("mail failed", func(t *testing.T) {
		e := newEnv(t)
		e.mailer.Err = errors.New("smtp down")
		if status, _ := e.keyed(t, aKey, adaAccess); status != 503 {
			t.Fatalf("first call: %d, want 503", status)
		}
		e.mailer.Err = nil
		if status, m := e.keyed(t, aKey, adaAccess); status != 410 {
			t.Errorf("retry: %d %v, want 410 (the request was ended)", status, m)
		}
	})
	t.Run("verified since", func(t *testing.T) {
		e := newEnv(t)
		_, first := e.keyed(t, aKey, adaAccess)
		code := codeRE.FindStringSubmatch(e.mailer.Mails[0].Text)[1]
		if status, _, _ := e.call(t, intake.RouteVerify, first["id"].(string), first["statusToken"].(string), `{"code":"`+code+`"}`, nil); status != 200 {
			t.Fatalf("verify: %d", status)
		}
		if status, m := e.keyed(t, aKey, adaAccess); status != 202 || m["status"] != "queued" || len(e.mailer.Mails) != 1 {
			t.Errorf("%d %v, %d mails; want 202 queued, no new mail", status, m, len(e.mailer.Mails))
		}
	})
	for _, bad := range []string{"short", "has spaces in the middle of it", "ünïcödé-key-that-is-long"} {
		e := newEnv(t)
		status, m := e.keyed(t, bad, adaAccess)
		errs, _ := m["errors"].([]any)
		if status != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "Idempotency-Key" {
			t.Errorf("key %q: %d %v, want 400 naming Idempotency-Key", bad, status, m)
		}
	}
}
