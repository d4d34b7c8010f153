package dsr_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// TestParseRegistration: a request received by another channel is
// registered with its receipt time, which must not lie in the future nor so
// far back that its one-month deadline has passed (Art. 12(3)), a channel
// and an identity check from their lists, and a note without an address;
// every refusal names its field.
func TestParseRegistration(t *testing.T) {
	reg := dsrtest.Registry(t)
	policy := dsr.DeadlinePolicy{Location: time.UTC}
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	s := func(v string) *string { return &v }
	base := func() dsr.RegistrationInput {
		return dsr.RegistrationInput{
			SubmissionInput: dsr.SubmissionInput{Type: s("erasure"), Email: s(" Ada@Example.com ")},
			ReceivedAt:      s("2026-11-20T09:30:00+01:00"), Channel: s("letter"), IdentityCheck: s("signature_compared"),
		}
	}
	tests := []struct {
		name   string
		change func(*dsr.RegistrationInput)
		fields []string // nil: valid
	}{
		{"a letter", func(*dsr.RegistrationInput) {}, nil},
		{"a call with a note", func(in *dsr.RegistrationInput) {
			in.Channel, in.IdentityCheck, in.IdentityNote = s("phone"), s("callback"), s("number on the 2025 contract")
		}, nil},
		{"received just now", func(in *dsr.RegistrationInput) { in.ReceivedAt = s("2026-11-29T10:00:00Z") }, nil},
		{"received a month ago, due today", func(in *dsr.RegistrationInput) { in.ReceivedAt = s("2026-10-29T12:00:00Z") }, nil},
		{"in the future", func(in *dsr.RegistrationInput) { in.ReceivedAt = s("2026-11-29T10:00:01Z") }, []string{"receivedAt"}},
		{"due already", func(in *dsr.RegistrationInput) { in.ReceivedAt = s("2026-10-28T12:00:00Z") }, []string{"receivedAt"}},
		{"not a time", func(in *dsr.RegistrationInput) { in.ReceivedAt = s("20 November") }, []string{"receivedAt"}},
		{"no receipt", func(in *dsr.RegistrationInput) { in.ReceivedAt = nil }, []string{"receivedAt"}},
		{"a fax", func(in *dsr.RegistrationInput) { in.Channel = s("fax") }, []string{"channel"}},
		{"no identity check", func(in *dsr.RegistrationInput) { in.IdentityCheck = nil }, []string{"identityCheck"}},
		{"an address in the note", func(in *dsr.RegistrationInput) { in.IdentityNote = s("replied from ada@example.com") }, []string{"identityNote"}},
		{"a long note", func(in *dsr.RegistrationInput) { in.IdentityNote = s(strings.Repeat("x", 201)) }, []string{"identityNote"}},
		{"a bad submission too", func(in *dsr.RegistrationInput) { in.Type, in.Channel = s("gossip"), nil }, []string{"channel", "type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.change(&in)
			g, err := dsr.ParseRegistration(in, reg, policy, now)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("ParseRegistration: %v", err)
				}
				if g.Email != "ada@example.com" || g.ReceivedAt.Location() != time.UTC || g.ReceivedAt.After(now) {
					t.Errorf("registration %+v", g)
				}
				return
			}
			var got []string
			if de, ok := err.(*dsr.Error); ok {
				for _, f := range de.Fields {
					got = append(got, f.Field)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	g, _ := dsr.ParseRegistration(base(), reg, policy, now)
	if d := dsr.RegisteredDetail(g) + dsr.IdentityDetail(g); !strings.Contains(d, "received by letter at 2026-11-20T08:30:00Z") ||
		!strings.Contains(d, "signature_compared") || strings.Contains(d, "ada@") {
		t.Errorf("trail details %q", d)
	}
}

// TestListAwaitingDecision: the DPO list's awaitingDecision=true narrows to
// objections in progress (they wait there for the DPO's decision); another
// status or type with it, or another value, is a 400 naming the field.
func TestListAwaitingDecision(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		q     map[string]string
		field string // "" for valid
	}{
		{map[string]string{"awaitingDecision": "true"}, ""},
		{map[string]string{"awaitingDecision": "true", "type": "objection", "status": "in_progress"}, ""},
		{map[string]string{"awaitingDecision": "false"}, ""},
		{map[string]string{"awaitingDecision": "true", "status": "queued"}, "awaitingDecision"},
		{map[string]string{"awaitingDecision": "true", "type": "access"}, "awaitingDecision"},
		{map[string]string{"awaitingDecision": "yes"}, "awaitingDecision"},
	}
	for _, tc := range tests {
		q, err := dsr.ParseListQuery(tc.q, now)
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%v: %v", tc.q, err)
		case tc.field == "" && tc.q["awaitingDecision"] == "true" && (!q.AwaitingDecision || fmt.Sprint(q.Statuses) != "[in_progress]"):
			t.Errorf("%v: %+v, want in progress, awaiting a decision", tc.q, q)
		case tc.field != "" && (err == nil || !strings.Contains(fmt.Sprint(err.(*dsr.Error).Fields), tc.field)):
			t.Errorf("%v: %v, want a 400 naming %s", tc.q, err, tc.field)
		}
	}
	r := &dsr.Request{Type: dsr.TypeObjection, Status: dsr.StatusInProgress, ObjectionDecisions: map[string]string{"b": dsr.DecisionPending, "a": dsr.DecisionUpheld}}
	if !r.AwaitingDecision() || fmt.Sprint(r.PendingDecisions()) != "[b]" {
		t.Errorf("pending %v", r.PendingDecisions())
	}
	if r.ObjectionDecisions["b"] = dsr.DecisionOverridden; r.AwaitingDecision() {
		t.Error("every decision taken, still awaiting")
	}
}
