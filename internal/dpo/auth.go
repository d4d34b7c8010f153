package dpo

import (
	"encoding/json"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

// groupClaims are the claims that may carry a token's groups: Cognito's,
// then the common one.
var groupClaims = []string{"cognito:groups", "groups"}

// boundClaims are the scalar claims a token must share with the claims API
// Gateway's authorizer passes, to be taken as the token it verified.
var boundClaims = []string{"sub", "iss", "exp", "iat", "nbf", "jti", "client_id", "token_use"}

// Authorize returns the token's subject if the token API Gateway's JWT
// authorizer verified is in the group "dpo". API Gateway refuses a missing
// or invalid token itself; a request that arrives without its claims is
// refused here too.
//
// API Gateway passes every claim to the function as a string, an array as
// "[a b]", so a group named "staff dpo" or "[dpo]" would read as "dpo".
// The groups are therefore read from the token itself (the header API
// Gateway verified; its signature is not checked again), once its subject,
// issuer and times are seen to be those API Gateway passed.
func Authorize(req events.APIGatewayV2HTTPRequest) (string, error) {
	unauthenticated := dsr.Errorf(dsr.EUnauthenticated, "a valid DPO token is required (Authorization: Bearer <JWT>)")
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil || a.JWT.Claims["sub"] == "" {
		return "", unauthenticated
	}
	claims, ok := tokenClaims(httpapi.BearerToken(req), a.JWT.Claims)
	if !ok {
		return "", unauthenticated
	}
	if !InGroup(claims, dsr.GroupDPO) {
		return "", dsr.Errorf(dsr.EForbidden, "the token is valid but not in the group %q", dsr.GroupDPO)
	}
	return a.JWT.Claims["sub"], nil
}

// tokenClaims returns the claims of token if they agree with the verified
// claims API Gateway passed on every claim of boundClaims either holds.
func tokenClaims(token string, verified map[string]string) (jwt.MapClaims, bool) {
	if token == "" {
		return nil, false
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser(jwt.WithJSONNumber()).ParseUnverified(token, claims); err != nil {
		return nil, false
	}
	for _, name := range boundClaims {
		want, inVerified := verified[name]
		v, inToken := claims[name]
		if !inVerified && !inToken {
			continue
		}
		if got, ok := scalar(v); !ok || !inVerified || !inToken || got != want {
			return nil, false
		}
	}
	return claims, true
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// InGroup reports whether a token's claims put it in group: as an exact
// element of a JSON array of strings in "cognito:groups" or "groups", or,
// where that claim is a single string, as that whole string. Nothing else
// counts: no substring, no list inside a string, no case folding.
func InGroup(claims map[string]any, group string) bool {
	for _, name := range groupClaims {
		switch v := claims[name].(type) {
		case []any:
			if slices.ContainsFunc(v, func(e any) bool { s, ok := e.(string); return ok && s == group }) {
				return true
			}
		case string:
			if v == group {
				return true
			}
		}
	}
	return false
}
