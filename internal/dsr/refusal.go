package dsr

import (
	"fmt"
	"strings"
)

// Refusal is the written answer to the part of an objection that names a
// purpose where Art. 21 does not apply (registry objection "none"): the
// legal basis the processing rests on, why the objection cannot stop it,
// and the person's remedies (Art. 12(4)). It holds no personal data.
type Refusal struct {
	LegalBasis string `json:"legalBasis"`
	Reason     string `json:"reason"`
	Remedies   string `json:"remedies"`
}

// Remedies is what a person may do against a refusal (Art. 12(4)).
const Remedies = "You may lodge a complaint with a supervisory authority (Art. 77 GDPR), in particular in the " +
	"Member State of your habitual residence, place of work or of the alleged infringement, and seek a judicial " +
	"remedy (Art. 79 GDPR) (Art. 12(4) GDPR)."

// Refused reports whether an objection to p is answered with a refusal:
// Art. 21 does not apply to it.
func (p Purpose) Refused() bool { return p.Objection == ActionNone }

// RefusalFor is the answer to an objection to p, where Art. 21 does not
// apply: Art. 21(1) covers processing based on Art. 6(1)(e) or (f) (a
// public task, legitimate interests) and Art. 21(2) direct marketing; p
// rests on another basis, which the answer names.
func RefusalFor(p Purpose) Refusal {
	var b strings.Builder
	fmt.Fprintf(&b, "The right to object (Art. 21 GDPR) covers processing based on a public task or legitimate "+
		"interests (Art. 6(1)(e) or (f)) and processing for direct marketing. The purpose %q rests on %s and is "+
		"not direct marketing, so an objection cannot stop it; its records are kept and used for this purpose only "+
		"(retention: %s).", p.Name, p.LegalBasis, p.Retention.In(LangEN))
	if p.Basis() == BasisConsent {
		b.WriteString(" You may withdraw your consent at any time (Art. 7(3) GDPR).")
	}
	b.WriteString(" No record was changed.")
	return Refusal{LegalBasis: p.LegalBasis, Reason: b.String(), Remedies: Remedies}
}

// RefusedDetail is the detail of the audit step that records the refused
// part of an objection to p.
func RefusedDetail(p Purpose) string {
	return fmt.Sprintf("; objection refused: Art. 21 does not apply (legal basis: %s); answered with the reasons and the right to complain (Art. 12(4))", p.LegalBasis)
}
