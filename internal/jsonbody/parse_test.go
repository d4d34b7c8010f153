package jsonbody_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/jsonbody"
)

func TestParseSubmission(t *testing.T) {
	reg := dsrtest.Registry(t)
	tests := []struct {
		name   string
		body   string
		want   dsr.Submission
		fields []string // invalid fields, in order; nil: valid
	}{
		{name: "access", body: `{"type":"access","email":" Ada@Example.com "}`,
			want: dsr.Submission{Type: dsr.TypeAccess, Email: "ada@example.com"}},
		{name: "erasure", body: `{"type":"erasure","email":"ada@example.com"}`,
			want: dsr.Submission{Type: dsr.TypeErasure, Email: "ada@example.com"}},
		{name: "objection, direct marketing", body: `{"type":"objection","email":"ada@example.com","scope":"direct_marketing"}`,
			want: dsr.Submission{Type: dsr.TypeObjection, Email: "ada@example.com", Scope: "direct_marketing"}},
		{name: "objection, purposes", body: `{"type":"objection","email":"ada@example.com","purposes":["billing","billing"],"grounds":"why"}`,
			want: dsr.Submission{Type: dsr.TypeObjection, Email: "ada@example.com", Purposes: []string{"billing"}, Grounds: "why"}},
		{name: "unknown purpose", body: `{"type":"objection","email":"ada@example.com","purposes":["astrology"]}`, fields: []string{"purposes[0]"}},
		{name: "objection without scope", body: `{"type":"objection","email":"ada@example.com"}`, fields: []string{"scope"}},
		{name: "scope and purposes", body: `{"type":"objection","email":"a@b.co","scope":"direct_marketing","purposes":["billing"]}`, fields: []string{"scope"}},
		{name: "bad scope", body: `{"type":"objection","email":"a@b.co","scope":"everything"}`, fields: []string{"scope"}},
		{name: "grounds too long", body: `{"type":"objection","email":"a@b.co","scope":"direct_marketing","grounds":"` + strings.Repeat("é", 2001) + `"}`, fields: []string{"grounds"}},
		{name: "scope on access", body: `{"type":"access","email":"a@b.co","scope":"direct_marketing"}`, fields: []string{"scope"}},
		{name: "missing everything", body: `{}`, fields: []string{"email", "type"}},
		{name: "unknown type", body: `{"type":"deletion","email":"a@b.co"}`, fields: []string{"type"}},
		{name: "bad email", body: `{"type":"access","email":"not an address"}`, fields: []string{"email"}},
		{name: "wrong type of value", body: `{"type":1,"email":"a@b.co"}`, fields: []string{"type"}},
		{name: "unknown field", body: `{"type":"access","email":"a@b.co","name":"Ada"}`, fields: []string{"name"}},
		{name: "malformed", body: `{"type":"access",`, fields: []string{}},
		{name: "empty", body: ``, fields: []string{}},
		{name: "two values", body: `{"type":"access","email":"a@b.co"} {}`, fields: []string{}},
		{name: "array", body: `[]`, fields: []string{}},
		{name: "duplicate key", body: `{"type":"access","type":"erasure","email":"a@b.co"}`, fields: []string{"type"}},
		{name: "duplicate key, same value", body: `{"type":"access","email":"a@b.co","email":"a@b.co"}`, fields: []string{"email"}},
		{name: "field name in another case", body: `{"Type":"access","EMAIL":"a@b.co"}`, fields: []string{"Type"}},
		{name: "null for a string", body: `{"type":"access","email":null}`, fields: []string{"email"}},
		{name: "null for an absent field", body: `{"type":"access","email":"a@b.co","scope":null}`, fields: []string{"scope"}},
		{name: "null in an array", body: `{"type":"objection","email":"a@b.co","purposes":["customer_care",null]}`, fields: []string{"purposes[1]"}},
		{name: "number in an array", body: `{"type":"objection","email":"a@b.co","purposes":[1]}`, fields: []string{"purposes[0]"}},
		{name: "string for an array", body: `{"type":"objection","email":"a@b.co","purposes":"customer_care"}`, fields: []string{"purposes"}},
		{name: "trailing garbage", body: `{"type":"access","email":"a@b.co"}x`, fields: []string{}},
		{name: "object", body: `"access"`, fields: []string{}},
		{name: "null body", body: `null`, fields: []string{}},
		{name: "number body", body: `1`, fields: []string{}},
		{name: "long unknown name is cut", body: `{"type":"access","email":"a@b.co","` + strings.Repeat("n", 3000) + `":1}`, fields: []string{strings.Repeat("n", 64)}},
		{name: "invalid UTF-8", body: "{\"type\":\"access\",\"email\":\"a\xff@b.co\"}", fields: []string{}},
		{name: "too large", body: `{"type":"access","email":"a@b.co","x":"` + strings.Repeat("x", jsonbody.MaxBytes) + `"}`, fields: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jsonbody.ParseSubmission([]byte(tc.body), reg)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error %v, want EInvalid", err)
			}
			de := err.(*dsr.Error)
			var names []string
			for _, f := range de.Fields {
				names = append(names, f.Field)
			}
			if len(tc.fields) > 0 {
				if diff := cmp.Diff(tc.fields, names); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
			if strings.Contains(de.Message, "a@b.co") || strings.Contains(de.Message, "ada@") {
				t.Errorf("message echoes the address: %s", de.Message)
			}
			for _, f := range append(de.Fields, dsr.FieldError{Reason: de.Message}) {
				if strings.ContainsAny(f.Reason, "*[]") || strings.Contains(f.Reason, "dsr.") || strings.Contains(f.Reason, "json:") {
					t.Errorf("the error names a Go type or the decoder: %q", f.Reason)
				}
			}
		})
	}
}

