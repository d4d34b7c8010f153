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
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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
	dsr.ETooMany:        http.StatusTooManyRequests,
	dsr.EUnavailable:    http.StatusServiceUnavailable,
}

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
// and fields; any other error is logged and answered with a bare 500, or
// 503 when it is an EUnavailable error's failure (dsr.Unavailable), so
// internals never leak. A domain error behind an EUnavailable one is
// answered as itself.
func Error(ctx context.Context, log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	p := Problem{}
	de := answerable(err)
	var mt *mediaTypeError
	switch {
	case errors.As(err, &mt):
		p.Status = http.StatusUnsupportedMediaType
		p.Detail = mt.Error()
	case de != nil && de.Code != dsr.EInternal:
		p.Status = statusOf[de.Code]
		p.Detail = de.Message
		p.Errors = de.Fields
	case unavailable(err):
		log.ErrorContext(ctx, "dependency unavailable", "error", err.Error())
		p.Status = statusOf[dsr.EUnavailable]
		p.Detail = "A service this request depends on is unavailable. Please try again shortly."
	default:
		log.ErrorContext(ctx, "internal error", "error", err.Error())
		p.Status = http.StatusInternalServerError
		p.Detail = "Something went wrong on our side. Please try again later."
	}
	r := ProblemResponse(p)
	switch {
	case p.Status == http.StatusServiceUnavailable:
		r.Headers["Retry-After"] = "5"
	case p.Status == http.StatusTooManyRequests:
		r.Headers["Retry-After"] = strconv.Itoa(RetryAfterSeconds(de.RetryAfter))
	}
	return r
}

// answerable is the first domain error in err's tree that says what is
// wrong: not an EUnavailable one, which only marks its failure as passing
// and is looked through.
func answerable(err error) *dsr.Error {
	return firstDomainError(err, func(de *dsr.Error) bool { return de.Code != dsr.EUnavailable })
}

// unavailable reports whether err's tree holds an EUnavailable error.
func unavailable(err error) bool {
	return firstDomainError(err, func(de *dsr.Error) bool { return de.Code == dsr.EUnavailable }) != nil
}

// firstDomainError is the first domain error in err's tree, depth first
// as errors.As looks, that match accepts.
func firstDomainError(err error, match func(*dsr.Error) bool) *dsr.Error {
	if de, ok := err.(*dsr.Error); ok && match(de) {
		return de
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return firstDomainError(u.Unwrap(), match)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if de := firstDomainError(e, match); de != nil {
				return de
			}
		}
	}
	return nil
}

// RetryAfterSeconds is d in whole seconds for a Retry-After header: rounded
// up, and at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
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
	h := header(req, "authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// mediaTypeError is a body that is not JSON: 415.
type mediaTypeError struct{}

func (*mediaTypeError) Error() string {
	return "The body must be JSON, sent with Content-Type: application/json (charset, if given, utf-8)."
}

// JSONBody returns the body of a route that reads JSON: only a body sent as
// application/json (with no parameter but an optional charset=utf-8) is
// read, anything else is 415, so that a page on another site cannot post
// to the API as a "simple" cross-site request (text/plain, forms), which
// browsers send without asking CORS first.
func JSONBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !isJSON(header(req, "content-type")) {
		return nil, &mediaTypeError{}
	}
	return body(req)
}

func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// header returns the value of header name (lower case) of req; API Gateway
// sends header names in lower case, tests and samples sometimes do not.
func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// MaxQueryName bounds how much of an unknown query parameter's name an
// error repeats.
const MaxQueryName = 64

// Query returns req's query parameters if each is one of allowed and has a
// value; an unknown name (its first MaxQueryName characters, never its
// value) or an empty value is a 400. An empty value is refused, not read as
// absent: a parameter is either given or left out.
func Query(req events.APIGatewayV2HTTPRequest, allowed ...string) (map[string]string, error) {
	var fields []dsr.FieldError
	for k, v := range req.QueryStringParameters {
		switch {
		case !slices.Contains(allowed, k):
			if r := []rune(k); len(r) > MaxQueryName {
				k = string(r[:MaxQueryName])
			}
			fields = append(fields, dsr.FieldError{Field: k, Reason: "is not a query parameter of this route"})
		case v == "":
			fields = append(fields, dsr.FieldError{Field: k, Reason: "is empty; give a value or leave the parameter out"})
		}
	}
	if len(fields) > 0 {
		slices.SortFunc(fields, func(a, b dsr.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, dsr.Invalid("the query is invalid", fields...)
	}
	return req.QueryStringParameters, nil
}

// body returns the request body as bytes, decoding base64 when API Gateway
// encoded it.
func body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, dsr.Invalid("the request body is not valid base64")
	}
	return b, nil
}
