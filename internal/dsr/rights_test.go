package dsr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// TestRightsPerLegalBasis: access, rectification, erasure, restriction and
// complaint always; portability for consent or contract (Art. 20(1)(a));
// objection where Art. 21 applies (registry objection not none), absolute
// for direct marketing (Art. 21(2), (3)); withdrawal for consent (Art. 7(3)).
func TestRightsPerLegalBasis(t *testing.T) {
	always := "access:Art. 15 rectification:Art. 16 erasure:Art. 17 restriction:Art. 18"
	tests := []struct {
		name string
		p    dsr.Purpose
		want string
	}{
		{"consent, direct marketing (newsletter, marketing)",
			dsr.Purpose{LegalBasis: "consent (Art. 6(1)(a))", DirectMarketing: true, Objection: dsr.ActionDelete},
			always + " portability:Art. 20 objection:Art. 21(2), (3) withdraw_consent:Art. 7(3) complaint:Art. 77"},
		{"consent, not direct marketing, objection none",
			dsr.Purpose{LegalBasis: "consent", Objection: dsr.ActionNone},
			always + " portability:Art. 20 withdraw_consent:Art. 7(3) complaint:Art. 77"},
		{"contract", dsr.Purpose{LegalBasis: "contract (Art. 6(1)(b))", Objection: dsr.ActionNone},
			always + " portability:Art. 20 complaint:Art. 77"},
		{"legal obligation (billing): no objection, no portability",
			dsr.Purpose{LegalBasis: "legal obligation (Art. 6(1)(c)) - commercial and tax law", Objection: dsr.ActionNone},
			always + " complaint:Art. 77"},
		{"legitimate interests (customer care)",
			dsr.Purpose{LegalBasis: "legitimate interests (Art. 6(1)(f))", Objection: dsr.ActionRestrict},
			always + " objection:Art. 21(1) complaint:Art. 77"},
		{"legitimate interests, direct marketing",
			dsr.Purpose{LegalBasis: "legitimate_interests", DirectMarketing: true, Objection: dsr.ActionDelete},
			always + " objection:Art. 21(2), (3) complaint:Art. 77"},
		{"public task", dsr.Purpose{LegalBasis: "public task (Art. 6(1)(e))", Objection: dsr.ActionRestrict},
			always + " objection:Art. 21(1) complaint:Art. 77"},
		{"vital interests", dsr.Purpose{LegalBasis: "vital interests", Objection: dsr.ActionNone}, always + " complaint:Art. 77"},
		{"unknown basis, objection none", dsr.Purpose{LegalBasis: "something else", Objection: dsr.ActionNone}, always + " complaint:Art. 77"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range tc.p.RightsOf() {
				got = append(got, string(r.Code)+":"+r.Article)
			}
			if diff := cmp.Diff(tc.want, strings.Join(got, " ")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, l := range dsr.Languages {
				for _, r := range tc.p.Rights(l) {
					if r.Text == "" {
						t.Errorf("%s: %s has no text", l, r.Code)
					}
				}
			}
		})
	}
}

// TestRightTexts: the direct-marketing objection says it needs no reasons;
// every text differs between the languages.
func TestRightTexts(t *testing.T) {
	dm := dsr.Purpose{LegalBasis: "consent", DirectMarketing: true, Objection: dsr.ActionDelete}
	li := dsr.Purpose{LegalBasis: "legitimate interests", Objection: dsr.ActionRestrict}
	find := func(rs []dsr.Right, c dsr.RightCode) string {
		for _, r := range rs {
			if r.Code == c {
				return r.Text
			}
		}
		return ""
	}
	if got := find(dm.Rights(dsr.LangDE), dsr.RightObjection); !strings.Contains(got, "ohne Angabe von Gründen") {
		t.Errorf("direct marketing objection (de): %q", got)
	}
	if got := find(dm.Rights(dsr.LangEN), dsr.RightObjection); !strings.Contains(got, "without giving reasons") {
		t.Errorf("direct marketing objection (en): %q", got)
	}
	if got := find(li.Rights(dsr.LangEN), dsr.RightObjection); !strings.Contains(got, "particular situation") {
		t.Errorf("objection (en): %q", got)
	}
	de, en := dm.Rights(dsr.LangDE), dm.Rights(dsr.LangEN)
	for i := range de {
		if de[i].Text == en[i].Text || de[i].Code != en[i].Code {
			t.Errorf("%s: the same in both languages", de[i].Code)
		}
	}
}