func TestParseVerify(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"code":"123456"}`: true, `{"code":"12345"}`: false, `{"code":"12345a"}`: false, `{"code":123456}`: false,
		`{}`: false, `{"code":"123456","x":1}`: false, `nope`: false,
	} {
		code, err := jsonbody.ParseVerify([]byte(body))
		if (err == nil) != ok || (ok && code != "123456") {
			t.Errorf("ParseVerify(%s) = %q, %v", body, code, err)
		}
	}
}

func FuzzParseSubmission(f *testing.F) {
	f.Add([]byte(`{"type":"access","email":"ada@example.com"}`))
	f.Add([]byte(`{"type":"objection","email":"ada@example.com","purposes":["billing"],"grounds":"x"}`))
	f.Add([]byte(`{"type":"objection","email":"a@b.c","scope":"direct_marketing"}`))
	f.Add([]byte(`{"email":"\u0000@x.y"}`))
	reg := dsrtest.Registry(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := jsonbody.ParseSubmission(body, reg)
		if err != nil {
			if c := dsr.ErrorCodeOf(err); c != dsr.EInvalid {
				t.Fatalf("error code %q for %q", c, body)
			}
			return
		}
		if again, err := dsr.NormalizeEmail(s.Email); err != nil || again != s.Email {
			t.Fatalf("accepted email %q is not normalized", s.Email)
		}
		if s.Type != dsr.TypeAccess && s.Type != dsr.TypeErasure && s.Type != dsr.TypeObjection && s.Type != dsr.TypePreferences {
			t.Fatalf("accepted type %q", s.Type)
		}
	})
}

func FuzzParseVerify(f *testing.F) {
	f.Add([]byte(`{"code":"123456"}`))
	f.Add([]byte(`{"code":"12345６"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, err := jsonbody.ParseVerify(body)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q", dsr.ErrorCodeOf(err))
			}
			return
		}
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("accepted code %q", code)
		}
	})
}

