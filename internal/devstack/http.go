package devstack

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/samtemplate"
)

// maxPayload is API Gateway's largest request body.
const maxPayload = 10 << 20

// route is one HttpApi event of the template.
type route struct {
	method   string
	segments []string // "{name}" segments are parameters
	key      string   // the RouteKey API Gateway sends
	fn       samtemplate.Function
	handler  httpHandler
}

func (r *route) match(method, path string) (map[string]string, bool) {
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
			rs = append(rs, &route{
				method: ev.Method, segments: strings.Split(strings.Trim(ev.Path, "/"), "/"),
				key: ev.Method + " " + ev.Path, fn: fn, handler: h,
			})
		}
	}
	// Literal segments win over parameters, as in API Gateway.
	sort.SliceStable(rs, func(i, j int) bool { return literalCount(rs[i]) > literalCount(rs[j]) })
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

func (s *Stack) serveHTTP() error {
	rs, err := s.routes()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("devstack: listen on %s: %w", s.opts.Addr, err)
	}
	s.listener = ln
	s.URL = "http://" + ln.Addr().String()
	s.server = &http.Server{Handler: &gateway{routes: rs, stack: s}, ReadHeaderTimeout: 10 * time.Second}
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
	routes []*route
	stack  *Stack
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}\n", msg)
}

func (g *gateway) invoke(w http.ResponseWriter, req *http.Request, rt *route, params map[string]string) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxPayload {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	id := newRequestID()
	ev := toRequestEvent(req, rt.key, params, body, id)
	ctx, cancel := functionContext(req.Context(), rt.fn, id)
	defer cancel()
	resp, err := rt.handler.Handle(ctx, ev)
	if err != nil {
		g.stack.opts.Log.Error("function error", "function", rt.fn.LogicalID, "requestId", id, "error", err.Error())
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
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
