package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestVerifySigV4(t *testing.T) {
	ctx := context.Background()
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	body := `{"email":"ada@example.com","purpose":"newsletter"}`
	signed := func(c aws.Credentials, region, service string, at time.Time, b string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3000/v1/suppressions/check", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(b))
		if err := v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name string
		req  *http.Request
		body string
		ok   bool
	}{
		{"signed by the stack's credentials", signed(creds, "us-east-1", "execute-api", now, body), body, true},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3000/v1/suppressions/check", nil)
			return r
		}(), body, false},
		{"body changed after signing", signed(creds, "us-east-1", "execute-api", now, body), strings.Replace(body, "ada", "eve", 1), false},
		{"another secret", signed(aws.Credentials{AccessKeyID: "test", SecretAccessKey: "guess"}, "us-east-1", "execute-api", now, body), body, false},
		{"another access key", signed(aws.Credentials{AccessKeyID: "AKIAOTHER", SecretAccessKey: "test"}, "us-east-1", "execute-api", now, body), body, false},
		{"another region", signed(creds, "eu-west-1", "execute-api", now, body), body, false},
		{"another service", signed(creds, "us-east-1", "s3", now, body), body, false},
		{"too old", signed(creds, "us-east-1", "execute-api", now.Add(-10*time.Minute), body), body, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verifySigV4(ctx, tc.req, []byte(tc.body), creds, "us-east-1", now)
			if (err == nil) != tc.ok {
				t.Errorf("verify = %v, want ok %v", err, tc.ok)
			}
		})
	}
	// A signed header changed after signing.
	req := signed(creds, "us-east-1", "execute-api", now, body)
	req.Header.Set("Content-Type", "text/plain")
	if err := verifySigV4(ctx, req, []byte(body), creds, "us-east-1", now); err == nil {
		t.Error("a changed signed header passed")
	}
}
