package jsonbody_test

import (
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

func TestParseRectificationDecision(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"outcome":"confirmed"}`, true},
		{`{"outcome":"refused","reasons":"the contract says so"}`, true},
		{`{"outcome":"refused"}`, false},
		{`{"outcome":"confirmed","purpose":"marketing"}`, false}, // unknown field
		{`{"outcome":1}`, false},
		{`[]`, false},
	} {
		d, err := jsonbody.ParseRectificationDecision([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %+v, %v", tc.body, d, err)
		}
		if err != nil && dsr.ErrorCodeOf(err) != dsr.EInvalid {
			t.Errorf("%s: error code %q", tc.body, dsr.ErrorCodeOf(err))
		}
	}
}

func FuzzParseRectificationDecision(f *testing.F) {
	f.Add([]byte(`{"outcome":"confirmed"}`))
	f.Add([]byte(`{"outcome":"refused","reasons":" "}`))
	f.Add([]byte(`{"outcome":"refused","reasons":"r","x":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := jsonbody.ParseRectificationDecision(body)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q for %q", dsr.ErrorCodeOf(err), body)
			}
			return
		}
		switch {
		case d.Outcome != dsr.RectificationConfirmed && d.Outcome != dsr.RectificationRefused:
			t.Fatalf("accepted outcome %q", d.Outcome)
		case d.Outcome == dsr.RectificationRefused && strings.TrimSpace(d.Reasons) == "":
			t.Fatal("a refusal accepted without reasons")
		case len([]rune(d.Reasons)) > dsr.MaxDetailLength:
			t.Fatal("reasons too long accepted")
		}
	})
}
