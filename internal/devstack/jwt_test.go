package devstack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

const (
	testIssuer   = "https://dpo.dsr.local/"
	testAudience = "dsr-dpo-dashboard"
)

// testStack is a stack with one JWT authorizer and no emulator behind it.
func testStack(t *testing.T) (*Stack, *jwtAuthorizer) {
	t.Helper()
	a := newAuthorizers()
	err := a.add(map[string]any{"Auth": map[string]any{
		"EnableIamAuthorizer": true,
		"Authorizers": map[string]any{"DpoAuthorizer": map[string]any{
			"IdentitySource":   "$request.header.Authorization",
			"JwtConfiguration": map[string]any{"issuer": testIssuer, "audience": []any{testAudience, "other-client"}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.generateKey(); err != nil {
		t.Fatal(err)
	}
	return &Stack{authorizers: a, opts: Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}, a.jwt["DpoAuthorizer"]
}

func TestJWTVerify(t *testing.T) {
	s, authz := testStack(t)
	now := time.Now()
	mint := func(claims map[string]any, ttl time.Duration) string {
		t.Helper()
		tok, err := s.MintToken(claims, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	dpo := map[string]any{"sub": "local-dpo", "cognito:groups": []string{"dpo", "admin"}, "auth_time": 1764417600, "email_verified": false, "scope": "dsr/read dsr/write"}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{"sub": "local-dpo"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	std := jwt.MapClaims{"sub": "local-dpo", "iss": testIssuer, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	byOtherKey, err := jwt.NewWithClaims(jwt.SigningMethodRS256, std).SignedString(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	algNone, err := jwt.NewWithClaims(jwt.SigningMethodNone, std).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(authz.key)
	if err != nil {
		t.Fatal(err)
	}
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, std).SignedString(pub)
	if err != nil {
		t.Fatal(err)
	}
	valid := mint(dpo, time.Hour)

	tests := []struct {
		name   string
		header []string
		want   map[string]string // claims checked; nil: refused
		reason string            // in the error of a refused token
	}{
		{"valid", []string{"Bearer " + valid}, map[string]string{
			"sub": "local-dpo", "cognito:groups": "[dpo admin]", "auth_time": "1764417600", "email_verified": "false",
			"iss": testIssuer, "aud": testAudience, "scope": "dsr/read dsr/write",
		}, ""},
		{"lower-case scheme", []string{"bearer " + valid}, map[string]string{"sub": "local-dpo"}, ""},
		{"audience as array", []string{"Bearer " + mint(with(map[string]any{"aud": []string{"someone-else", "other-client"}}), time.Hour)},
			map[string]string{"aud": "[someone-else other-client]"}, ""},
		{"expired within the leeway", []string{"Bearer " + mint(with(nil), -10*time.Second)}, map[string]string{"sub": "local-dpo"}, ""},
		{"missing header", nil, nil, "no Authorization header"},
		{"empty header", []string{""}, nil, "no Authorization header"},
		{"two headers", []string{"Bearer " + valid, "Bearer " + valid}, nil, "more than one"},
		{"not Bearer", []string{"Basic dGVzdDp0ZXN0"}, nil, "not a Bearer token"},
		{"token without scheme", []string{valid}, nil, "not a Bearer token"},
		{"Bearer without token", []string{"Bearer "}, nil, "not a Bearer token"},
		{"malformed", []string{"Bearer not.a-jwt"}, nil, "malformed"},
		{"two segments", []string{"Bearer abc.def"}, nil, "malformed"},
		{"signed by another key", []string{"Bearer " + byOtherKey}, nil, "not signed"},
		{"signature tampered", []string{"Bearer " + valid[:len(valid)-4] + "AAAA"}, nil, "not signed"},
		{"alg none", []string{"Bearer " + algNone}, nil, "not signed"},
		{"HS256 with the public key bytes", []string{"Bearer " + hs256}, nil, "not signed"},
		{"expired", []string{"Bearer " + mint(with(nil), -time.Minute)}, nil, "expired"},
		{"no exp", []string{"Bearer " + mint(with(map[string]any{"exp": nil}), time.Hour)}, nil, "lacks a required claim"},
		{"not yet valid", []string{"Bearer " + mint(with(map[string]any{"nbf": now.Add(time.Minute).Unix()}), time.Hour)}, nil, "not valid yet"},
		{"issued in the future", []string{"Bearer " + mint(with(map[string]any{"iat": now.Add(time.Minute).Unix()}), time.Hour)}, nil, "issued in the future"},
		{"wrong issuer", []string{"Bearer " + mint(with(map[string]any{"iss": "https://evil.example/"}), time.Hour)}, nil, "another issuer"},
		{"no issuer", []string{"Bearer " + mint(with(map[string]any{"iss": nil}), time.Hour)}, nil, "lacks a required claim"},
		{"wrong audience", []string{"Bearer " + mint(with(map[string]any{"aud": "someone-else"}), time.Hour)}, nil, "another audience"},
		{"wrong audiences as array", []string{"Bearer " + mint(with(map[string]any{"aud": []string{"a", "b"}}), time.Hour)}, nil, "another audience"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := authz.verify(tc.header, now)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("verify accepted the token: %v", claims)
				}
				if !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("reason %q, want it to contain %q", err, tc.reason)
				}
				for _, h := range tc.header {
					if _, tok, _ := strings.Cut(h, " "); len(tok) > 8 && strings.Contains(err.Error(), tok) {
						t.Errorf("reason %q echoes the token", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			got := jwtDescription(claims).JWT.Claims
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("claim %s = %q, want %q", k, got[k], want)
				}
			}
		})
	}

	scopes := func(claims map[string]any) []string {
		t.Helper()
		c, err := authz.verify([]string{"Bearer " + mint(claims, time.Hour)}, now)
		if err != nil {
			t.Fatal(err)
		}
		return jwtDescription(c).JWT.Scopes
	}
	if got := scopes(dpo); !cmp.Equal(got, []string{"dsr/read", "dsr/write"}) {
		t.Errorf("scopes %q", got)
	}
	if got := scopes(with(nil)); got != nil {
		t.Errorf("scopes without a scope claim: %q, want nil", got)
	}
}

func TestFlattenClaims(t *testing.T) {
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(`{
		"sub": "local-dpo", "email_verified": true, "admin": false,
		"exp": 1764417600, "big": 12345678901234567890, "ratio": 0.25, "sci": 1.5e3, "tiny": 1e-7, "neg": -42,
		"cognito:groups": ["dpo", "admin"], "mixed": ["a", 1, true, ["b", "c"]], "empty": [],
		"address": {"country": "DE", "zip": 10115, "street": "A & B <1>"}, "nothing": null
	}`))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sub": "local-dpo", "email_verified": "true", "admin": "false",
		"exp": "1764417600", "big": "12345678901234567890", "ratio": "0.25", "sci": "1500", "tiny": "0.0000001", "neg": "-42",
		"cognito:groups": "[dpo admin]", "mixed": "[a 1 true [b c]]", "empty": "[]",
		"address": `{"country":"DE","street":"A & B <1>","zip":10115}`,
	}
	if diff := cmp.Diff(want, flattenClaims(claims)); diff != "" {
		t.Errorf("flattenClaims (-want +got):\n%s", diff)
	}
	// Claims decoded without UseNumber.
	if got := claimString(float64(1764417600)); got != "1764417600" {
		t.Errorf("float64 claim = %q", got)
	}
}

func TestMintToken(t *testing.T) {
	s, authz := testStack(t)
	claims := map[string]any{"sub": "x", "exp": nil}
	tok, err := s.MintToken(claims, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["exp"]; !ok || len(claims) != 2 {
		t.Errorf("MintToken changed its claims: %v", claims)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	got := parsed.Claims.(jwt.MapClaims)
	if parsed.Header["alg"] != "RS256" || got["iss"] != testIssuer || got["aud"] != testAudience || got["iat"] == nil || got["exp"] != nil {
		t.Errorf("header %v, claims %v", parsed.Header, got)
	}
	if _, err := authz.verify([]string{"Bearer " + tok}, time.Now()); err == nil {
		t.Error("a token without exp passed")
	}

	if _, err := (&Stack{}).MintToken(nil, time.Hour); err == nil {
		t.Error("MintToken without a JWT authorizer did not fail")
	}
}

func TestAuthorizersFromTemplate(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{template: tpl}
	if err := s.setupAuthorizers(); err != nil {
		t.Fatal(err)
	}
	authz, err := s.authorizers.lookup("DpoAuthorizer")
	if err != nil {
		t.Fatal(err)
	}
	if authz.issuer != "https://dpo.dsr.local/" || !cmp.Equal(authz.audience, []string{"dsr-dpo-dashboard"}) {
		t.Errorf("DpoAuthorizer: issuer %q, audience %q", authz.issuer, authz.audience)
	}
	if s.DpoToken == "" {
		t.Fatal("no DpoToken")
	}
	claims, err := authz.verify([]string{"Bearer " + s.DpoToken}, time.Now().Add(DpoTokenTTL-time.Minute))
	if err != nil {
		t.Fatalf("DpoToken: %v", err)
	}
	want := map[string]string{"sub": "local-dpo", "cognito:groups": "[dpo]", "email_verified": "false"}
	for k, v := range want {
		if got := jwtDescription(claims).JWT.Claims[k]; got != v {
			t.Errorf("DpoToken claim %s = %q, want %q", k, got, v)
		}
	}
	if _, err := authz.verify([]string{"Bearer " + s.DpoToken}, time.Now().Add(DpoTokenTTL+time.Minute)); err == nil {
		t.Error("DpoToken is valid past its TTL")
	}
}

func TestAuthorizersWithout(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/template.yaml"
	src := "Transform: AWS::Serverless-2016-10-31\nResources:\n  HttpApi:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        EnableIamAuthorizer: true\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{template: tpl}
	if err := s.setupAuthorizers(); err != nil {
		t.Fatal(err)
	}
	if s.DpoToken != "" || s.authorizers.key != nil {
		t.Errorf("without a JWT authorizer: token %q, key %v", s.DpoToken, s.authorizers.key)
	}
}

func TestAuthorizerLookup(t *testing.T) {
	a := newAuthorizers()
	err := a.add(map[string]any{"Auth": map[string]any{"Authorizers": map[string]any{
		"LambdaAuth": map[string]any{"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:auth"},
		"QueryAuth": map[string]any{"IdentitySource": "$request.querystring.token",
			"JwtConfiguration": map[string]any{"issuer": testIssuer, "audience": []any{testAudience}}},
		"Jwt": map[string]any{"JwtConfiguration": map[string]any{"issuer": testIssuer, "audience": testAudience}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if j, err := a.lookup("Jwt"); err != nil || !cmp.Equal(j.audience, []string{testAudience}) {
		t.Errorf("Jwt (default identity source, audience as a string): %v, %v", j, err)
	}
	for name, want := range map[string]string{
		"LambdaAuth": "only JWT authorizers", "QueryAuth": "IdentitySource", "Missing": "nor declared",
	} {
		if _, err := a.lookup(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lookup(%s) = %v, want an error with %q", name, err, want)
		}
	}
	for _, bad := range []map[string]any{
		{"Auth": map[string]any{"DefaultAuthorizer": "Jwt"}},
		{"Auth": map[string]any{"Authorizers": map[string]any{"A": map[string]any{"JwtConfiguration": map[string]any{"audience": []any{"x"}}}}}},
		{"Auth": map[string]any{"Authorizers": map[string]any{"A": map[string]any{"JwtConfiguration": map[string]any{"issuer": testIssuer}}}}},
		{"Auth": map[string]any{"Authorizers": map[string]any{"Jwt": map[string]any{"JwtConfiguration": map[string]any{"issuer": testIssuer, "audience": "x"}}}}},
	} {
		if err := a.add(bad); err == nil {
			t.Errorf("add(%v) did not fail", bad)
		}
	}
}

// recorder is an HTTP handler that keeps the event it got.
type recorder struct {
	ev *events.APIGatewayV2HTTPRequest
}

func (r *recorder) Handle(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	r.ev = &ev
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: "{}"}, nil
}

func TestGatewayJWT(t *testing.T) {
	s, authz := testStack(t)
	h := &recorder{}
	g := &gateway{stack: s, routes: []*route{{
		method: "GET", segments: []string{"v1", "dpo", "requests"}, key: "GET /v1/dpo/requests", jwt: authz, handler: h,
		fn: samtemplate.Function{LogicalID: "DpoFunction", Timeout: time.Second},
	}}}
	do := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/dpo/requests", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		return w
	}

	expired, err := s.MintToken(map[string]any{"sub": "local-dpo"}, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w := do("Bearer " + expired)
	if w.Code != http.StatusUnauthorized || h.ev != nil {
		t.Fatalf("expired token: status %d, handler called %v", w.Code, h.ev != nil)
	}
	if ct, wa := w.Header().Get("Content-Type"), w.Header().Get("WWW-Authenticate"); ct != "application/problem+json" || wa != "Bearer" {
		t.Errorf("Content-Type %q, WWW-Authenticate %q", ct, wa)
	}
	var problem map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &problem); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "https://privacyops.example/problems/unauthorized", "title": "Unauthorized", "status": float64(401), "detail": "the token has expired"}
	if diff := cmp.Diff(want, problem); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
	if w := do(""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"detail":"no Authorization header; send Authorization: Bearer <JWT>"`) {
		t.Errorf("no token: status %d, body %s", w.Code, w.Body)
	}

	tok, err := s.MintToken(map[string]any{"sub": "local-dpo", "cognito:groups": []string{"dpo"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if w := do("Bearer " + tok); w.Code != http.StatusOK {
		t.Fatalf("valid token: status %d: %s", w.Code, w.Body)
	}
	if h.ev == nil || h.ev.RequestContext.Authorizer == nil || h.ev.RequestContext.Authorizer.JWT == nil {
		t.Fatalf("no JWT authorizer description in the event: %+v", h.ev)
	}
	if got := h.ev.RequestContext.Authorizer.JWT.Claims; got["sub"] != "local-dpo" || got["cognito:groups"] != "[dpo]" {
		t.Errorf("claims %v", got)
	}
}

// TestEveryFunctionHasABuilder: the local stack can run each function of the
// template, and knows none the template does not have.
func TestEveryFunctionHasABuilder(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := tpl.ResourcesOfType(samtemplate.FunctionType)
	got := make([]string, 0, len(builders))
	for id := range builders {
		got = append(got, id)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("builders (-template +devstack):\n%s", diff)
	}
}
