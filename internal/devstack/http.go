package devstack

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// maxPayload is API Gateway's largest request body.
const maxPayload = 10 << 20

// route is one HttpApi event of the template.
type route struct {
	method   string
	segments []string       // "{name}" segments are parameters
	key      string         // the RouteKey API Gateway sends
	iam      bool           // Auth.Authorizer AWS_IAM: callers sign with SigV4
	jwt      *jwtAuthorizer // a JWT authorizer: callers send a Bearer token
	fn       samtemplate.Function
	handler  httpHandler
}

func (r *route) match(method, path string) (map[string]string, bool) {
	if r.key == "$default" {
		return nil, true
	}
	if r.method != "ANY" && r.method != method {
		return nil, false
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) != len(r.segments) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range r.segments {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if parts[i] == "" {
				return nil, false
			}
			params[strings.Trim(seg, "{}")] = parts[i]
		} else if seg != parts[i] {
			return nil, false
		}
	}
	return params, true
}

func (s *Stack) routes() ([]*route, error) {
	var rs []*route
	for _, fn := range s.Functions {
		for _, ev := range fn.Events {
			if ev.Type != samtemplate.EventHttpAPI {
				continue
			}
			h, ok := s.handlers[fn.LogicalID].(httpHandler)
			if !ok {
				return nil, fmt.Errorf("devstack: %s has an HttpApi event but no HTTP handler", fn.LogicalID)
			}
			rt := &route{
				method: ev.Method, segments: strings.Split(strings.Trim(ev.Path, "/"), "/"),
				key: ev.Method + " " + ev.Path, fn: fn, handler: h,
			}
			switch ev.Authorizer {
			case "", "NONE":
			case "AWS_IAM":
				rt.iam = true
			default:
				j, err := s.authorizers.lookup(ev.Authorizer)
				if err != nil {
					return nil, fmt.Errorf("devstack: %s: route %s: %w", fn.LogicalID, rt.key, err)
				}
				rt.jwt = j
			}
			if ev.Path == "" && ev.Method == "" {
				// The $default route catches what no other route matches.
				rt.key, rt.method, rt.segments = "$default", "ANY", nil
			}
			rs = append(rs, rt)
		}
	}
	// Literal segments win over parameters, as in API Gateway, and the
	// $default route comes last.
	sort.SliceStable(rs, func(i, j int) bool {
		if (rs[i].key == "$default") != (rs[j].key == "$default") {
			return rs[j].key == "$default"
		}
		return literalCount(rs[i]) > literalCount(rs[j])
	})
	return rs, nil
}

func literalCount(r *route) int {
	n := 0
	for _, s := range r.segments {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// listen opens the API's listener and sets the stack's URL, before the
// handlers are built: the notices link to its status page.
func (s *Stack) listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("devstack: listen on %s: %w", s.opts.Addr, err)
	}
	s.listener = ln
	s.URL = "http://" + ln.Addr().String()
	return nil
}

func (s *Stack) serveHTTP() error {
	ln := s.listener
	rs, err := s.routes()
	if err != nil {
		ln.Close()
		return err
	}
	limiter, c, err := s.apiSettings()
	if err != nil {
		ln.Close()
		return err
	}
	st, err := s.openSite()
	if err != nil {
		ln.Close()
		return err
	}
	s.server = &http.Server{Handler: &gateway{routes: rs, stack: s, limiter: limiter, cors: c, site: st}, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.report(fmt.Errorf("devstack: serve: %w", err))
		}
	}()
	return nil
}

// gateway plays API Gateway's HTTP API: it turns requests into payload 2.0
// events and the handlers' answers back into responses.
type gateway struct {
	routes  []*route
	stack   *Stack
	limiter *tokenBucket
	cors    *cors
	site    *site // the pages; nil without Options.WebDir
}

// tokenBucket is API Gateway's throttle: rate tokens a second, at most burst.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func (b *tokenBucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// FirePath is the local stack's own route (not the API's) that runs a
// scheduled function now: POST FirePath + logical id, e.g.
// /_local/schedules/RetentionFunction. It answers the function's answer.
const FirePath = "/_local/schedules/"

// InvokePath is the local stack's own route (not the API's) that invokes a
// function that takes any event (the backfill, the retention job) with the
// request's body as its event: POST InvokePath + logical id, e.g.
// /_local/invoke/BackfillFunction with {"purpose":"*"}. It answers the
// function's answer; deployed, `aws lambda invoke` does the same.
const InvokePath = "/_local/invoke/"

func (g *gateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if id, ok := strings.CutPrefix(req.URL.Path, FirePath); ok {
		g.fire(w, req, id)
		return
	}
	if id, ok := strings.CutPrefix(req.URL.Path, InvokePath); ok {
		g.invokeLocal(w, req, id)
		return
	}
	// The pages first, as the distribution routes only /v1/* to the API:
	// the $default route would answer them with its 404 problem.
	if g.site != nil && g.site.serve(w, req) {
		return
	}
	if g.cors != nil && g.cors.apply(w, req) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if g.limiter != nil && !g.limiter.allow(time.Now()) {
		// API Gateway throttles with a 429; docs/api.md wants a problem body and
		// Retry-After.
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"type":"https://privacyops.example/problems/too-many-requests","title":"Too Many Requests","status":429,"detail":"Too many requests; try again in a second."}`)
		return
	}
	for _, rt := range g.routes {
		params, ok := rt.match(req.Method, req.URL.Path)
		if !ok {
			continue
		}
		g.invoke(w, req, rt, params)
		return
	}
	writeMessage(w, http.StatusNotFound, "Not Found")
}

// fire runs scheduled function id now, for a person trying the stack (a
// browser cannot: POST only, and no CORS headers).
func (g *gateway) fire(w http.ResponseWriter, req *http.Request, id string) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, "POST runs the scheduled function")
		return
	}
	out, err := g.stack.Fire(req.Context(), id, time.Now())
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, errNoSuchFunction) {
			status = http.StatusNotFound
		}
		writeMessage(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(out, '\n'))
}

// invokeLocal invokes function id with the request's body (InvokePath).
func (g *gateway) invokeLocal(w http.ResponseWriter, req *http.Request, id string) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, "POST invokes the function with the body as its event")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	out, err := g.stack.Invoke(req.Context(), id, body)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, errNoSuchFunction) {
			status = http.StatusNotFound
		}
		writeMessage(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(out, '\n'))
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}\n", msg)
}

// invoke serves a request to route rt as API Gateway does: the route's JWT
// authorizer first, then the body (at most maxPayload), then the AWS_IAM
// authorizer, which signs the body too; then the function, whose answer
// becomes the response. Refusals and failures are answered here.
func (g *gateway) invoke(w http.ResponseWriter, req *http.Request, rt *route, params map[string]string) {
	authz, ok := g.authorizeJWT(w, req, rt)
	if !ok {
		return
	}
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	if rt.iam && !g.authorizeIAM(w, req, rt, body) {
		return
	}
	id := newRequestID()
	ev := toRequestEvent(req, rt.key, params, body, id)
	ev.RequestContext.Authorizer = authz
	ctx, cancel := functionContext(req.Context(), rt.fn, id)
	defer cancel()
	resp, err := rt.handler.Handle(ctx, ev)
	if err != nil {
		g.stack.opts.Log.Error("function error", "function", rt.fn.LogicalID, "requestId", id, "error", err.Error())
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResponse(w, resp, id)
}

// authorizeJWT checks the request's token if rt has a JWT authorizer and
// returns the requestContext.authorizer the function gets (nil without
// one). A refused token is logged and answered 401, and ok is false.
func (g *gateway) authorizeJWT(w http.ResponseWriter, req *http.Request, rt *route) (
	authz *events.APIGatewayV2HTTPRequestContextAuthorizerDescription, ok bool,
) {
	if rt.jwt == nil {
		return nil, true
	}
	claims, err := rt.jwt.verify(req.Header.Values("Authorization"), time.Now())
	if err != nil {
		g.stack.opts.Log.Warn("JWT authorization refused", "route", rt.key, "authorizer", rt.jwt.name, "reason", err.Error())
		writeUnauthorized(w, err.Error())
		return nil, false
	}
	return jwtDescription(claims), true
}

// readBody reads the request's body, which API Gateway limits to
// maxPayload; a body it cannot read is answered 400, one that is too large
// 413, and ok is false.
func readBody(w http.ResponseWriter, req *http.Request) (body []byte, ok bool) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return nil, false
	}
	if len(body) > maxPayload {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return nil, false
	}
	return body, true
}

// authorizeIAM checks the SigV4 signature of a request to an AWS_IAM route;
// a refused request is logged and answered 403 with a problem body, and it
// returns false.
func (g *gateway) authorizeIAM(w http.ResponseWriter, req *http.Request, rt *route, body []byte) bool {
	err := g.authorize(req, body)
	if err == nil {
		return true
	}
	g.stack.opts.Log.Warn("IAM authorization refused", "route", rt.key, "reason", err.Error())
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprint(w, `{"type":"https://privacyops.example/problems/forbidden","title":"Forbidden","status":403,"detail":"This route needs a request signed with AWS Signature Version 4 by an authorized principal."}`)
	return false
}

// writeResponse turns a function's payload 2.0 answer into the response API
// Gateway sends: its headers, cookies and the request id, then its status
// (200 if unset) and its body, decoded if base64; a body that does not decode
// is answered 500.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse, id string) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.Header().Set("Apigw-Requestid", id)
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// authorize checks the SigV4 signature of a request to an AWS_IAM route
// against the stack's own credentials.
func (g *gateway) authorize(req *http.Request, body []byte) error {
	cfg := g.stack.opts.AWS
	if cfg.Credentials == nil {
		return errors.New("the local stack has no credentials")
	}
	creds, err := cfg.Credentials.Retrieve(req.Context())
	if err != nil {
		return err
	}
	return verifySigV4(req.Context(), req, body, creds, cfg.Region, time.Now().UTC())
}

// toRequestEvent builds the payload 2.0 event API Gateway would send.
func toRequestEvent(req *http.Request, routeKey string, params map[string]string, body []byte, id string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, vs := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	var cookies []string
	if c := headers["cookie"]; c != "" {
		cookies = strings.Split(c, "; ")
		delete(headers, "cookie")
	}
	var query map[string]string
	if q := req.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	host, _, _ := net.SplitHostPort(req.RemoteAddr)
	now := time.Now().UTC()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: req.URL.Path, RawQueryString: req.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, AccountID: "local", Stage: "$default", RequestID: id, APIID: "local",
			DomainName: req.Host, DomainPrefix: strings.Split(req.Host, ".")[0],
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: req.Method, Path: req.URL.Path, Protocol: req.Proto, SourceIP: host, UserAgent: req.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// apiSettings reads the HTTP API's DefaultRouteSettings throttling and its
// CorsConfiguration from the template; nil where it declares none.
func (s *Stack) apiSettings() (*tokenBucket, *cors, error) {
	var (
		limiter *tokenBucket
		c       *cors
	)
	apis, err := s.httpAPIs()
	if err != nil {
		return nil, nil, err
	}
	for _, api := range apis {
		m := api.props
		settings, _ := m["DefaultRouteSettings"].(map[string]any)
		rate, burst := number(settings["ThrottlingRateLimit"]), number(settings["ThrottlingBurstLimit"])
		if rate > 0 && burst > 0 {
			limiter = &tokenBucket{rate: rate, burst: burst, tokens: burst}
		}
		if cc, ok := m["CorsConfiguration"].(map[string]any); ok {
			c = &cors{
				origins: strs(cc["AllowOrigins"]), methods: strs(cc["AllowMethods"]), headers: strs(cc["AllowHeaders"]),
				expose: strs(cc["ExposeHeaders"]), maxAge: int(number(cc["MaxAge"])),
			}
		}
	}
	return limiter, c, nil
}

// httpAPI is one of the template's HTTP APIs, its properties resolved.
type httpAPI struct {
	id    string
	props map[string]any
}

// servedAPIProperties are the HTTP API properties the local gateway follows;
// the others (access logs, for one) are the deployed stack's.
var servedAPIProperties = []string{"Auth", "CorsConfiguration", "DefaultRouteSettings"}

// httpAPIs returns the template's HTTP APIs in template order, with the
// properties the gateway follows resolved (those without properties, and
// those whose condition is false, are left out).
func (s *Stack) httpAPIs() ([]httpAPI, error) {
	var out []httpAPI
	r := &samtemplate.Resolver{Template: s.template, Names: s.Names, Pseudo: s.pseudo}
	for _, id := range s.template.ResourcesOfType("AWS::Serverless::HttpApi") {
		props := s.template.Resources[id].Properties
		if enabled, err := r.ResourceEnabled(id); err != nil || !enabled || props == nil {
			if err != nil {
				return nil, fmt.Errorf("devstack: %s: %w", id, err)
			}
			continue
		}
		m := map[string]any{}
		for i := 0; i+1 < len(props.Content); i += 2 {
			key := props.Content[i].Value
			if !slices.Contains(servedAPIProperties, key) {
				continue
			}
			v, err := r.Resolve(props.Content[i+1])
			if err != nil {
				return nil, fmt.Errorf("devstack: %s.%s: %w", id, key, err)
			}
			m[key] = v
		}
		out = append(out, httpAPI{id: id, props: m})
	}
	return out, nil
}

func number(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// strs reads a list of strings, or a comma-delimited list (a resolved
// CommaDelimitedList parameter).
func strs(v any) []string {
	var out []string
	switch l := v.(type) {
	case string:
		for _, s := range strings.Split(l, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range l {
			out = append(out, strs(e)...)
		}
	}
	return out
}

// cors is an HTTP API's CorsConfiguration, applied as API Gateway applies it:
// it answers preflight requests itself and adds the headers to the answers
// of allowed origins.
type cors struct {
	origins, methods, headers, expose []string
	maxAge                            int
}

func (c *cors) allowed(origin string) bool {
	for _, o := range c.origins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// apply sets the CORS headers of an answer to req; it reports whether req
// was a preflight, which is then answered.
func (c *cors) apply(w http.ResponseWriter, req *http.Request) (preflight bool) {
	origin := req.Header.Get("Origin")
	preflight = req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != ""
	if origin == "" || !c.allowed(origin) {
		return preflight
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if preflight {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.methods, ","))
		h.Set("Access-Control-Allow-Headers", strings.Join(c.headers, ","))
		if c.maxAge > 0 {
			h.Set("Access-Control-Max-Age", fmt.Sprint(c.maxAge))
		}
	} else if len(c.expose) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.expose, ","))
	}
	return preflight
}
