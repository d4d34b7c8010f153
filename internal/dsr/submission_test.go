package dsr_test

import (
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

func ptr[T any](v T) *T { return &v }

// TestInputsSayWhatIsInvalid: the domain's checks of what a person, a DPO
// or the CRM gives say what is invalid in the domain's words (the API words
// them as a body: package jsonbody).
func TestInputsSayWhatIsInvalid(t *testing.T) {
	reg := demoRegistry(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		message string
		err     func() error
		fields  []string
	}{
		{"the submission is invalid", func() error {
			_, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: ptr("access"), Scope: ptr("direct_marketing")}, reg)
			return err
		}, []string{"email", "scope"}},
		{"the verification is invalid", func() error { _, err := dsr.ParseVerify(dsr.VerificationInput{Code: ptr("12a456")}); return err }, []string{"code"}},
		{"the suppression check is invalid", func() error {
			_, err := dsr.ParseSuppressionCheck(dsr.SuppressionCheckInput{Email: ptr("ada@example.com"), Purpose: ptr("astrology")}, reg)
			return err
		}, []string{"purpose"}},
		{"the rejection is invalid", func() error { _, err := dsr.ParseRejection(dsr.RejectionInput{Reason: ptr("boring")}); return err }, []string{"reason", "detail"}},
		{"the extension is invalid", func() error { _, _, err := dsr.ParseExtension(dsr.ExtensionInput{Reason: ptr("r")}); return err }, []string{"months"}},
		{"the decision is invalid", func() error { _, err := dsr.ParseDecision(dsr.DecisionInput{Outcome: ptr("maybe")}); return err }, []string{"purpose", "outcome", "grounds"}},
		{"the provenance event is invalid", func() error {
			_, err := dsr.ParseProvenanceEvent(dsr.ProvenanceInput{Email: ptr("ada@example.com"), Purpose: ptr("marketing"), Event: ptr("collected")}, reg, now, dsrtest.Policy(t))
			return err
		}, []string{"source", "at"}},
		{"the message is invalid", func() error {
			_, err := dsr.ParseMessage(dsr.MessageInput{Purpose: "marketing", Chunk: -1})
			return err
		}, []string{"requestId", "chunk"}},
		{"the message is invalid", func() error { return dsr.RequestMessage{}.Check() }, []string{"requestId"}},
		{"the message is invalid", func() error { _, err := dsr.TaskQueueMessage(dsr.RequestMessage{RequestID: "r1"}); return err }, []string{"purpose"}},
	} {
		err := tc.err()
		de, ok := err.(*dsr.Error)
		if !ok || de.Code != dsr.EInvalid || de.Message != tc.message {
			t.Errorf("%v; want EInvalid %q", err, tc.message)
			continue
		}
		var names []string
		for _, f := range de.Fields {
			names = append(names, f.Field)
		}
		if len(names) != len(tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.message, names, tc.fields)
			continue
		}
		for i := range names {
			if names[i] != tc.fields[i] {
				t.Errorf("%s: fields %v, want %v", tc.message, names, tc.fields)
				break
			}
		}
	}
	if s, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: ptr("objection"), Email: ptr(" Ada@Example.com "), Purposes: &[]string{"marketing", "marketing"}, Grounds: ptr("why")}, reg); err != nil ||
		s.Email != "ada@example.com" || len(s.Purposes) != 1 || s.Grounds != "why" {
		t.Errorf("objection: %+v, %v", s, err)
	}
}
