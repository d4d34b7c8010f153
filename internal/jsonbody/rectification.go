package jsonbody

import "github.com/privacyops/dsr/internal/dsr"

type rectificationDecisionBody struct {
	Outcome *string `json:"outcome"`
	Reasons *string `json:"reasons"`
}

// ParseRectificationDecision reads a POST
// /v1/dpo/requests/{id}/rectification-decision body
// (dsr.ParseRectificationDecision).
func ParseRectificationDecision(body []byte) (dsr.RectificationDecision, error) {
	return parseBody(body, func(b rectificationDecisionBody) (dsr.RectificationDecision, error) {
		return dsr.ParseRectificationDecision(dsr.RectificationDecisionInput(b))
	})
}