func TestParseProvenanceEvent(t *testing.T) {
	reg := dsrtest.Registry(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		body   string
		want   dsr.ProvenanceEvent
		fields []string // the fields at fault; nil: valid
	}{
		{
			name: "collected",
			body: `{"email":" Ada@Example.com","purpose":"marketing","event":"collected","source":"trade fair 2026","at":"2026-03-14T10:00:00+01:00"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "marketing", Event: dsr.EventCollected, Source: "trade fair 2026", At: time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)},
		},
		{
			name: "disclosed inside the EEA, empty safeguard",
			body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Example Print GmbH","country":"DE","safeguard":"","at":"2026-06-01T00:00:00Z"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "billing", Event: dsr.EventDisclosed, Recipient: "Example Print GmbH", Country: "DE",
				TransferBasis: dsr.TransferEEA, At: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "disclosed to an adequacy country",
			body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Tax Advisers LLP","country":"GB","at":"2026-06-01T00:00:00Z"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "billing", Event: dsr.EventDisclosed, Recipient: "Tax Advisers LLP", Country: "GB",
				TransferBasis: dsr.TransferAdequacy, At: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "disclosed to a US recipient certified under the DPF",
			body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Mailer Inc.","country":"US","safeguard":"dpf","at":"2026-06-01T00:00:00Z"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "billing", Event: dsr.EventDisclosed, Recipient: "Mailer Inc.", Country: "US", Safeguard: "dpf",
				TransferBasis: dsr.TransferAdequacy, At: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "disclosed to a third country under standard contractual clauses",
			body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Cloud Ltd","country":"IN","safeguard":" scc ","at":"2026-06-01T00:00:00Z"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "billing", Event: dsr.EventDisclosed, Recipient: "Cloud Ltd", Country: "IN", Safeguard: "scc",
				TransferBasis: dsr.TransferSafeguard, At: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		},
		{name: "lower-case country", body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"P","country":"de","at":"2026-06-01T00:00:00Z"}`, fields: []string{"country"}},
		{name: "country ZZ", body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"P","country":"ZZ","safeguard":"scc","at":"2026-06-01T00:00:00Z"}`, fields: []string{"country"}},
		{name: "country EU", body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"P","country":"EU","at":"2026-06-01T00:00:00Z"}`, fields: []string{"country"}},
		{name: "third country without a safeguard", body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"P","country":"IN","safeguard":"","at":"2026-06-01T00:00:00Z"}`, fields: []string{"safeguard"}},
		{name: "US recipient not certified, no safeguard", body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"P","country":"US","at":"2026-06-01T00:00:00Z"}`, fields: []string{"safeguard"}},
		{name: "a safeguard not of the list", body: `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"P","country":"IN","safeguard":"SCC","at":"2026-06-01T00:00:00Z"}`, fields: []string{"safeguard"}},
		{
			name: "within the clock skew",
			body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"web form","at":"2026-11-30T12:04:00Z"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "marketing", Event: dsr.EventCollected, Source: "web form", At: now.Add(4 * time.Minute)},
		},
		{name: "bad JSON", body: `{"email":`, fields: []string{}},
		{name: "not an object", body: `[1]`, fields: []string{}},
		{name: "unknown field", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","at":"2026-01-01T00:00:00Z","color":"red"}`, fields: []string{"color"}},
		{name: "unknown purpose", body: `{"email":"ada@example.com","purpose":"astrology","event":"collected","source":"x","at":"2026-01-01T00:00:00Z"}`, fields: []string{"purpose"}},
		{name: "missing time", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x"}`, fields: []string{"at"}},
		{name: "time not RFC 3339", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","at":"01/02/2026"}`, fields: []string{"at"}},
		{name: "time in the future", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","at":"2026-11-30T12:06:00Z"}`, fields: []string{"at"}},
		{name: "already past its two years", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","at":"2024-11-30T12:00:00Z"}`, fields: []string{"at"}},
		{name: "billing's provenance lives 11 years (a 10-year duty)", body: `{"email":"ada@example.com","purpose":"billing","event":"collected","source":"shop","at":"2020-03-01T00:00:00Z"}`,
			want: dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "billing", Event: dsr.EventCollected, Source: "shop", At: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "billing, past its 11 years", body: `{"email":"ada@example.com","purpose":"billing","event":"collected","source":"shop","at":"2015-11-30T12:00:00Z"}`, fields: []string{"at"}},
		{name: "missing everything", body: `{}`, fields: []string{"email", "purpose", "event", "at"}},
		{name: "bad email", body: `{"email":"ada","purpose":"marketing","event":"collected","source":"x","at":"2026-01-01T00:00:00Z"}`, fields: []string{"email"}},
		{name: "unknown event", body: `{"email":"ada@example.com","purpose":"marketing","event":"sold","at":"2026-01-01T00:00:00Z"}`, fields: []string{"event"}},
		{name: "collected without source", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"  ","at":"2026-01-01T00:00:00Z"}`, fields: []string{"source"}},
		{name: "collected with a recipient", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","recipient":"y","at":"2026-01-01T00:00:00Z"}`, fields: []string{"recipient"}},
		{name: "disclosed without recipient or country", body: `{"email":"ada@example.com","purpose":"marketing","event":"disclosed","at":"2026-01-01T00:00:00Z"}`, fields: []string{"recipient", "country"}},
		{name: "disclosed with a bad country", body: `{"email":"ada@example.com","purpose":"marketing","event":"disclosed","recipient":"y","country":"Germany","at":"2026-01-01T00:00:00Z"}`, fields: []string{"country"}},
		{name: "source too long", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"` + strings.Repeat("x", 201) + `","at":"2026-01-01T00:00:00Z"}`, fields: []string{"source"}},
		{name: "wrong type", body: `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","at":1700000000}`, fields: []string{"at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jsonbody.ParseProvenanceEvent([]byte(tt.body), reg, now, dsrtest.Policy(t))
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("event (-want +got):\n%s", diff)
				}
				return
			}
			var de *dsr.Error
			if !errors.As(err, &de) || de.Code != dsr.EInvalid {
				t.Fatalf("want an invalid error, got %v", err)
			}
			var fields []string
			for _, f := range de.Fields {
				fields = append(fields, f.Field)
				if strings.Contains(f.Reason, "ada@") {
					t.Errorf("reason echoes the address: %q", f.Reason)
				}
			}
			if diff := cmp.Diff(tt.fields, fields, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseProvenanceEvent(f *testing.F) {
	reg := dsrtest.Registry(f)
	now, pol := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), dsrtest.Policy(f)
	for _, s := range []string{
		`{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"trade fair","at":"2026-03-14T10:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"R","country":"US","safeguard":"SCC","at":"2026-06-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"collected","source":"shop","at":"2020-03-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"R","country":"US","safeguard":"dpf","at":"2026-06-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"R","country":"ZZ","at":"2026-06-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"R","country":"IN","safeguard":"legal_claims","at":"2026-06-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"R","country":"GB","at":"2026-06-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"R","country":"FR","safeguard":"scc","at":"2026-06-01T00:00:00Z"}`,
		`{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"shop","at":"2020-03-01T00:00:00Z"}`,
		`{"at":"9999-12-31T23:59:59Z"}`, `{"at":"0001-01-01T00:00:00Z"}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := jsonbody.ParseProvenanceEvent(body, reg, now, pol)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error of code %s: %v", dsr.ErrorCodeOf(err), err)
			}
			return
		}
		years := reg.ProvenanceYears(ev.Purpose, dsr.DefaultProvenanceYears)
		if _, ok := reg.Lookup(ev.Purpose); !ok || ev.Email == "" || ev.At.After(now.Add(dsr.MaxClockSkew)) || !dsr.ProvenanceExpiry(ev.At, years).After(now) {
			t.Fatalf("accepted an invalid event: %+v", ev)
		}
		if (ev.Event == dsr.EventCollected) != (ev.Source != "") || (ev.Event == dsr.EventDisclosed) != (ev.Recipient != "" && ev.Country != "") {
			t.Fatalf("event without its fields: %+v", ev)
		}
		if ev.Event != dsr.EventDisclosed {
			if ev.TransferBasis != "" {
				t.Fatalf("a source with a transfer basis: %+v", ev)
			}
			return
		}
		// A recipient is in a real country, and lawfully: the EEA without a
		// safeguard, an adequacy country, or a safeguard of the list.
		_, adequate := pol.Adequacy[ev.Country]
		_, known := dsr.Safeguards[ev.Safeguard]
		switch {
		case !dsr.IsCountry(ev.Country):
			t.Fatalf("accepted a country that is none: %+v", ev)
		case dsr.InEEA(ev.Country) != (ev.TransferBasis == dsr.TransferEEA) || (dsr.InEEA(ev.Country) && ev.Safeguard != ""):
			t.Fatalf("EEA and its basis disagree: %+v", ev)
		case ev.TransferBasis == dsr.TransferAdequacy && !adequate:
			t.Fatalf("adequacy for a country off the list: %+v", ev)
		case !dsr.InEEA(ev.Country) && !adequate && !known:
			t.Fatalf("a third country without a safeguard of the list: %+v", ev)
		case ev.TransferBasis == "":
			t.Fatalf("a recipient without a transfer basis: %+v", ev)
		}
	})
}

func FuzzParseSuppressionCheck(f *testing.F) {
	reg, err := dsr.ParseRegistry([]byte(dsrtest.RegistryYAML))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"email":"a@b.co","purpose":"marketing"}`, `{"email":"a@b.co"}`, `{}`, `[`, `{"email":1}`,
		`{"email":"a@b.co","purpose":"marketing","consentAt":"2026-03-01T12:00:00Z"}`, `{"email":"a@b.co","purpose":"billing","consentAt":"2026-03-01T12:00:00Z"}`,
		`{"email":"a@b.co","purpose":"marketing","consentAt":"2026-13-01"}`, `{"email":"a@b.co","purpose":"marketing","consentAt":7}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := jsonbody.ParseSuppressionCheck(body, reg)
		if err == nil {
			p, ok := reg.Lookup(c.Purpose)
			if !ok || c.Email == "" || !c.ConsentAt.IsZero() && p.Basis() != dsr.BasisConsent {
				t.Errorf("accepted %q as %+v", body, c)
			}
		} else if dsr.ErrorCodeOf(err) != dsr.EInvalid {
			t.Errorf("error %v is not invalid input", err)
		}
	})
}

// FuzzParseRegistration: whatever the body, a registration is refused with
// an EInvalid error or accepted with a normalized address, a receipt not in
// the future and not due yet, and a channel and identity check of the lists.
func FuzzParseRegistration(f *testing.F) {
	f.Add([]byte(`{"type":"erasure","email":"ada@example.com","receivedAt":"2026-11-20T09:30:00Z","channel":"letter","identityCheck":"signature_compared"}`))
	f.Add([]byte(`{"type":"objection","email":"a@b.co","purposes":["billing"],"receivedAt":"2026-11-29T10:00:00+01:00","channel":"phone","identityCheck":"callback","identityNote":"n"}`))
	f.Add([]byte(`{"type":"access","email":"a@b.co","receivedAt":"2099-01-01T00:00:00Z","channel":"fax","identityCheck":"x"}`))
	reg := dsrtest.Registry(f)
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	policy := dsr.DeadlinePolicy{Location: time.UTC}
	f.Fuzz(func(t *testing.T, body []byte) {
		g, err := jsonbody.ParseRegistration(body, reg, policy, now)
		if err != nil {
			if c := dsr.ErrorCodeOf(err); c != dsr.EInvalid {
				t.Fatalf("error code %q for %q", c, body)
			}
			return
		}
		if again, err := dsr.NormalizeEmail(g.Email); err != nil || again != g.Email {
			t.Fatalf("accepted email %q is not normalized", g.Email)
		}
		if g.ReceivedAt.After(now) || !policy.Due(g.ReceivedAt, 1).After(now) {
			t.Fatalf("accepted receipt %s at %s", g.ReceivedAt, now)
		}
		if !slices.Contains(dsr.Channels, g.Channel) || !slices.Contains(dsr.IdentityChecks, g.IdentityCheck) || strings.Contains(g.IdentityNote, "@") {
			t.Fatalf("accepted %q, %q, %q", g.Channel, g.IdentityCheck, g.IdentityNote)
		}
	})
}

// FuzzParseRestrictionExtension: whatever the body, an extension is
// accepted only for a purpose restricted on erasure, a day after now and at
// most dsr.MaxRestrictionYears ahead, with a reason; anything else is
// invalid input.
func FuzzParseRestrictionExtension(f *testing.F) {
	reg, err := dsr.ParseRegistry([]byte(dsrtest.RegistryYAML))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2027, 2, 20, 9, 0, 0, 0, time.UTC)
	for _, s := range []string{`{"purpose":"billing","until":"2032-06-30","reason":"audit"}`, `{"purpose":"marketing","until":"2032-06-30","reason":"r"}`,
		`{"purpose":"billing","until":"2027-02-20","reason":"r"}`, `{"until":"x"}`, `{}`, `[`, `{"reason":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		x, err := jsonbody.ParseRestrictionExtension(body, reg, now)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Errorf("error %v is not invalid input", err)
			}
			return
		}
		p, ok := reg.Lookup(x.Purpose)
		if !ok || p.Erasure != dsr.ActionRestrict || !x.Until.After(now) || x.Until.After(now.AddDate(dsr.MaxRestrictionYears, 0, 0)) || strings.TrimSpace(x.Reason) == "" {
			t.Errorf("accepted %q as %+v", body, x)
		}
	})
}
