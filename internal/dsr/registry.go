package dsr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Action says what erasure or objection does to a purpose's records.
type Action string

// Actions of the registry.
const (
	ActionDelete   Action = "delete"
	ActionRestrict Action = "restrict"
	// ActionNone (objection only): the purpose cannot be objected to, as
	// its processing rests on a legal obligation, a contract or consent
	// (withdrawn, not objected to); an objection naming it is refused.
	ActionNone Action = "none"
)

// Purpose is one entry of the purpose registry: a purpose the CRM collects
// contact data for, the table that holds it and the rules that apply to it.
type Purpose struct {
	Name         string `yaml:"purpose" json:"purpose"`
	Table        string `yaml:"table" json:"table"`
	SubjectIndex string `yaml:"subjectIndex" json:"subjectIndex"`
	Identifier   string `yaml:"identifier" json:"identifier"`
	// SubjectKeyAttribute is the attribute that holds each record's subject
	// key (the pepper's HMAC of its identifier, normalized by the one
	// address rule), written on every CRM write by the keying function; the
	// subject index is keyed on it, so it never holds the address.
	SubjectKeyAttribute string `yaml:"subjectKeyAttribute" json:"subjectKeyAttribute"`
	// Title names the purpose to a person (a report's heading), and
	// Description says what it is for: each in every one of Languages.
	Title       Text `yaml:"title" json:"title"`
	Description Text `yaml:"description" json:"description"`
	// Categories are the categories of personal data the purpose
	// processes (Art. 15(1)(b)), in every one of Languages.
	Categories TextList `yaml:"categories" json:"categories"`
	// AutomatedDecisions says whether the purpose involves automated
	// decision-making, including profiling, and if so its logic and effect
	// (Art. 15(1)(h), 22): "none" or a text per language.
	AutomatedDecisions AutomatedDecisions `yaml:"automatedDecisions" json:"-"`
	// Labels name attributes of the purpose's records to a person, per
	// language: a report shows labels, never an attribute's name (one
	// without a label is shown as further stored data).
	Labels          map[string]Text `yaml:"labels" json:"labels"`
	LegalBasis      string          `yaml:"legalBasis" json:"legalBasis"`
	DirectMarketing bool            `yaml:"directMarketing" json:"directMarketing"`
	// Channels are the ways the purpose advertises (consent purposes
	// only), each with the attributes holding its consent (channels.go);
	// Frequency, where declared, the attribute holding how often.
	Channels  map[Channel]ChannelConsent `yaml:"channels,omitempty" json:"channels,omitempty"`
	Frequency *Frequency                 `yaml:"frequency,omitempty" json:"frequency,omitempty"`
	// Retention says how long records are kept, in every one of Languages.
	Retention      Text `yaml:"retention" json:"retention"`
	RetentionYears int  `yaml:"retentionYears,omitempty" json:"retentionYears,omitempty"`
	// RetentionFrom names the attribute holding each record's date (an ISO
	// date or RFC 3339 time) from whose calendar year the statutory duty
	// runs; without it, or for a record without a readable date, the latest
	// date any current record can need is used.
	RetentionFrom string `yaml:"retentionFrom,omitempty" json:"retentionFrom,omitempty"`
	// ProvenanceYears is how long the purpose's provenance entries (its
	// sources and recipients, Art. 15(1)(c), (g)) are kept from their
	// event; nil: derived (Purpose.ProvenanceYearsOr).
	ProvenanceYears *int `yaml:"provenanceYears,omitempty" json:"provenanceYears,omitempty"`
	// RetainedAttributes are the attributes a statutory restriction keeps
	// (required when erasure is restrict): every other attribute of a
	// restricted record is removed, and its identifier is replaced by its
	// subject key, so that only what the duty covers remains (Art.
	// 17(3)(b), 5(1)(c)). The table's keys, the subject key, the
	// restriction mark and RetentionFrom always stay.
	RetainedAttributes []string `yaml:"retainedAttributes,omitempty" json:"retainedAttributes,omitempty"`
	// Rectifiable are the attributes a rectification may correct in the
	// purpose's records (Art. 16); never the identifier or the subject key.
	Rectifiable []string `yaml:"rectifiable,omitempty" json:"rectifiable,omitempty"`
	Erasure     Action   `yaml:"erasure" json:"erasure"`
	Objection   Action   `yaml:"objection" json:"objection"`
	// Portable marks a purpose whose data the person may take to another
	// controller (Art. 20): only with consent or contract as its basis.
	// Provided are the attributes the person provided, which an export
	// holds; derived ones (a segment) are left out (portability.go).
	Portable bool     `yaml:"portable,omitempty" json:"portable,omitempty"`
	Provided []string `yaml:"provided,omitempty" json:"provided,omitempty"`
}

