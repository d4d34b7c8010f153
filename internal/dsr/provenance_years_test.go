package dsr_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// registryWith is a one-purpose registry: a consent purpose deleted on
// erasure, or (duty > 0) one restricted under a duty of duty years, with
// extra lines added to its entry.
func registryWith(duty int, extra string) string {
	y := "- purpose: p\n  table: t\n  subjectIndex: i\n  identifier: email\n  subjectKeyAttribute: sk\n  title: {de: t, en: t}\n  description: {de: d, en: d}\n  categories: {de: [c], en: [c]}\n  automatedDecisions: none\n  legalBasis: l\n  retention: {de: r, en: r}\n  objection: delete\n"
	if duty > 0 {
		return y + "  erasure: restrict\n  retainedAttributes: [n]\n  retentionYears: " + strconv.Itoa(duty) + "\n" + extra
	}
	return y + "  erasure: delete\n" + extra
}

// TestProvenanceYears: a purpose's provenance lives as long as its records
// may: what the registry says, else retentionYears+1 under a statutory
// duty, else the deployment's default; a provenanceYears shorter than the
// duty's records, or out of range, is refused when the registry is read.
func TestProvenanceYears(t *testing.T) {
	for _, tc := range []struct {
		name    string
		yaml    string
		def     int
		want    int
		wantErr string
	}{
		{"no duty, no provenanceYears: the default", registryWith(0, ""), 2, 2, ""},
		{"no duty: the deployment's default", registryWith(0, ""), 3, 3, ""},
		{"no duty, the registry says 2", registryWith(0, "  provenanceYears: 2\n"), 5, 2, ""},
		{"a duty of 8 years: 9 from the event", registryWith(8, ""), 2, 9, ""},
		{"a duty of 10 years: 11", registryWith(10, ""), 2, 11, ""},
		{"a duty, the registry says longer", registryWith(8, "  provenanceYears: 12\n"), 2, 12, ""},
		{"a duty, the registry says exactly enough", registryWith(8, "  provenanceYears: 9\n"), 2, 9, ""},
		{"a duty, the registry says less than its records live", registryWith(8, "  provenanceYears: 2\n"), 2, 0, "provenanceYears must be at least 9"},
		{"zero", registryWith(0, "  provenanceYears: 0\n"), 2, 0, "provenanceYears must be 1 to 31"},
		{"negative", registryWith(0, "  provenanceYears: -1\n"), 2, 0, "provenanceYears must be 1 to 31"},
		{"too many", registryWith(0, "  provenanceYears: 32\n"), 2, 0, "provenanceYears must be 1 to 31"},
		{"not a number", registryWith(0, "  provenanceYears: two\n"), 2, 0, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := dsr.ParseRegistry([]byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := reg.ProvenanceYears("p", tc.def); got != tc.want {
				t.Errorf("years %d, want %d", got, tc.want)
			}
		})
	}
	if got := dsr.Registry(nil).ProvenanceYears("nope", 4); got != 4 {
		t.Errorf("unknown purpose: %d, want the default", got)
	}
}

// TestTemplateProvenanceYears: the demo keeps its consent purposes'
// provenance two years, customer care's three (as its records, 3 years
// after the last purchase), and billing's (8 years from the end of the
// invoice's year) nine.
func TestTemplateProvenanceYears(t *testing.T) {
	reg := templateRegistry(t)
	for purpose, want := range map[string]int{"marketing": 2, "newsletter": 2, "customer_care": 3, "billing": 9} {
		// A default other than 2 shows which purposes say so themselves.
		if got := reg.ProvenanceYears(purpose, 7); got != want {
			t.Errorf("%s: %d years, want %d", purpose, got, want)
		}
	}
}

// TestProvenanceEventAge: an event older than its purpose's years is
// refused (its entry must not be kept); a billing disclosure of 2020 is
// still within billing's nine.
func TestProvenanceEventAge(t *testing.T) {
	reg := demoRegistry(t) // billing: a 10-year duty, 11 years of provenance
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		purpose, at string
		ok          bool
	}{
		{"marketing", "2025-01-01T00:00:00Z", true},
		{"marketing", "2024-12-01T00:00:00Z", true},
		{"marketing", "2024-11-30T12:00:00Z", false}, // exactly two years: gone now
		{"marketing", "2020-03-01T00:00:00Z", false},
		{"billing", "2020-03-01T00:00:00Z", true},
		{"billing", "2015-12-01T00:00:00Z", true},
		{"billing", "2015-11-30T12:00:00Z", false}, // 11 years
	} {
		_, err := dsr.ParseProvenanceEvent(dsr.ProvenanceInput{Email: ptr("ada@example.com"), Purpose: ptr(tc.purpose),
			Event: ptr("collected"), Source: ptr("shop"), At: ptr(tc.at)}, reg, now, dsrtest.Policy(t))
		if (err == nil) != tc.ok {
			t.Errorf("%s at %s: err %v, want ok=%v", tc.purpose, tc.at, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), tc.at[:4]) {
			t.Errorf("the reason echoes the value: %v", err)
		}
	}
	ev := dsr.ProvenanceEvent{Purpose: "billing", Event: dsr.EventCollected, Source: "shop", At: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)}
	e := dsr.NewProvenanceEntry(ev, "KEY", reg.ProvenanceYears("billing", dsr.DefaultProvenanceYears))
	if want := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC); !e.ExpiresAt.Equal(want) {
		t.Errorf("billing entry of 2020 expires %v, want %v", e.ExpiresAt, want)
	}
}
