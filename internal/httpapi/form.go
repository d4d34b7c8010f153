package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/dsr"
)

// maxFormBytes bounds a form body (a one-click POST holds one field).
const maxFormBytes = 4096

// FormValues reads a form body: application/x-www-form-urlencoded or
// multipart/form-data (RFC 8058 allows both for the one-click POST). A
// body of another type, or one that does not parse, is a 400.
func FormValues(req events.APIGatewayV2HTTPRequest) (url.Values, error) {
	mt, params, err := mime.ParseMediaType(header(req, "content-type"))
	if err != nil || mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return nil, dsr.Invalid("the body must be a form: application/x-www-form-urlencoded or multipart/form-data")
	}
	b, err := body(req)
	if err != nil {
		return nil, err
	}
	if len(b) > maxFormBytes {
		return nil, dsr.Invalid("the form is too long")
	}
	if mt == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, dsr.Invalid("the form is not valid")
		}
		return v, nil
	}
	return multipartValues(b, params["boundary"])
}

// multipartValues reads the fields of a multipart/form-data body.
func multipartValues(b []byte, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, dsr.Invalid("the form is not valid")
	}
	v := url.Values{}
	r := multipart.NewReader(bytes.NewReader(b), boundary)
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return v, nil
		}
		if err != nil {
			return nil, dsr.Invalid("the form is not valid")
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFormBytes))
		if err != nil {
			return nil, dsr.Invalid("the form is not valid")
		}
		v.Add(part.FormName(), string(value))
	}
}