// Registry is the ordered list of purposes, as declared in template.yaml.
type Registry []Purpose

var purposeName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ParseRegistry parses and checks the registry's YAML (the PURPOSE_REGISTRY
// variable). Unknown keys, duplicates and missing fields are errors, so that a
// typo in the template fails at start, not in the middle of an erasure.
func ParseRegistry(data []byte) (Registry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var reg Registry
	if err := dec.Decode(&reg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("purpose registry: empty")
		}
		return nil, fmt.Errorf("purpose registry: %w", err)
	}
	if len(reg) == 0 {
		return nil, errors.New("purpose registry: no purposes")
	}
	seen := map[string]bool{}
	for i, p := range reg {
		where := fmt.Sprintf("purpose registry entry %d (%q)", i+1, p.Name)
		switch {
		case !purposeName.MatchString(p.Name):
			return nil, fmt.Errorf("%s: purpose must match %s", where, purposeName)
		case seen[p.Name]:
			return nil, fmt.Errorf("%s: duplicate purpose", where)
		case p.Table == "" || p.SubjectIndex == "" || p.Identifier == "" || p.SubjectKeyAttribute == "":
			return nil, fmt.Errorf("%s: table, subjectIndex, identifier and subjectKeyAttribute are required", where)
		case p.SubjectKeyAttribute == p.Identifier:
			return nil, fmt.Errorf("%s: subjectKeyAttribute must be another attribute than the identifier", where)
		case len(p.Title) == 0 || len(p.Description) == 0 || p.LegalBasis == "" || len(p.Retention) == 0:
			return nil, fmt.Errorf("%s: title, description, legalBasis and retention are required", where)
		case len(p.Categories) == 0:
			return nil, fmt.Errorf("%s: categories (of personal data, Art. 15(1)(b)) are required", where)
		case !p.AutomatedDecisions.declared():
			return nil, fmt.Errorf("%s: automatedDecisions is required: \"none\" or a text per language (Art. 15(1)(h))", where)
		case !p.Erasure.valid():
			return nil, fmt.Errorf("%s: erasure must be %q or %q", where, ActionDelete, ActionRestrict)
		case !p.Objection.valid() && p.Objection != ActionNone:
			return nil, fmt.Errorf("%s: objection must be %q, %q or %q", where, ActionDelete, ActionRestrict, ActionNone)
		case p.DirectMarketing && p.Objection == ActionNone:
			return nil, fmt.Errorf("%s: a direct-marketing purpose can always be objected to (Art. 21(2)); objection cannot be %q", where, ActionNone)
		case p.Erasure == ActionRestrict && p.RetentionYears <= 0:
			return nil, fmt.Errorf("%s: a purpose restricted on erasure needs retentionYears (its statutory duty)", where)
		case p.RetentionFrom != "" && p.Erasure != ActionRestrict:
			return nil, fmt.Errorf("%s: retentionFrom applies only to a purpose restricted on erasure", where)
		}
		for _, check := range []func() error{p.checkRetained, p.checkRectifiable, p.checkProvenanceYears, p.checkPortable, p.checkChannels} {
			if err := check(); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		seen[p.Name] = true
	}
	return reg, nil
}

// checkRetained checks RetainedAttributes: required (and only allowed) for
// a purpose restricted on erasure, each named once, none of them the
// identifier, which a restriction replaces by the subject key.
func (p Purpose) checkRetained() error {
	switch {
	case p.Erasure == ActionRestrict && len(p.RetainedAttributes) == 0:
		return errors.New("a purpose restricted on erasure needs retainedAttributes (what its statutory duty keeps)")
	case p.Erasure != ActionRestrict && len(p.RetainedAttributes) > 0:
		return errors.New("retainedAttributes applies only to a purpose restricted on erasure")
	}
	seen := map[string]bool{}
	for _, a := range p.RetainedAttributes {
		switch {
		case a == "" || len(a) > 255:
			return errors.New("retainedAttributes: an attribute name must have 1 to 255 characters")
		case seen[a]:
			return fmt.Errorf("retainedAttributes: %q is named twice", a)
		case a == p.Identifier:
			return fmt.Errorf("retainedAttributes: the identifier %q is not kept: a restriction replaces it by the subject key", a)
		}
		seen[a] = true
	}
	return nil
}

