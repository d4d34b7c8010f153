package dsr

import (
	"fmt"
	"slices"
	"strings"
)

// Transfer bases of a recipient (Recipient.TransferBasis): why a
// disclosure to its country is lawful (Chapter V).
const (
	// TransferEEA: the recipient is inside the EEA (EU 27, Iceland,
	// Liechtenstein, Norway); no transfer to a third country.
	TransferEEA = "eea"
	// TransferAdequacy: the country (or, for the United States, the
	// recipient's certification) is covered by an adequacy decision of the
	// Commission (Art. 45).
	TransferAdequacy = "adequacy"
	// TransferSafeguard: an appropriate safeguard of Art. 46 (or binding
	// corporate rules, Art. 47), named by the recipient's safeguard.
	TransferSafeguard = "safeguard"
	// TransferDerogation: a derogation for a specific situation (Art. 49),
	// named by the recipient's safeguard.
	TransferDerogation = "derogation"
)

// isoCountries are the officially assigned ISO 3166-1 alpha-2 codes, and
// XK (Kosovo: user-assigned, used so by the EU's institutions).
const isoCountries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
	"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
	"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK"

// eeaCountries are the EU's 27 member states and Iceland, Liechtenstein
// and Norway: disclosures to them are no transfers under Chapter V.
const eeaCountries = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO"

// IsCountry reports whether code is an ISO 3166-1 alpha-2 code that is
// assigned to a country or territory, in upper case (EU, UK, XX, ZZ are
// not).
func IsCountry(code string) bool {
	return len(code) == 2 && code == strings.ToUpper(code) && strings.Contains(" "+isoCountries+" ", " "+code+" ")
}

// InEEA reports whether country is inside the EEA.
func InEEA(country string) bool {
	return len(country) == 2 && strings.Contains(" "+eeaCountries+" ", " "+country+" ")
}

// Safeguards are the values of a recipient's safeguard outside the EEA:
// what makes the transfer lawful, each with the provision it rests on. DPF
// is not a safeguard but the scope of the US adequacy decision (Decision
// (EU) 2023/1795): it counts only where the adequacy list names it (US:DPF).
var Safeguards = map[string]string{
	SafeguardDPF:                   "Art. 45: certified under the EU-U.S. Data Privacy Framework",
	"scc":                          "Art. 46(2)(c): standard data protection clauses adopted by the Commission",
	"sa_scc":                       "Art. 46(2)(d): standard data protection clauses adopted by a supervisory authority",
	"bcr":                          "Art. 46(2)(b), 47: binding corporate rules",
	"code_of_conduct":              "Art. 46(2)(e): an approved code of conduct with binding commitments",
	"certification":                "Art. 46(2)(f): an approved certification mechanism with binding commitments",
	"public_authority_instrument":  "Art. 46(2)(a): a legally binding instrument between public authorities",
	"authorised_clauses":           "Art. 46(3)(a): contractual clauses authorised by the supervisory authority",
	"administrative_arrangement":   "Art. 46(3)(b): an administrative arrangement between public authorities",
	"explicit_consent":             "Art. 49(1)(a): the person's explicit consent, informed of the risks",
	"contract_with_subject":        "Art. 49(1)(b): necessary for a contract with the person",
	"contract_in_subject_interest": "Art. 49(1)(c): necessary for a contract in the person's interest",
	"public_interest":              "Art. 49(1)(d): important reasons of public interest",
	"legal_claims":                 "Art. 49(1)(e): the establishment, exercise or defence of legal claims",
	"vital_interests":              "Art. 49(1)(f): the vital interests of the person or of others",
	"public_register":              "Art. 49(1)(g): a public register",
	"compelling_interests":         "Art. 49(1) second subparagraph: compelling legitimate interests, the authority informed",
}

// SafeguardDPF is the safeguard value of a US recipient certified under
// the EU-U.S. Data Privacy Framework.
const SafeguardDPF = "dpf"

// derogation reports whether safeguard is a derogation of Art. 49.
func derogation(safeguard string) bool { return strings.HasPrefix(Safeguards[safeguard], "Art. 49") }

