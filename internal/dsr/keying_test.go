package dsr_test

import (
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestSubjectOwns(t *testing.T) {
	ada := dsr.Subject{Email: "ada@example.com", Key: "k"}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name       string
		s          dsr.Subject
		identifier *string
		want       bool
	}{
		{"as normalized", ada, str("ada@example.com"), true},
		{"upper case", ada, str("ADA@EXAMPLE.COM"), true},
		{"spaces around", ada, str(" Ada@Example.com "), true},
		{"IDN in Unicode", dsr.Subject{Email: "ada@xn--exmple-cua.com"}, str("ada@EXÄMPLE.com"), true},
		{"a look-alike", ada, str("nada@example.com"), false},
		{"another domain", ada, str("ada@example.co"), false},
		{"a sub-address", ada, str("ada+news@example.com"), false},
		{"no address", ada, str("Ada <ada@example.com>"), false},
		{"no identifier", ada, nil, false},
		{"a request without its address (retention stripped it)", dsr.Subject{Key: "k"}, str(""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Owns(tc.identifier); got != tc.want {
				t.Errorf("Owns = %v, want %v", got, tc.want)
			}
		})
	}
}