// Label is attribute attr's label in language l, and whether it has one.
func (p Purpose) Label(attr string, l Language) (string, bool) {
	t, ok := p.Labels[attr]
	if !ok {
		return "", false
	}
	return t.In(l), true
}

// MaxProvenanceYears bounds a purpose's provenanceYears: the longest
// statutory restriction (MaxRestrictionYears) and the calendar year it
// starts from.
const MaxProvenanceYears = MaxRestrictionYears + 1

// checkProvenanceYears checks ProvenanceYears, where given: 1 to
// MaxProvenanceYears, and for a purpose under a statutory duty at least the
// years its records may live after their event (retentionYears from the
// end of their calendar year: retentionYears+1), so that the provenance of
// a record never goes before the record.
func (p Purpose) checkProvenanceYears() error {
	if p.ProvenanceYears == nil {
		return nil
	}
	switch y := *p.ProvenanceYears; {
	case y < 1 || y > MaxProvenanceYears:
		return fmt.Errorf("provenanceYears must be 1 to %d", MaxProvenanceYears)
	case p.RetentionYears > 0 && y < p.RetentionYears+1:
		return fmt.Errorf("provenanceYears must be at least %d: the records of a %d-year statutory duty live that long after their event, and their provenance with them",
			p.RetentionYears+1, p.RetentionYears)
	}
	return nil
}

// ProvenanceYearsOr is how many years p's provenance entries are kept from
// their event: as long as the longest retention of any record of p. That
// is the registry's provenanceYears where it says so; for a purpose under a
// statutory duty (retentionYears, from the end of the record's calendar
// year) retentionYears+1, the most a record of the event's year can need;
// otherwise def (the deployment's ProvenanceRetentionYears, by default the
// two years of design.md).
func (p Purpose) ProvenanceYearsOr(def int) int {
	switch {
	case p.ProvenanceYears != nil:
		return *p.ProvenanceYears
	case p.RetentionYears > 0:
		return p.RetentionYears + 1
	}
	return def
}

// ProvenanceYears is ProvenanceYearsOr of the purpose named name; def for
// a name the registry does not have.
func (r Registry) ProvenanceYears(name string, def int) int {
	if p, ok := r.Lookup(name); ok {
		return p.ProvenanceYearsOr(def)
	}
	return def
}

// Retains reports whether a statutory restriction of p keeps attribute
// attr: the subject key, the identifier (which then holds the subject key),
// RetentionFrom and RetainedAttributes. The table's keys and the
// restriction mark are the store's to keep.
func (p Purpose) Retains(attr string) bool {
	return attr == p.SubjectKeyAttribute || attr == p.Identifier || (p.RetentionFrom != "" && attr == p.RetentionFrom) ||
		slices.Contains(p.RetainedAttributes, attr)
}

func (a Action) valid() bool { return a == ActionDelete || a == ActionRestrict }

// ByTable returns the purpose whose table is table.
func (r Registry) ByTable(table string) (Purpose, bool) {
	for _, p := range r {
		if p.Table == table {
			return p, true
		}
	}
	return Purpose{}, false
}

// Lookup returns the purpose named name.
func (r Registry) Lookup(name string) (Purpose, bool) {
	for _, p := range r {
		if p.Name == name {
			return p, true
		}
	}
	return Purpose{}, false
}

// Names returns the purposes' names in registry order.
func (r Registry) Names() []string {
	names := make([]string, len(r))
	for i, p := range r {
		names[i] = p.Name
	}
	return names
}

// DirectMarketing returns the names of the purposes flagged direct marketing.
func (r Registry) DirectMarketing() []string {
	var names []string
	for _, p := range r {
		if p.DirectMarketing {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names
}

// Objectable returns the names among names of purposes an objection acts
// on: those where Art. 21 applies (objection is not ActionNone), in order.
// An objection's suppression covers only these.
func (r Registry) Objectable(names []string) []string {
	var out []string
	for _, n := range names {
		if p, ok := r.Lookup(n); ok && p.Objection != ActionNone {
			out = append(out, n)
		}
	}
	return out
}
