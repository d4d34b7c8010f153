package devstack

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// DpoTokenTTL is how long the DPO token the stack mints at start is valid.
const DpoTokenTTL = 12 * time.Hour

// jwtLeeway is how far a token's exp may be behind the gateway's clock, and
// its nbf and iat ahead of it.
const jwtLeeway = 30 * time.Second

// authorizationHeader is the only identity source served locally: the token
// in "Authorization: Bearer <JWT>".
const authorizationHeader = "$request.header.Authorization"

// jwtAuthorizer is one of the HTTP API's JWT authorizers. Locally every JWT
// authorizer trusts one issuer key: the one the stack generates at start.
type jwtAuthorizer struct {
	name     string
	issuer   string
	audience []string
	key      *rsa.PublicKey
}

// authorizers are the HTTP API's Auth.Authorizers, as the local gateway
// serves them.
type authorizers struct {
	jwt   map[string]*jwtAuthorizer // served: JWT authorizers, by name
	other map[string]string         // declared but not served locally: why, by name
	key   *rsa.PrivateKey           // signs the stack's tokens; nil without JWT authorizers
	mint  *jwtAuthorizer            // whose iss and aud MintToken fills in
}

func newAuthorizers() *authorizers {
	return &authorizers{jwt: map[string]*jwtAuthorizer{}, other: map[string]string{}}
}

// add reads the Auth of an HttpApi's resolved Properties: each of its
// Auth.Authorizers is served (a JWT authorizer reading the Authorization
// header) or recorded with why it is not, so that a route naming it fails
// with that reason. A name two HttpApis declare is an error.
func (a *authorizers) add(props map[string]any) error {
	list, err := declaredAuthorizers(props)
	if err != nil {
		return err
	}
	for name, v := range list {
		if _, dup := a.jwt[name]; dup {
			return fmt.Errorf("authorizer %s is declared by two HttpApis", name)
		}
		if _, dup := a.other[name]; dup {
			return fmt.Errorf("authorizer %s is declared by two HttpApis", name)
		}
		if err := a.addOne(name, v); err != nil {
			return err
		}
	}
	return nil
}

// declaredAuthorizers returns the Auth.Authorizers mapping of an HttpApi's
// resolved Properties; nil if it has no Auth or no Authorizers. A
// DefaultAuthorizer is refused: locally each route names its authorizer.
func declaredAuthorizers(props map[string]any) (map[string]any, error) {
	raw, ok := props["Auth"]
	if !ok || raw == nil {
		return nil, nil
	}
	auth, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("Auth is not a mapping")
	}
	if d, ok := auth["DefaultAuthorizer"]; ok && d != nil {
		return nil, errors.New("Auth.DefaultAuthorizer is not served locally; name the authorizer on each route instead")
	}
	list, ok := auth["Authorizers"].(map[string]any)
	if !ok {
		if auth["Authorizers"] != nil {
			return nil, errors.New("Auth.Authorizers is not a mapping")
		}
		return nil, nil
	}
	return list, nil
}

// addOne reads the authorizer name, declared as v: a JWT authorizer whose
// identity source is the Authorization header is served, and needs an
// issuer and an audience; any other is recorded in a.other with the reason.
func (a *authorizers) addOne(name string, v any) error {
	def, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("authorizer %s is not a mapping", name)
	}
	jc, ok := def["JwtConfiguration"].(map[string]any)
	if !ok {
		a.other[name] = "only JWT authorizers (JwtConfiguration) are served locally"
		return nil
	}
	if src, _ := def["IdentitySource"].(string); src != "" && src != authorizationHeader {
		a.other[name] = fmt.Sprintf("its IdentitySource is %q; only %s is served locally", src, authorizationHeader)
		return nil
	}
	issuer, _ := jc["issuer"].(string)
	if issuer == "" {
		return fmt.Errorf("authorizer %s: JwtConfiguration has no issuer", name)
	}
	audience := strs(jc["audience"])
	if len(audience) == 0 {
		return fmt.Errorf("authorizer %s: JwtConfiguration has no audience", name)
	}
	a.jwt[name] = &jwtAuthorizer{name: name, issuer: issuer, audience: audience}
	return nil
}

// generateKey makes the RSA key (2048 bits; RS256, as API Gateway's JWT
// authorizer accepts) that signs and verifies the stack's tokens, if the API
// has JWT authorizers, and picks the authorizer whose iss and aud MintToken
// fills in: the first by name.
func (a *authorizers) generateKey() error {
	if len(a.jwt) == 0 {
		return nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate the JWT signing key: %w", err)
	}
	a.key = key
	names := make([]string, 0, len(a.jwt))
	for name, j := range a.jwt {
		j.key = &key.PublicKey
		names = append(names, name)
	}
	sort.Strings(names)
	a.mint = a.jwt[names[0]]
	return nil
}

