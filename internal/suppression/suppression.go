// Package suppression serves the suppression check of the integration API:
// the CRM asks, before it adds a person to a purpose table, whether an
// erasure, objection or withdrawn consent forbids it; and the CRM's
// one-click unsubscribe tokens for its mails (token.go).
package suppression

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// RouteCheck is the check's route, as API Gateway names it.
const RouteCheck = "POST /v1/suppressions/check"

// List reads the suppression list.
type List interface {
	Entries(ctx context.Context, subjectKey string) ([]dsr.Suppression, error)
}

// Handler answers suppression checks (API Gateway HTTP API, payload 2.0).
type Handler struct {
	List     List
	Hasher   *dsr.Hasher
	Registry dsr.Registry
	Log      *slog.Logger
	Clock    dsr.Clock // the tokens' issue time (nil: the system clock)
}

// Check answers whether the person in body may be (re)added to its purpose,
// and on what terms (dsr.Suppressed: per the purpose's legal basis).
func (h *Handler) Check(ctx context.Context, body []byte) (dsr.SuppressionStatus, error) {
	c, err := jsonbody.ParseSuppressionCheck(body, h.Registry)
	if err != nil {
		return dsr.SuppressionStatus{}, err
	}
	var entries []dsr.Suppression
	for _, form := range append([]string{c.Email}, dsr.EarlierForms(c.Email)...) {
		e, err := h.List.Entries(ctx, h.Hasher.Subject(form))
		if err != nil {
			return dsr.SuppressionStatus{}, err
		}
		entries = append(entries, e...)
	}
	p, _ := h.Registry.Lookup(c.Purpose) // ParseSuppressionCheck checked it
	st := dsr.SuppressedOn(entries, p, c.Channel, c.ConsentAt)
	h.Log.InfoContext(ctx, "suppression checked", "purpose", c.Purpose, "channel", c.Channel, "suppressed", st.Suppressed, "effect", st.Effect)
	return st, nil
}

// Handle serves one HTTP API event; every failure is a problem+json answer.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if req.RouteKey != RouteCheck && req.RouteKey != RouteIssueToken {
		return httpapi.Error(ctx, h.Log, dsr.Errorf(dsr.ENotFound, "no such route; see the API documentation")), nil
	}
	if _, err := httpapi.Query(req); err != nil {
		return httpapi.Error(ctx, h.Log, err), nil
	}
	body, err := httpapi.JSONBody(req)
	if err != nil {
		return httpapi.Error(ctx, h.Log, err), nil
	}
	if req.RouteKey == RouteIssueToken {
		out, err := h.IssueToken(ctx, body)
		if err != nil {
			return httpapi.Error(ctx, h.Log, err), nil
		}
		return httpapi.JSON(http.StatusOK, out), nil
	}
	st, err := h.Check(ctx, body)
	if err != nil {
		return httpapi.Error(ctx, h.Log, err), nil
	}
	return httpapi.JSON(http.StatusOK, st), nil
}
