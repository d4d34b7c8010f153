package dpo

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

// Routes of the DPO API, as API Gateway names them (RouteKey).
const (
	RouteList    = "GET /v1/dpo/requests"
	RouteDetail  = "GET /v1/dpo/requests/{id}"
	RouteExtend  = "POST /v1/dpo/requests/{id}/extend"
	RouteReject  = "POST /v1/dpo/requests/{id}/reject"
	RouteRetry   = "POST /v1/dpo/requests/{id}/retry"
	RouteMetrics = "GET /v1/dpo/metrics"
	RouteAudit   = "GET /v1/dpo/requests/{id}/audit"
	RouteDecide  = "POST /v1/dpo/requests/{id}/objection-decision"
)

// Handler adapts Service to API Gateway HTTP API (payload 2.0) events.
type Handler struct{ Service *Service }

// Handle serves one HTTP API event; every failure is a problem+json answer.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	s := h.Service
	actor, err := authorize(req)
	if err != nil {
		return httpapi.Error(ctx, s.Log, err), nil
	}
	id := req.PathParameters["id"]
	var out any
	switch req.RouteKey {
	case RouteList:
		out, err = s.List(ctx, req.QueryStringParameters)
	case RouteDetail:
		out, err = s.Detail(ctx, id)
	case RouteExtend, RouteReject, RouteDecide:
		var body []byte
		if body, err = httpapi.Body(req); err == nil {
			switch req.RouteKey {
			case RouteExtend:
				out, err = s.Extend(ctx, actor, id, body)
			case RouteReject:
				out, err = s.Reject(ctx, actor, id, body)
			default:
				out, err = s.Decide(ctx, actor, id, body)
			}
		}
	case RouteRetry:
		out, err = s.Retry(ctx, actor, id)
	case RouteMetrics:
		out, err = s.Metrics(ctx)
	case RouteAudit:
		out, err = s.CheckAudit(ctx, id)
	default:
		err = dsr.Errorf(dsr.ENotFound, "no such route; see the API documentation")
	}
	if err != nil {
		return httpapi.Error(ctx, s.Log, err), nil
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// authorize reads the claims API Gateway's JWT authorizer verified and
// returns the token's subject if its groups include "dpo". API Gateway
// refuses a missing or invalid token itself; a request that arrives without
// claims is refused here too.
func authorize(req events.APIGatewayV2HTTPRequest) (string, error) {
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil || a.JWT.Claims["sub"] == "" {
		return "", dsr.Errorf(dsr.EUnauthenticated, "a valid DPO token is required (Authorization: Bearer <JWT>)")
	}
	if !slices.Contains(Groups(a.JWT.Claims), dsr.GroupDPO) {
		return "", dsr.Errorf(dsr.EForbidden, "the token is valid but not in the group %q", dsr.GroupDPO)
	}
	return a.JWT.Claims["sub"], nil
}

// Groups returns the groups of a token's claims as API Gateway passes them:
// Cognito's "cognito:groups" or a "groups" claim, a list rendered as
// "[dpo admin]", or a JSON array, or a single name.
func Groups(claims map[string]string) []string {
	raw := claims["cognito:groups"]
	if raw == "" {
		raw = claims["groups"]
	}
	raw = strings.Trim(strings.TrimSpace(raw), "[]")
	var out []string
	for _, g := range strings.FieldsFunc(raw, func(r rune) bool { return r == ' ' || r == ',' }) {
		if g = strings.Trim(g, `"`); g != "" {
			out = append(out, g)
		}
	}
	return out
}
