package intake

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

// Routes of the subject API, as API Gateway names them (RouteKey).
const (
	RouteSubmit      = "POST /v1/requests"
	RouteVerify      = "POST /v1/requests/{id}/verify"
	RouteStatus      = "GET /v1/requests/{id}"
	RouteReport      = "GET /v1/requests/{id}/report"
	RouteCertificate = "GET /v1/requests/{id}/certificate"
)

// Handler adapts Service to API Gateway HTTP API (payload 2.0) events.
type Handler struct{ Service *Service }

// Handle serves one HTTP API event. It never returns an error: every failure
// is an HTTP answer with a problem+json body.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	s := h.Service
	id := req.PathParameters["id"]
	token := httpapi.BearerToken(req)
	var (
		status = http.StatusOK
		out    any
		err    error
	)
	switch req.RouteKey {
	case RouteSubmit:
		var body []byte
		if body, err = httpapi.Body(req); err == nil {
			out, err = s.Submit(ctx, body)
			status = http.StatusAccepted
		}
	case RouteVerify:
		var body []byte
		if body, err = httpapi.Body(req); err == nil {
			out, err = s.Verify(ctx, id, token, body)
		}
	case RouteStatus:
		out, err = s.Status(ctx, id, token)
	case RouteReport:
		out, err = s.ReportLink(ctx, id, token, req.QueryStringParameters["format"])
	case RouteCertificate:
		out, err = s.CertificateLink(ctx, id, token)
	default:
		err = dsr.Errorf(dsr.ENotFound, "no such route; see the API documentation")
	}
	if err != nil {
		return httpapi.Error(ctx, s.Log, err), nil
	}
	return httpapi.JSON(status, out), nil
}