// lookup returns the JWT authorizer a route names, or why it cannot be served.
func (a *authorizers) lookup(name string) (*jwtAuthorizer, error) {
	if a != nil {
		if j, ok := a.jwt[name]; ok {
			return j, nil
		}
		if why, ok := a.other[name]; ok {
			return nil, fmt.Errorf("authorizer %q is not served locally: %s", name, why)
		}
	}
	return nil, fmt.Errorf("authorizer %q is neither AWS_IAM nor declared in the HttpApi's Auth.Authorizers", name)
}

// setupAuthorizers reads the HttpApis' authorizers from the template, makes
// the signing key, and mints DpoToken if there is a JWT authorizer.
func (s *Stack) setupAuthorizers() error {
	a := newAuthorizers()
	apis, err := s.httpAPIs()
	if err != nil {
		return err
	}
	for _, api := range apis {
		if err := a.add(api.props); err != nil {
			return fmt.Errorf("devstack: %s: %w", api.id, err)
		}
	}
	if err := a.generateKey(); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	s.authorizers = a
	if a.mint == nil {
		return nil
	}
	tok, err := s.MintToken(map[string]any{"sub": "local-dpo", "cognito:groups": []string{"dpo"}, "email_verified": false}, DpoTokenTTL)
	if err != nil {
		return err
	}
	s.DpoToken = tok
	return nil
}

// MintToken returns a JWT signed (RS256) with the stack's key, which the
// local gateway's JWT authorizer accepts. It fills in iss with the
// authorizer's issuer, aud with its first audience, iat with now and exp with
// now plus ttl, unless claims has them; a claim set to nil is left out, so
// tests can make tokens that are expired, wrongly addressed or lack a claim.
// claims is not changed. If the template declares several JWT authorizers,
// iss and aud are those of the first by name; if it declares none, MintToken
// fails.
func (s *Stack) MintToken(claims map[string]any, ttl time.Duration) (string, error) {
	a := s.authorizers
	if a == nil || a.mint == nil {
		return "", errors.New("devstack: mint token: the template declares no JWT authorizer")
	}
	now := time.Now()
	c := jwt.MapClaims{"iss": a.mint.issuer, "aud": a.mint.audience[0], "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("devstack: mint token: %w", err)
	}
	return tok, nil
}

// verify checks the token of a request's Authorization header values as API
// Gateway's JWT authorizer does and returns its claims. Its errors are short
// reasons fit for the caller and the log: they never contain the token.
func (j *jwtAuthorizer) verify(authorization []string, now time.Time) (jwt.MapClaims, error) {
	if len(authorization) == 0 || authorization[0] == "" {
		return nil, errors.New("no Authorization header; send Authorization: Bearer <JWT>")
	}
	if len(authorization) > 1 {
		return nil, errors.New("more than one Authorization header")
	}
	scheme, raw, _ := strings.Cut(authorization[0], " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, errors.New("the Authorization header is not a Bearer token")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(j.issuer),
		jwt.WithAudience(j.audience...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithJSONNumber(),
	)
	claims := jwt.MapClaims{}
	_, err := p.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodRS256 {
			return nil, errors.New("not RS256")
		}
		return j.key, nil
	})
	if err != nil {
		return nil, errors.New(tokenProblem(err))
	}
	return claims, nil
}

// tokenProblem says in a few words why the parser refused a token. The
// parser's own messages may quote bits of the token, so they are not used.
func tokenProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token is not signed (RS256) with the issuer's key"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token lacks a required claim (exp, iss or aud)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token is from another issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token is for another audience"
	}
	return "the token's claims are invalid"
}

// writeUnauthorized answers a request a JWT authorizer refused.
func writeUnauthorized(w http.ResponseWriter, reason string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("WWW-Authenticate", "Bearer")
	w.WriteHeader(http.StatusUnauthorized)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"https://privacyops.example/problems/unauthorized", "Unauthorized", http.StatusUnauthorized, reason})
}

// jwtDescription is the requestContext.authorizer API Gateway passes for a
// token its JWT authorizer accepted: the flattened claims, and the scopes of
// the scope claim (nil without one).
func jwtDescription(claims jwt.MapClaims) *events.APIGatewayV2HTTPRequestContextAuthorizerDescription {
	var scopes []string
	if sc, ok := claims["scope"].(string); ok {
		scopes = strings.Fields(sc)
		if len(scopes) == 0 {
			scopes = nil
		}
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: flattenClaims(claims), Scopes: scopes},
	}
}

// flattenClaims renders claims as API Gateway passes them to a function:
// strings as they are, numbers in decimal, booleans as true or false, arrays
// as [a b c] and objects as JSON. Null claims are left out.
func flattenClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		if v != nil {
			out[k] = claimString(v)
		}
	}
	return out
}

func claimString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return decimal(string(x))
	case float64:
		return decimal(fmt.Sprint(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return fmt.Sprint(x)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
}

// decimal writes a JSON number in decimal notation, without exponent.
func decimal(num string) string {
	f, _, err := big.ParseFloat(num, 10, 256, big.ToNearestEven)
	if err != nil {
		return num
	}
	return f.Text('f', -1)
}
