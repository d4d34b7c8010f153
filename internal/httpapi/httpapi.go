// Package httpapi turns domain results and errors into API Gateway HTTP API
// (payload 2.0) responses: JSON bodies, and RFC 9457 problem details for
// every error. It is the one place that maps domain error codes to statuses.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail,omitempty"`
	Errors []dsr.FieldError `json:"errors,omitempty"`
}

var statusOf = map[dsr.ErrorCode]int{
	dsr.EInvalid:  http.StatusBadRequest,
	dsr.ENotFound: http.StatusNotFound,
	dsr.EConflict: http.StatusConflict,
	dsr.EGone:     http.StatusGone,
	dsr.EInternal: http.StatusInternalServerError,

	dsr.EUnauthenticated: http.StatusUnauthorized,
	dsr.EForbidden:       http.StatusForbidden,

	dsr.ENotImplemented: http.StatusNotImplemented,
}

// Unavailable marks an error as a passing failure of a dependency: the client
// gets 503 and may try again.
type Unavailable struct{ Err error }

func (u *Unavailable) Error() string { return "unavailable: " + u.Err.Error() }
func (u *Unavailable) Unwrap() error { return u.Err }

// JSON answers status with v as a JSON body.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		return Error(context.Background(), slog.Default(), err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(b),
	}
}

// Error answers err as a problem+json body. Domain errors show their message
// and fields; any other error is logged and answered with a bare 500 (or 503
// when marked Unavailable), so internals never leak.
func Error(ctx context.Context, log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	p := Problem{}
	var de *dsr.Error
	var un *Unavailable
	switch {
	case errors.As(err, &de) && de.Code != dsr.EInternal:
		p.Status = statusOf[de.Code]
		p.Detail = de.Message
		p.Errors = de.Fields
	case errors.As(err, &un):
		log.ErrorContext(ctx, "dependency unavailable", "error", err.Error())
		p.Status = http.StatusServiceUnavailable
		p.Detail = "A service this request depends on is unavailable. Please try again shortly."
	default:
		log.ErrorContext(ctx, "internal error", "error", err.Error())
		p.Status = http.StatusInternalServerError
		p.Detail = "Something went wrong on our side. Please try again later."
	}
	r := ProblemResponse(p)
	if p.Status == http.StatusServiceUnavailable {
		r.Headers["Retry-After"] = "5"
	}
	return r
}

// ProblemResponse answers p, filling in its type and title from its status.
func ProblemResponse(p Problem) events.APIGatewayV2HTTPResponse {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Type == "" {
		p.Type = "https://privacyops.example/problems/" + strings.ReplaceAll(strings.ToLower(p.Title), " ", "-")
	}
	r := JSON(p.Status, p)
	r.Headers["Content-Type"] = "application/problem+json"
	return r
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header
// of req (header names are lower-case in payload 2.0), or "".
func BearerToken(req events.APIGatewayV2HTTPRequest) string {
	h := req.Headers["authorization"]
	if h == "" {
		h = req.Headers["Authorization"]
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Body returns the request body as bytes, decoding base64 when API Gateway
// encoded it.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, dsr.Invalid("the request body is not valid base64")
	}
	return b, nil
}
