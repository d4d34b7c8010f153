package dsr

// RightCode names a right of the data subject (Chapter III GDPR), stably:
// clients read the code, people read the Right's text.
type RightCode string

// The rights a report names, in the order it names them.
const (
	RightAccess          RightCode = "access"           // Art. 15
	RightRectification   RightCode = "rectification"    // Art. 16
	RightErasure         RightCode = "erasure"          // Art. 17
	RightRestriction     RightCode = "restriction"      // Art. 18
	RightPortability     RightCode = "portability"      // Art. 20
	RightObjection       RightCode = "objection"        // Art. 21
	RightWithdrawConsent RightCode = "withdraw_consent" // Art. 7(3)
	RightComplaint       RightCode = "complaint"        // Art. 77
)

// Right is one right that applies to a purpose, with the article it rests
// on and what it lets the person do, in the report's language.
type Right struct {
	Code    RightCode `json:"code"`
	Article string    `json:"article"`
	Text    string    `json:"text"`
}

// RightsOf are the codes and articles of the rights that apply to p, derived
// from its legal basis and the registry: access, rectification, erasure,
// restriction and complaint always; portability where the processing rests
// on consent or a contract (Art. 20(1)(a)); objection where Art. 21 applies
// (the registry's objection is not "none"), absolute for direct marketing
// (Art. 21(2), (3)); withdrawal for consent (Art. 7(3)).
func (p Purpose) RightsOf() []Right {
	basis := p.Basis()
	rights := []Right{
		{Code: RightAccess, Article: "Art. 15"},
		{Code: RightRectification, Article: "Art. 16"},
		{Code: RightErasure, Article: "Art. 17"},
		{Code: RightRestriction, Article: "Art. 18"},
	}
	if basis == BasisConsent || basis == BasisContract {
		rights = append(rights, Right{Code: RightPortability, Article: "Art. 20"})
	}
	switch {
	case p.Objection != ActionNone && p.DirectMarketing:
		rights = append(rights, Right{Code: RightObjection, Article: "Art. 21(2), (3)"})
	case p.Objection != ActionNone:
		rights = append(rights, Right{Code: RightObjection, Article: "Art. 21(1)"})
	}
	if basis == BasisConsent {
		rights = append(rights, Right{Code: RightWithdrawConsent, Article: "Art. 7(3)"})
	}
	return append(rights, Right{Code: RightComplaint, Article: "Art. 77"})
}

// Rights are RightsOf(p) with their texts in language l.
func (p Purpose) Rights(l Language) []Right {
	rights := p.RightsOf()
	for i, r := range rights {
		key := string(r.Code)
		if r.Code == RightObjection && p.DirectMarketing {
			key = "objection_direct_marketing"
		}
		rights[i].Text = rightTexts[key].In(l)
	}
	return rights
}

// RightName is the short name of right c in language l (a report's
// summary of the rights).
func RightName(c RightCode, l Language) string { return rightNames[c].In(l) }

var rightNames = map[RightCode]Text{
	RightAccess:          {LangDE: "Auskunft", LangEN: "access"},
	RightRectification:   {LangDE: "Berichtigung", LangEN: "rectification"},
	RightErasure:         {LangDE: "Löschung", LangEN: "erasure"},
	RightRestriction:     {LangDE: "Einschränkung der Verarbeitung", LangEN: "restriction"},
	RightPortability:     {LangDE: "Datenübertragbarkeit", LangEN: "data portability"},
	RightObjection:       {LangDE: "Widerspruch", LangEN: "objection"},
	RightWithdrawConsent: {LangDE: "Widerruf der Einwilligung", LangEN: "withdrawal of consent"},
	RightComplaint:       {LangDE: "Beschwerde bei einer Aufsichtsbehörde", LangEN: "complaint to a supervisory authority"},
}

