package jsonbody_test

import (
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// TestWording: the API answers a refused body as it always has (the
// detail of docs/openapi.yaml's examples), whether the decoder or the
// domain refused it; a queue's message is called a message; a provenance
// event the domain refuses keeps the domain's words.
func TestWording(t *testing.T) {
	reg := dsrtest.Registry(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"submission, refused by the domain", "the request body is invalid", second(jsonbody.ParseSubmission([]byte(`{"type":"access"}`), reg))},
		{"submission, refused by the decoder", "the request body is invalid", second(jsonbody.ParseSubmission([]byte(`{"type":"access","x":1}`), reg))},
		{"submission, not JSON", "the request body is not a valid JSON object", second(jsonbody.ParseSubmission([]byte(`{`), reg))},
		{"verification", "the request body is invalid", second(jsonbody.ParseVerify([]byte(`{"code":"1"}`)))},
		{"suppression check", "the request body is invalid", second(jsonbody.ParseSuppressionCheck([]byte(`{"email":"a@b.co"}`), reg))},
		{"rejection", "the request body is invalid", second(jsonbody.ParseRejection([]byte(`{"reason":"boring","detail":"d"}`)))},
		{"extension", "the request body is invalid", third(jsonbody.ParseExtension([]byte(`{"reason":"r"}`)))},
		{"decision", "the request body is invalid", second(jsonbody.ParseDecision([]byte(`{"purpose":"p"}`)))},
		{"too large", "the request body is larger than 16384 bytes", second(jsonbody.ParseVerify(make([]byte, jsonbody.MaxBytes+1)))},
		{"provenance event, refused by the domain", "the provenance event is invalid",
			second(jsonbody.ParseProvenanceEvent([]byte(`{"email":"ada@example.com","purpose":"marketing","event":"collected"}`), reg, now, dsrtest.Policy(t)))},
		{"provenance event, not JSON", "the message is not a valid JSON object", second(jsonbody.ParseProvenanceEvent([]byte(`{"email":`), reg, now, dsrtest.Policy(t)))},
		{"provenance event, a member twice", "the message is invalid", second(jsonbody.ParseProvenanceEvent([]byte(`{"at":"x","at":"y"}`), reg, now, dsrtest.Policy(t)))},
		{"request message", "the message is invalid", second(jsonbody.ParseRequestMessage(`{}`))},
		{"task message, empty", "the message is empty; a JSON object is required", second(jsonbody.ParseTaskQueueMessage(``))},
		{"queue message, a request message on the task queue", "the message is invalid", second(jsonbody.ParseTaskQueueMessage(`{"requestId":"r1"}`))},
		{"queue message, unknown member", "the message is invalid", second(jsonbody.ParseMessage(`{"requestId":"r1","x":1}`))},
	} {
		de, ok := tc.err.(*dsr.Error)
		if !ok || de.Code != dsr.EInvalid || de.Message != tc.want {
			t.Errorf("%s: %v; want EInvalid %q", tc.name, tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }
