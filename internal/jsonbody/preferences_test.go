package jsonbody_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// TestParsePreferencesBody: a preferences body is read strictly, an
// unknown field of a change refused with its path; the token request and
// the check's channel likewise.
func TestParsePreferencesBody(t *testing.T) {
	reg := dsrtest.Registry(t)
	tests := []struct {
		name, body string
		fields     []string // nil: accepted
	}{
		{"withdraw e-mail, keep post", `{"type":"preferences","email":"ada@example.com","changes":[{"purpose":"marketing","channel":"email","consent":"withdrawn"},{"purpose":"marketing","channel":"post","consent":"kept"}]}`, nil},
		{"an unknown field in a change", `{"type":"preferences","email":"ada@example.com","changes":[{"purpose":"marketing","channel":"email","consent":"withdrawn","colour":"red"}]}`, []string{"changes[0].colour"}},
		{"changes not a list", `{"type":"preferences","email":"ada@example.com","changes":{"purpose":"marketing"}}`, []string{"changes"}},
		{"a bad channel", `{"type":"preferences","email":"ada@example.com","changes":[{"purpose":"marketing","channel":"fax","consent":"withdrawn"}]}`, []string{"changes[0].channel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jsonbody.ParseSubmission([]byte(tt.body), reg)
			if diff := cmp.Diff(tt.fields, fieldNames(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
	if _, err := jsonbody.ParseUnsubscribeIssue([]byte(`{"email":"ada@example.com","purpose":"marketing","channel":"post"}`), reg); err != nil {
		t.Error(err)
	}
	if _, err := jsonbody.ParseUnsubscribeIssue([]byte(`{"email":"ada@example.com","purpose":"billing","channel":"post"}`), reg); !cmp.Equal(fieldNames(err), []string{"purpose"}) {
		t.Errorf("a token for a purpose without channels: %v", err)
	}
}

func fieldNames(err error) []string {
	var out []string
	if de, ok := err.(*dsr.Error); ok {
		for _, f := range de.Fields {
			out = append(out, f.Field)
		}
	}
	return out
}

// FuzzParsePreferences: no body makes the parser panic or answer other
// than "invalid", and every change it accepts names a purpose, a channel of
// it with "withdrawn" or "kept", or a frequency among its values.
func FuzzParsePreferences(f *testing.F) {
	f.Add([]byte(`{"type":"preferences","email":"ada@example.com","changes":[{"purpose":"marketing","channel":"email","consent":"withdrawn"}]}`))
	f.Add([]byte(`{"type":"preferences","email":"ada@example.com","changes":[{"purpose":"marketing","frequency":"monthly"},{"purpose":"marketing","channel":"post","consent":"kept"}]}`))
	f.Add([]byte(`{"type":"preferences","email":"a@b.c","changes":[{"purpose":"billing","channel":"email","consent":"withdrawn"}]}`))
	f.Add([]byte(`{"type":"preferences","email":"a@b.c","changes":[null,{}]}`))
	reg := dsrtest.Registry(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := jsonbody.ParseSubmission(body, reg)
		if err != nil {
			if c := dsr.ErrorCodeOf(err); c != dsr.EInvalid {
				t.Fatalf("error code %q for %q", c, body)
			}
			return
		}
		if s.Type != dsr.TypePreferences && len(s.Changes) > 0 {
			t.Fatalf("a %s request with changes", s.Type)
		}
		for _, c := range s.Changes {
			p, ok := reg.Lookup(c.Purpose)
			switch {
			case !ok:
				t.Fatalf("accepted purpose %q", c.Purpose)
			case c.Channel == "" && c.Frequency == "":
				t.Fatalf("accepted an empty change %+v", c)
			case c.Channel != "" && (!p.HasChannel(c.Channel) || c.Consent != dsr.ConsentWithdraw && c.Consent != dsr.ConsentKeep):
				t.Fatalf("accepted channel change %+v", c)
			case c.Frequency != "" && (p.Frequency == nil || !contains(p.Frequency.Values, c.Frequency)):
				t.Fatalf("accepted frequency %+v", c)
			}
		}
	})
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
