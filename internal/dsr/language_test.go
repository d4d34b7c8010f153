package dsr_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestNegotiateLanguage(t *testing.T) {
	tests := []struct {
		header   string
		fallback dsr.Language
		want     dsr.Language
	}{
		{"", dsr.LangDE, dsr.LangDE},
		{"", dsr.LangEN, dsr.LangEN},
		{"de", dsr.LangEN, dsr.LangDE},
		{"en", dsr.LangDE, dsr.LangEN},
		{"de-AT", dsr.LangEN, dsr.LangDE},
		{"en-GB,en;q=0.9", dsr.LangDE, dsr.LangEN},
		{"en;q=0.5,de;q=0.9", dsr.LangEN, dsr.LangDE},
		{"fr-FR,fr;q=0.9,en;q=0.8,de;q=0.7", dsr.LangDE, dsr.LangEN},
		{"fr-FR,fr;q=0.9", dsr.LangDE, dsr.LangDE},
		{"fr-FR,fr;q=0.9", dsr.LangEN, dsr.LangEN},
		{"*", dsr.LangDE, dsr.LangDE},
		{"de;q=0", dsr.LangEN, dsr.LangEN},
		{"not a header;;;q=x", dsr.LangDE, dsr.LangDE},
		{"gsw-CH", dsr.LangEN, dsr.LangDE}, // Swiss German reads German
	}
	for _, tc := range tests {
		if got := dsr.NegotiateLanguage(tc.header, tc.fallback); got != tc.want {
			t.Errorf("%q (fallback %s): %s, want %s", tc.header, tc.fallback, got, tc.want)
		}
	}
}

func FuzzNegotiateLanguage(f *testing.F) {
	for _, s := range []string{"", "de", "en-GB,en;q=0.9,de;q=0.8", "*;q=0.1", "x-klingon", "de;q=2", ",,,;", "zh-Hant-TW;q=0.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := dsr.NegotiateLanguage(header, dsr.LangEN)
		if !slices.Contains(dsr.Languages, got) {
			t.Fatalf("%q: %q is not a language of the answers", header, got)
		}
	})
}

func TestParseLanguage(t *testing.T) {
	for in, ok := range map[string]bool{"de": true, "en": true, "DE": false, "de-DE": false, "fr": false, "": false, " en": false} {
		if _, got := dsr.ParseLanguage(in); got != ok {
			t.Errorf("%q: %v, want %v", in, got, ok)
		}
	}
}

// TestRegistryTexts: the registry's texts are needed in German and English;
// a missing, empty or unknown language, and automatedDecisions other than
// "none" or a text per language, are errors at start.
func TestRegistryTexts(t *testing.T) {
	const base = "- purpose: p\n  table: t\n  subjectIndex: i\n  identifier: email\n  subjectKeyAttribute: sk\n" +
		"  title: {de: T, en: T}\n  description: {de: D, en: D}\n  categories: {de: [K, L], en: [C, M]}\n" +
		"  automatedDecisions: AUTO\n  labels: {email: {de: E-Mail, en: e-mail}}\n" +
		"  legalBasis: consent\n  retention: {de: R, en: R}\n  erasure: delete\n  objection: delete\n"
	ok := strings.Replace(base, "AUTO", "none", 1)
	tests := []struct {
		name, from, to string
		want           string // "" for valid
	}{
		{"valid", "", "", ""},
		{"automated decisions described", "automatedDecisions: none", "automatedDecisions: {de: Ein Segment, en: A segment}", ""},
		{"automated decisions missing", "  automatedDecisions: none\n", "", "automatedDecisions is required"},
		{"automated decisions: another word", "automatedDecisions: none", "automatedDecisions: no", `must be "none"`},
		{"automated decisions: English only", "automatedDecisions: none", "automatedDecisions: {en: A segment}", "de text is missing"},
		{"description in English only", "description: {de: D, en: D}", "description: {en: D}", "de text is missing"},
		{"description a plain string", "description: {de: D, en: D}", "description: D", "text per language"},
		{"an unknown language", "title: {de: T, en: T}", "title: {de: T, en: T, fr: T}", `"fr" is not a language`},
		{"an empty text", "title: {de: T, en: T}", `title: {de: "", en: T}`, "de text is empty"},
		{"no title", "  title: {de: T, en: T}\n", "", "title, description"},
		{"no categories", "  categories: {de: [K, L], en: [C, M]}\n", "", "categories"},
		{"categories of unequal length", "en: [C, M]", "en: [C]", "the same, non-empty list"},
		{"a label in one language", "{email: {de: E-Mail, en: e-mail}}", "{email: {de: E-Mail}}", "en text is missing"},
		{"an unknown key in a label", "{email: {de: E-Mail, en: e-mail}}", "{email: {de: E-Mail, en: e-mail, colour: red}}", `"colour" is not a language`},
		{"retention a plain string", "retention: {de: R, en: R}", "retention: R", "text per language"},
	}
	for _, tc := range tests {
		in := ok
		if tc.from != "" {
			in = strings.Replace(ok, tc.from, tc.to, 1)
			if in == ok {
				t.Fatalf("%s: %q not in the base", tc.name, tc.from)
			}
		}
		reg, err := dsr.ParseRegistry([]byte(in))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		case tc.want == "" && reg[0].Description.In(dsr.LangDE) != "D":
			t.Errorf("%s: description %v", tc.name, reg[0].Description)
		}
	}
}
