package suppression

import (
	"context"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// RouteIssueToken issues one-click unsubscribe tokens (IAM-authorized, for
// the CRM), as API Gateway names it.
const RouteIssueToken = "POST /v1/unsubscribe-tokens"

// Token is an issued one-click unsubscribe token and what the CRM puts
// into its mail's headers (RFC 8058): List-Unsubscribe is the public API's
// address followed by Path, List-Unsubscribe-Post as given.
type Token struct {
	Token               string `json:"token"`
	Path                string `json:"path"`
	ListUnsubscribePost string `json:"listUnsubscribePost"`
}

// IssueToken signs a token for the person, purpose and channel in body
// (dsr.Hasher.UnsubscribeToken): their subject key, never the address.
func (h *Handler) IssueToken(ctx context.Context, body []byte) (Token, error) {
	in, err := jsonbody.ParseUnsubscribeIssue(body, h.Registry)
	if err != nil {
		return Token{}, err
	}
	t := h.Hasher.UnsubscribeToken(dsr.Unsubscribe{SubjectKey: h.Hasher.Subject(in.Email), Purpose: in.Purpose, Channel: in.Channel, IssuedAt: h.Clock.Now()})
	h.Log.InfoContext(ctx, "unsubscribe token issued", "purpose", in.Purpose, "channel", in.Channel)
	return Token{Token: t, Path: "/v1/unsubscribe/" + t, ListUnsubscribePost: "List-Unsubscribe=One-Click"}, nil
}
