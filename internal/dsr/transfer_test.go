package dsr_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestIsCountry(t *testing.T) {
	for code, want := range map[string]bool{
		"DE": true, "US": true, "GB": true, "IN": true, "SS": true, "BQ": true, "XK": true, "AX": true,
		"ZZ": false, "XX": false, "EU": false, "UK": false, "AA": false, "QM": false, "de": false, "De": false,
		"DEU": false, "D": false, "": false, "D ": false, " DE": false,
	} {
		if got := dsr.IsCountry(code); got != want {
			t.Errorf("IsCountry(%q) = %v, want %v", code, got, want)
		}
	}
	eea := 0
	for _, c := range strings.Fields("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO") {
		if !dsr.InEEA(c) || !dsr.IsCountry(c) {
			t.Errorf("%s: inside the EEA and a country", c)
		}
		eea++
	}
	if eea != 30 {
		t.Errorf("EEA has %d members, want 27 + 3", eea)
	}
	for _, c := range []string{"CH", "GB", "US", "EL", "UK", "EU", ""} {
		if dsr.InEEA(c) {
			t.Errorf("%q inside the EEA", c)
		}
	}
}

func TestParseAdequacy(t *testing.T) {
	def, err := dsr.ParseAdequacy(dsr.DefaultAdequacy)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY"}, def.Countries()); diff != "" {
		t.Errorf("default list (-want +got):\n%s", diff)
	}
	if def["US"] != dsr.SafeguardDPF || def["GB"] != "" {
		t.Errorf("scopes: US %q, GB %q", def["US"], def["GB"])
	}
	if a, err := dsr.ParseAdequacy(""); err != nil || len(a) != 0 {
		t.Errorf("empty list: %v, %v", a, err)
	}
	for _, bad := range []string{"ZZ", "gb", "GB,GB", "FR", "US:SCC", "GB,", " , ", "USA", "EU"} {
		if _, err := dsr.ParseAdequacy(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTransferBasis: inside the EEA nothing is needed; on the adequacy list
// nothing (the US only for recipients certified under the DPF); elsewhere a
// safeguard of Art. 46/47 or a derogation of Art. 49, of the closed list.
func TestTransferBasis(t *testing.T) {
	a, err := dsr.ParseAdequacy(dsr.DefaultAdequacy)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		country, safeguard string
		basis, field       string
	}{
		{"DE", "", dsr.TransferEEA, ""},
		{"NO", "", dsr.TransferEEA, ""},
		{"LI", "", dsr.TransferEEA, ""},
		{"DE", "scc", "", "safeguard"},
		{"GB", "", dsr.TransferAdequacy, ""},
		{"CH", "", dsr.TransferAdequacy, ""},
		{"BR", "", dsr.TransferAdequacy, ""},
		{"JP", "scc", dsr.TransferAdequacy, ""},
		{"US", dsr.SafeguardDPF, dsr.TransferAdequacy, ""},
		{"US", "", "", "safeguard"},
		{"US", "scc", dsr.TransferSafeguard, ""},
		{"US", "explicit_consent", dsr.TransferDerogation, ""},
		{"GB", dsr.SafeguardDPF, "", "safeguard"},
		{"IN", dsr.SafeguardDPF, "", "safeguard"},
		{"IN", "", "", "safeguard"},
		{"IN", "scc", dsr.TransferSafeguard, ""},
		{"IN", "bcr", dsr.TransferSafeguard, ""},
		{"CN", "certification", dsr.TransferSafeguard, ""},
		{"CN", "legal_claims", dsr.TransferDerogation, ""},
		{"AU", "compelling_interests", dsr.TransferDerogation, ""},
		{"IN", "SCC", "", "safeguard"},
		{"IN", "standard contractual clauses", "", "safeguard"},
	} {
		basis, field, reason := dsr.TransferBasis(tc.country, tc.safeguard, a)
		if basis != tc.basis || field != tc.field {
			t.Errorf("%s with %q: basis %q, field %q (%s); want %q, %q", tc.country, tc.safeguard, basis, field, reason, tc.basis, tc.field)
		}
		if field != "" && (reason == "" || (tc.safeguard != "" && strings.Contains(reason, " "+tc.safeguard+" ") && tc.safeguard != dsr.SafeguardDPF)) {
			t.Errorf("%s with %q: reason %q", tc.country, tc.safeguard, reason)
		}
	}
	// With no adequacy list, every third country needs a safeguard.
	if _, field, _ := dsr.TransferBasis("GB", "", dsr.Adequacy{}); field != "safeguard" {
		t.Error("GB without a list: accepted without a safeguard")
	}
	for s, provision := range dsr.Safeguards {
		if !strings.HasPrefix(provision, "Art. 4") {
			t.Errorf("safeguard %s: %q names no article", s, provision)
		}
	}
}
