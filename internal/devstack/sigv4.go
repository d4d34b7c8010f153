package devstack

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigV4Skew is how far a signature's time may be from the gateway's clock.
const sigV4Skew = 5 * time.Minute

// verifySigV4 checks req's AWS Signature Version 4 as API Gateway's AWS_IAM
// authorizer does, for the one principal the local stack knows: the
// credentials creds (the stack's own). It signs the same request again with
// the signed headers, time and scope the caller declared and compares the
// signatures in constant time.
func verifySigV4(ctx context.Context, req *http.Request, body []byte, creds aws.Credentials, region string, now time.Time) error {
	a, err := parseSigV4Authorization(req.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if a.accessKeyID != creds.AccessKeyID || a.region != region || a.service != "execute-api" {
		return errors.New("unknown access key, region or service")
	}
	at, err := sigV4Time(req, a.date, now)
	if err != nil {
		return err
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return errors.New("host is not signed")
	}
	again, err := signedCopy(ctx, req, body, a.signedHeaders)
	if err != nil {
		return err
	}
	payload, err := payloadHash(req, body)
	if err != nil {
		return err
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, again, payload, "execute-api", region, at); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	_, want, _ := strings.Cut(again.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return errors.New("signature does not match")
	}
	return nil
}

// sigV4Authorization is what the Authorization header of a SigV4 request
// declares: the credential scope, the signed headers and the signature.
type sigV4Authorization struct {
	accessKeyID, date, region, service string // Credential=<key>/<date>/<region>/<service>/aws4_request
	signedHeaders                      []string
	signature                          string
}

// parseSigV4Authorization parses "AWS4-HMAC-SHA256 Credential=...,
// SignedHeaders=..., Signature=...". It checks the shape only; whether the
// scope and signature are right is verifySigV4's to say.
func parseSigV4Authorization(auth string) (sigV4Authorization, error) {
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return sigV4Authorization{}, errors.New("no AWS Signature Version 4")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return sigV4Authorization{}, errors.New("malformed Authorization header")
		}
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return sigV4Authorization{}, errors.New("malformed Authorization header")
	}
	return sigV4Authorization{
		accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeaders: strings.Split(fields["SignedHeaders"], ";"),
		signature:     fields["Signature"],
	}, nil
}

// sigV4Time returns the request's X-Amz-Date, which must fall on the
// scope's date and within sigV4Skew of now, so that a captured request
// cannot be replayed later.
func sigV4Time(req *http.Request, scopeDate string, now time.Time) (time.Time, error) {
	at, err := time.Parse("20060102T150405Z", req.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != scopeDate {
		return time.Time{}, errors.New("missing or malformed X-Amz-Date")
	}
	if d := now.Sub(at); d > sigV4Skew || d < -sigV4Skew {
		return time.Time{}, errors.New("signature expired or from the future")
	}
	return at, nil
}

// signedCopy returns a copy of req that has only the headers the caller
// signed (host from req.Host, content-length from body), which verifySigV4
// signs again: the signature covers nothing else.
func signedCopy(ctx context.Context, req *http.Request, body []byte, signed []string) (*http.Request, error) {
	again, err := http.NewRequestWithContext(ctx, req.Method, "http://"+req.Host+req.URL.RequestURI(), nil)
	if err != nil {
		return nil, err
	}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = int64(len(body))
		default:
			for _, v := range req.Header.Values(h) {
				again.Header.Add(h, v)
			}
		}
	}
	return again, nil
}

// payloadHash returns the hex SHA-256 of body, which the signature covers;
// an X-Amz-Content-Sha256 header other than UNSIGNED-PAYLOAD must match it.
func payloadHash(req *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" && h != "UNSIGNED-PAYLOAD" && h != payload {
		return "", errors.New("payload hash mismatch")
	}
	return payload, nil
}
