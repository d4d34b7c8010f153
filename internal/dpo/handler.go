package dpo

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

// Routes of the DPO API, as API Gateway names them (RouteKey).
const (
	RouteList         = "GET /v1/dpo/requests"
	RouteDetail       = "GET /v1/dpo/requests/{id}"
	RouteExtend       = "POST /v1/dpo/requests/{id}/extend"
	RouteReject       = "POST /v1/dpo/requests/{id}/reject"
	RouteRetry        = "POST /v1/dpo/requests/{id}/retry"
	RouteMetrics      = "GET /v1/dpo/metrics"
	RouteAudit        = "GET /v1/dpo/requests/{id}/audit"
	RouteDecide       = "POST /v1/dpo/requests/{id}/objection-decision"
	RouteRestrictions = "POST /v1/dpo/requests/{id}/restrictions"
	// RouteRectify confirms or refuses a rectification (rectification.go).
	RouteRectify = "POST /v1/dpo/requests/{id}/rectification-decision"
	RouteLift    = "POST /v1/dpo/requests/{id}/lift"
	// RouteRegister registers a request received by another channel.
	RouteRegister = "POST /v1/dpo/requests"
)

// queryParameters are the query parameters each route reads.
var queryParameters = map[string][]string{
	RouteList:   {"status", "type", "dueBefore", "overdue", "awaitingDecision", "cursor", "limit"},
	RouteDetail: {"auditCursor"},
}

// Handler adapts Service to API Gateway HTTP API (payload 2.0) events.
type Handler struct{ Service *Service }

// Handle serves one HTTP API event; every failure is a problem+json answer.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	s := h.Service
	out, err := h.route(ctx, req)
	if err != nil {
		return httpapi.Error(ctx, s.Log, err), nil
	}
	if req.RouteKey == RouteRegister {
		return httpapi.JSON(http.StatusAccepted, out), nil
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *Handler) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (any, error) {
	s := h.Service
	actor, err := Authorize(req)
	if err != nil {
		return nil, err
	}
	query, err := httpapi.Query(req, queryParameters[req.RouteKey]...)
	if err != nil {
		return nil, err
	}
	id := req.PathParameters["id"]
	switch req.RouteKey {
	case RouteList:
		return s.List(ctx, query)
	case RouteDetail:
		return s.Detail(ctx, id, query["auditCursor"])
	case RouteExtend, RouteReject, RouteDecide, RouteRestrictions, RouteRegister, RouteRectify, RouteLift:
		body, err := httpapi.JSONBody(req)
		if err != nil {
			return nil, err
		}
		switch req.RouteKey {
		case RouteRegister:
			return s.Register(ctx, actor, req.Headers["idempotency-key"], body)
		case RouteExtend:
			return s.Extend(ctx, actor, id, body)
		case RouteReject:
			return s.Reject(ctx, actor, id, body)
		case RouteRestrictions:
			return s.ExtendRestriction(ctx, actor, id, body)
		case RouteRectify:
			return s.DecideRectification(ctx, actor, id, body)
		case RouteLift:
			return s.Lift(ctx, actor, id, body)
		}
		return s.Decide(ctx, actor, id, body)
	case RouteRetry:
		return s.Retry(ctx, actor, id)
	case RouteMetrics:
		return s.Metrics(ctx)
	case RouteAudit:
		return s.CheckAudit(ctx, id)
	}
	return nil, dsr.Errorf(dsr.ENotFound, "no such route; see the API documentation")
}
