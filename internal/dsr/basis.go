package dsr

import "strings"

// LegalBasis is the ground of Art. 6(1) a purpose's processing rests on.
type LegalBasis string

// Legal bases of Art. 6(1), as the registry names them.
const (
	BasisConsent             LegalBasis = "consent"              // (a)
	BasisContract            LegalBasis = "contract"             // (b)
	BasisLegalObligation     LegalBasis = "legal_obligation"     // (c)
	BasisVitalInterests      LegalBasis = "vital_interests"      // (d)
	BasisPublicTask          LegalBasis = "public_task"          // (e)
	BasisLegitimateInterests LegalBasis = "legitimate_interests" // (f)
	// BasisUnknown: the registry's text names none of them; rules that
	// depend on the basis take the strictest reading.
	BasisUnknown LegalBasis = ""
)

// basisWords are, per basis, its enum value, the words and the point of
// Art. 6(1) the registry's text may name it by.
var basisWords = []struct {
	basis LegalBasis
	words []string
}{
	{BasisConsent, []string{"consent", "6(1)(a)"}},
	{BasisContract, []string{"contract", "6(1)(b)"}},
	{BasisLegalObligation, []string{"legal_obligation", "legal obligation", "6(1)(c)"}},
	{BasisVitalInterests, []string{"vital_interests", "vital interest", "6(1)(d)"}},
	{BasisPublicTask, []string{"public_task", "public task", "public interest", "official authority", "6(1)(e)"}},
	{BasisLegitimateInterests, []string{"legitimate_interests", "legitimate interest", "6(1)(f)"}},
}

// Basis returns the legal basis p's registry entry names: its value when
// the registry gives one of the LegalBasis values, or read from a text
// such as "consent (Art. 6(1)(a))" or "legal obligation (Art. 6(1)(c)) -
// commercial and tax law" by the first basis whose words it begins with,
// or else the first it contains; BasisUnknown if none.
func (p Purpose) Basis() LegalBasis {
	text := strings.ToLower(strings.TrimSpace(p.LegalBasis))
	for _, b := range basisWords {
		if LegalBasis(text) == b.basis {
			return b.basis
		}
	}
	for _, b := range basisWords {
		for _, w := range b.words {
			if strings.HasPrefix(text, w) {
				return b.basis
			}
		}
	}
	for _, b := range basisWords {
		for _, w := range b.words {
			if strings.Contains(text, w) {
				return b.basis
			}
		}
	}
	return BasisUnknown
}
