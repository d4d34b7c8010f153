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
	auth := req.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return errors.New("no AWS Signature Version 4")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return errors.New("malformed Authorization header")
		}
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return errors.New("malformed Authorization header")
	}
	if scope[0] != creds.AccessKeyID || scope[2] != region || scope[3] != "execute-api" {
		return errors.New("unknown access key, region or service")
	}
	at, err := time.Parse("20060102T150405Z", req.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != scope[1] {
		return errors.New("missing or malformed X-Amz-Date")
	}
	if d := now.Sub(at); d > sigV4Skew || d < -sigV4Skew {
		return errors.New("signature expired or from the future")
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") {
		return errors.New("host is not signed")
	}
	again, err := http.NewRequestWithContext(ctx, req.Method, "http://"+req.Host+req.URL.RequestURI(), nil)
	if err != nil {
		return err
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
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" && h != "UNSIGNED-PAYLOAD" && h != payload {
		return errors.New("payload hash mismatch")
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, again, payload, "execute-api", region, at); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	_, want, _ := strings.Cut(again.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) != 1 {
		return errors.New("signature does not match")
	}
	return nil
}
