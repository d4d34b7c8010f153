package intake

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

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
	RoutePurposes    = "GET /v1/purposes"
	// RouteUnsubscribe is the one-click unsubscribe (RFC 8058): the
	// List-Unsubscribe address of the CRM's mails (unsubscribe.go).
	RouteUnsubscribe = "POST /v1/unsubscribe/{token}"
)

// queryParameters are the query parameters each route reads.
var queryParameters = map[string][]string{RouteReport: {"format"}}

// Handler adapts Service to API Gateway HTTP API (payload 2.0) events.
type Handler struct {
	Service *Service
	// ClientAddressHeader names the header that carries the client's
	// address when the API is only reachable through a proxy that sets it
	// (CloudFront: "cloudfront-viewer-address"); empty: the connection's
	// source address (requestContext.http.sourceIp).
	ClientAddressHeader string
}

// Handle serves one HTTP API event. It never returns an error: every failure
// is an HTTP answer with a problem+json body.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	s := h.Service
	out, status, err := h.route(ctx, req)
	if err != nil {
		return httpapi.Error(ctx, s.Log, err), nil
	}
	return httpapi.JSON(status, out), nil
}

func (h *Handler) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (any, int, error) {
	s := h.Service
	id, token := req.PathParameters["id"], httpapi.BearerToken(req)
	query, err := httpapi.Query(req, queryParameters[req.RouteKey]...)
	if err != nil {
		return nil, 0, err
	}
	switch req.RouteKey {
	case RouteSubmit, RouteVerify:
		// Every write counts against the client's bucket, valid or not.
		if err := s.AdmitClient(ctx, h.clientAddress(req)); err != nil {
			return nil, 0, err
		}
		body, err := httpapi.JSONBody(req)
		if err != nil {
			return nil, 0, err
		}
		if req.RouteKey == RouteSubmit {
			out, err := s.Submit(ctx, body, req.Headers["idempotency-key"], h.clientAddress(req), req.Headers["accept-language"])
			return out, http.StatusAccepted, err
		}
		out, err := s.Verify(ctx, id, token, body)
		return out, http.StatusOK, err
	case RouteStatus:
		out, err := s.Status(ctx, id, token)
		return out, http.StatusOK, err
	case RouteReport:
		out, err := s.ReportLink(ctx, id, token, query["format"])
		return out, http.StatusOK, err
	case RouteCertificate:
		out, err := s.CertificateLink(ctx, id, token)
		return out, http.StatusOK, err
	case RoutePurposes:
		return s.Purposes(req.Headers["accept-language"]), http.StatusOK, nil
	case RouteUnsubscribe:
		return h.unsubscribe(ctx, req)
	}
	return nil, 0, dsr.Errorf(dsr.ENotFound, "no such route; see the API documentation")
}

// clientAddress is the address the client's limit is kept for: an IPv4
// address, or the /64 network of an IPv6 address (one subscriber's usual
// allocation), from ClientAddressHeader if set and readable, else the
// connection's source.
func (h *Handler) clientAddress(req events.APIGatewayV2HTTPRequest) string {
	addr, err := netip.ParseAddr(req.RequestContext.HTTP.SourceIP)
	if h.ClientAddressHeader != "" {
		// CloudFront-Viewer-Address is "address:port", an IPv6 address
		// without brackets: the port is always cut off.
		v := strings.TrimSpace(req.Headers[strings.ToLower(h.ClientAddressHeader)])
		if i := strings.LastIndexByte(v, ':'); i > 0 {
			if a, herr := netip.ParseAddr(strings.Trim(v[:i], "[]")); herr == nil {
				addr, err = a, nil
			}
		}
	}
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}

// unsubscribe serves the one-click POST: counted against the client's
// bucket as every write, its body the RFC 8058 form.
func (h *Handler) unsubscribe(ctx context.Context, req events.APIGatewayV2HTTPRequest) (any, int, error) {
	s := h.Service
	if err := s.AdmitClient(ctx, h.clientAddress(req)); err != nil {
		return nil, 0, err
	}
	form, err := httpapi.FormValues(req)
	if err != nil {
		return nil, 0, err
	}
	out, err := s.Unsubscribe(ctx, req.PathParameters["token"], form, req.Headers["accept-language"])
	return out, http.StatusOK, err
}