var rightTexts = map[string]Text{
	"access": {
		LangDE: "Auskunft: Sie können eine Kopie Ihrer personenbezogenen Daten und Auskunft über ihre Verarbeitung verlangen.",
		LangEN: "Access: you may ask for a copy of your personal data and for information about how it is processed.",
	},
	"rectification": {
		LangDE: "Berichtigung: Sie können verlangen, dass unrichtige Daten berichtigt und unvollständige vervollständigt werden.",
		LangEN: "Rectification: you may have inaccurate data corrected and incomplete data completed.",
	},
	"erasure": {
		LangDE: "Löschung: Sie können die Löschung Ihrer Daten verlangen, etwa wenn sie nicht mehr nötig sind, Sie Ihre Einwilligung widerrufen oder widersprochen haben oder sie unrechtmäßig verarbeitet wurden. Daten, die wir wegen einer gesetzlichen Pflicht aufbewahren müssen, werden stattdessen bis zu deren Ende gesperrt.",
		LangEN: "Erasure: you may have your data erased, for example where it is no longer needed, you withdrew your consent or objected, or it was processed unlawfully. Data a legal duty obliges us to keep is restricted instead until that duty ends.",
	},
	"restriction": {
		LangDE: "Einschränkung der Verarbeitung: Sie können verlangen, dass Ihre Daten nur noch gespeichert und nicht weiter verwendet werden, etwa solange ihre Richtigkeit geprüft wird.",
		LangEN: "Restriction: you may have your data only stored and not otherwise used, for example while its accuracy is checked.",
	},
	"portability": {
		LangDE: "Datenübertragbarkeit: Sie können die Daten, die Sie uns bereitgestellt haben, in einem strukturierten, gängigen und maschinenlesbaren Format erhalten und an einen anderen Verantwortlichen übermitteln lassen.",
		LangEN: "Data portability: you may receive the data you provided to us in a structured, commonly used and machine-readable format, and have it sent to another controller.",
	},
	"objection": {
		LangDE: "Widerspruch: Sie können aus Gründen, die sich aus Ihrer besonderen Situation ergeben, jederzeit widersprechen. Wir verarbeiten die Daten dann nicht mehr, es sei denn, wir weisen zwingende schutzwürdige Gründe nach, die Ihre Interessen, Rechte und Freiheiten überwiegen, oder die Verarbeitung dient Rechtsansprüchen.",
		LangEN: "Objection: you may object at any time on grounds relating to your particular situation. We then stop, unless we demonstrate compelling legitimate grounds that override your interests, rights and freedoms, or the processing serves legal claims.",
	},
	"objection_direct_marketing": {
		LangDE: "Widerspruch gegen Direktwerbung: Sie können der Verwendung Ihrer Daten für Direktwerbung, einschließlich eines damit verbundenen Profilings, jederzeit ohne Angabe von Gründen widersprechen; wir verwenden sie dann nicht mehr dafür.",
		LangEN: "Objection to direct marketing: you may object at any time, without giving reasons, to the use of your data for direct marketing, including profiling related to it; we then no longer use it for that.",
	},
	"withdraw_consent": {
		LangDE: "Widerruf der Einwilligung: Sie können Ihre Einwilligung jederzeit mit Wirkung für die Zukunft widerrufen; die bis dahin erfolgte Verarbeitung bleibt rechtmäßig.",
		LangEN: "Withdrawal of consent: you may withdraw your consent at any time, with effect for the future; the processing until then remains lawful.",
	},
	"complaint": {
		LangDE: "Beschwerde: Sie können sich bei einer Aufsichtsbehörde beschweren, insbesondere in dem Mitgliedstaat Ihres Aufenthaltsorts, Ihres Arbeitsplatzes oder des mutmaßlichen Verstoßes. Die für uns zuständige Behörde ist in diesem Bericht genannt.",
		LangEN: "Complaint: you may lodge a complaint with a supervisory authority, in particular in the Member State of your habitual residence, place of work or of the alleged infringement. The authority competent for us is named in this report.",
	},
}
