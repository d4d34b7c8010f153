package dsr

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Language is a language a person is answered in (Art. 12(1): clear and
// plain language): the report, the purposes' texts and the notices.
type Language string

// The languages of the answers.
const (
	LangDE Language = "de"
	LangEN Language = "en"
)

// Languages are the languages every text of the registry is given in, in
// the order the registry's YAML names them.
var Languages = []Language{LangDE, LangEN}

// ParseLanguage reads a language code as the API takes it: exactly "de" or
// "en".
func ParseLanguage(s string) (Language, bool) {
	if l := Language(s); slices.Contains(Languages, l) {
		return l, true
	}
	return "", false
}

// languageTags are Languages as BCP 47 tags, for the matcher.
var languageTags = []language.Tag{language.German, language.English}

var languageMatcher = language.NewMatcher(languageTags)

// NegotiateLanguage picks the language of an Accept-Language header
// (RFC 9110, with q-values: "en-GB,en;q=0.9,de;q=0.8"), the first of the
// person's preferences that is one of Languages, by the x/text matcher
// (de-AT is German); fallback where the header is empty, malformed or
// names none of them.
func NegotiateLanguage(acceptLanguage string, fallback Language) Language {
	if strings.TrimSpace(acceptLanguage) == "" {
		return fallback
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return fallback
	}
	_, i, conf := languageMatcher.Match(tags...)
	if conf == language.No {
		return fallback
	}
	return Languages[i]
}

// Text is a text of the registry in every one of Languages.
type Text map[Language]string

// In returns t in language l, English where l is not one of Languages.
func (t Text) In(l Language) string { return in(t, l) }

// UnmarshalYAML reads a mapping of every language to a text: a missing,
// empty or unknown language is an error.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	m, err := localized[string](n)
	if err != nil {
		return err
	}
	for l, s := range m {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("line %d: the %s text is empty", n.Line, l)
		}
	}
	*t = m
	return nil
}

// TextList is a list of texts of the registry in every one of Languages
// (the categories of data).
type TextList map[Language][]string

// In returns t in language l, English where l is not one of Languages.
func (t TextList) In(l Language) []string { return in(t, l) }

// in is m's value in language l, else its English one.
func in[T any](m map[Language]T, l Language) T {
	if v, ok := m[l]; ok {
		return v
	}
	return m[LangEN]
}

// UnmarshalYAML reads a mapping of every language to a list of texts, as
// many in each language, none of them empty.
func (t *TextList) UnmarshalYAML(n *yaml.Node) error {
	m, err := localized[[]string](n)
	if err != nil {
		return err
	}
	for l, list := range m {
		if len(list) == 0 || len(list) != len(m[Languages[0]]) {
			return fmt.Errorf("line %d: every language needs the same, non-empty list (%s has %d, %s %d)", n.Line, Languages[0], len(m[Languages[0]]), l, len(list))
		}
		if slices.ContainsFunc(list, func(s string) bool { return strings.TrimSpace(s) == "" }) {
			return fmt.Errorf("line %d: the %s list holds an empty text", n.Line, l)
		}
	}
	*t = m
	return nil
}

// localized decodes a mapping from each of Languages to a T, strictly.
func localized[T any](n *yaml.Node) (map[Language]T, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a text per language (%s)", n.Line, joinLanguages())
	}
	out := map[Language]T{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		l, ok := ParseLanguage(k)
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not a language of the answers (%s)", n.Content[i].Line, k, joinLanguages())
		}
		if _, dup := out[l]; dup {
			return nil, fmt.Errorf("line %d: %s is given twice", n.Content[i].Line, l)
		}
		var v T
		if err := n.Content[i+1].Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", l, err)
		}
		out[l] = v
	}
	for _, l := range Languages {
		if _, ok := out[l]; !ok {
			return nil, fmt.Errorf("line %d: the %s text is missing (every text is needed in %s)", n.Line, l, joinLanguages())
		}
	}
	return out, nil
}

func joinLanguages() string {
	s := make([]string, len(Languages))
	for i, l := range Languages {
		s[i] = string(l)
	}
	return strings.Join(s, ", ")
}

// AutomatedDecisions is what the registry says of automated decision-making,
// including profiling, in a purpose (Art. 15(1)(h), 22): None, or a text
// per language that describes the logic involved and its significance and
// envisaged consequences for the person.
type AutomatedDecisions struct {
	None bool
	Text Text
}

// UnmarshalYAML reads "none" or a text per language.
func (a *AutomatedDecisions) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "none" {
			return fmt.Errorf("line %d: automatedDecisions must be \"none\" or a text per language (%s)", n.Line, joinLanguages())
		}
		*a = AutomatedDecisions{None: true}
		return nil
	}
	var t Text
	if err := t.UnmarshalYAML(n); err != nil {
		return err
	}
	*a = AutomatedDecisions{Text: t}
	return nil
}

// MarshalYAML writes a as the registry declares it.
func (a AutomatedDecisions) MarshalYAML() (any, error) {
	if a.None {
		return "none", nil
	}
	return a.Text, nil
}

// declared reports whether the registry said anything: "none" or a text.
func (a AutomatedDecisions) declared() bool { return a.None || len(a.Text) > 0 }