// Adequacy is the adequacy list a deployment configures: the countries an
// adequacy decision of the Commission (Art. 45) covers, each with the
// safeguard value a recipient there must give where the decision covers
// only part of it ("" for the whole country).
type Adequacy map[string]string

// DefaultAdequacy is the Commission's adequacy decisions in force (December
// 2026): Andorra, Argentina, Brazil (2026/179), Canada (commercial
// organisations under PIPEDA), Switzerland, the Faroe Islands, the United
// Kingdom, Guernsey, Israel, the Isle of Man, Jersey, Japan, the Republic
// of Korea, New Zealand, Uruguay, and the United States only for
// organisations certified under the EU-U.S. Data Privacy Framework.
const DefaultAdequacy = "AD,AR,BR,CA,CH,FO,GB,GG,IL,IM,JE,JP,KR,NZ,UY,US:DPF"

// ParseAdequacy reads an adequacy list: comma-separated country codes, a
// code followed by ":DPF" where only recipients certified under the
// EU-U.S. Data Privacy Framework are covered (the United States). A code
// that is no country, an EEA country, or one named twice is an error.
func ParseAdequacy(list string) (Adequacy, error) {
	out := Adequacy{}
	if strings.TrimSpace(list) == "" {
		return out, nil
	}
	for item := range strings.SplitSeq(list, ",") {
		code, scope, scoped := strings.Cut(strings.TrimSpace(item), ":")
		switch _, twice := out[code]; {
		case !IsCountry(code):
			return nil, fmt.Errorf("adequacy list: %q is not an ISO 3166-1 alpha-2 country code in upper case", code)
		case InEEA(code):
			return nil, fmt.Errorf("adequacy list: %s is inside the EEA, which needs no adequacy decision", code)
		case twice:
			return nil, fmt.Errorf("adequacy list: %s is named twice", code)
		case scoped && scope != "DPF":
			return nil, fmt.Errorf("adequacy list: %s: the only scope is DPF (the EU-U.S. Data Privacy Framework)", code)
		case scoped:
			out[code] = SafeguardDPF
		default:
			out[code] = ""
		}
	}
	return out, nil
}

// Countries are the list's codes, in order.
func (a Adequacy) Countries() []string {
	out := make([]string, 0, len(a))
	for c := range a {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// TransferBasis is why a disclosure to a recipient in country with
// safeguard (a value of Safeguards, or "") is lawful under adequacy a: the
// EEA needs nothing (and takes no safeguard); a country adequacy covers
// whole needs none (one given is kept, e.g. the contract's clauses); one it
// covers in part (the US) needs the scope's value (dpf), or another
// safeguard; every other country a safeguard of Art. 46 or 47 or a
// derogation of Art. 49. field and reason say what is wrong otherwise,
// never quoting a value.
func TransferBasis(country, safeguard string, a Adequacy) (basis, field, reason string) {
	scope, adequate := a[country]
	switch _, known := Safeguards[safeguard]; {
	case InEEA(country) && safeguard != "":
		return "", "safeguard", "applies only to a recipient outside the EEA"
	case InEEA(country):
		return TransferEEA, "", ""
	case safeguard != "" && !known:
		return "", "safeguard", "must be one of " + strings.Join(safeguardNames(), ", ")
	case safeguard == SafeguardDPF && (!adequate || scope != SafeguardDPF):
		return "", "safeguard", "dpf applies only to a country the adequacy list names with :DPF"
	case adequate && (scope == "" || safeguard == scope):
		return TransferAdequacy, "", ""
	case safeguard == "" && adequate:
		return "", "safeguard", "is required: the adequacy decision for this country covers only recipients certified under the EU-U.S. Data Privacy Framework (dpf); otherwise name a safeguard (Art. 46) or derogation (Art. 49)"
	case safeguard == "":
		return "", "safeguard", "is required outside the EEA where no adequacy decision applies: name a safeguard (Art. 46, 47) or derogation (Art. 49)"
	case derogation(safeguard):
		return TransferDerogation, "", ""
	}
	return TransferSafeguard, "", ""
}

// safeguardNames are the values of Safeguards, sorted.
func safeguardNames() []string {
	out := make([]string, 0, len(Safeguards))
	for s := range Safeguards {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
