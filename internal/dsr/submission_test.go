package dsr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestParseSubmission(t *testing.T) {
	reg := demoRegistry(t)
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
		{name: "too large", body: `{"type":"access","email":"a@b.co","x":"` + strings.Repeat("x", dsr.MaxBodyBytes) + `"}`, fields: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dsr.ParseSubmission([]byte(tc.body), reg)
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
		code, err := dsr.ParseVerify([]byte(body))
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
	reg := demoRegistry(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := dsr.ParseSubmission(body, reg)
		if err != nil {
			if c := dsr.ErrorCodeOf(err); c != dsr.EInvalid {
				t.Fatalf("error code %q for %q", c, body)
			}
			return
		}
		if again, err := dsr.NormalizeEmail(s.Email); err != nil || again != s.Email {
			t.Fatalf("accepted email %q is not normalized", s.Email)
		}
		if s.Type != dsr.TypeAccess && s.Type != dsr.TypeErasure && s.Type != dsr.TypeObjection {
			t.Fatalf("accepted type %q", s.Type)
		}
	})
}

func FuzzParseVerify(f *testing.F) {
	f.Add([]byte(`{"code":"123456"}`))
	f.Add([]byte(`{"code":"12345６"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, err := dsr.ParseVerify(body)
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

func FuzzOpenCursor(f *testing.F) {
	h, err := dsr.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.SealCursor("list", `{"s":1}`), "list")
	f.Add("e30.AAAA", "list")
	f.Fuzz(func(t *testing.T, sealed, scope string) {
		raw, err := h.OpenCursor("cursor", scope, sealed)
		if err != nil {
			if dsr.ErrorCodeOf(err) != dsr.EInvalid {
				t.Fatalf("error code %q", dsr.ErrorCodeOf(err))
			}
			return
		}
		if again, err := h.OpenCursor("cursor", scope, h.SealCursor(scope, raw)); err != nil || again != raw {
			t.Fatalf("resealed cursor opens to %q, %v; want %q", again, err, raw)
		}
		if _, err := h.OpenCursor("cursor", scope+"\x01", sealed); err == nil {
			t.Fatalf("cursor %q of scope %q opens for another scope", sealed, scope)
		}
	})
}
