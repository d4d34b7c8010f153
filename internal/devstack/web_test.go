package devstack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// emulator is where the local presigned links point in these tests.
const emulator = "http://127.0.0.1:4566"

// templateSite builds the site of files with the headers of the repository's
// template.yaml, resolved as the local stack resolves them.
func templateSite(t *testing.T, files fstest.MapFS) *site {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{
		template: tpl,
		pseudo:   samtemplate.Pseudo{Region: "us-east-1", AccountID: "123456789012", StackName: "dsr-local"},
		Names:    samtemplate.Names{},
	}
	for id := range tpl.Resources {
		s.Names[id] = samtemplate.Physical{Ref: "ref-" + id, Attrs: map[string]string{
			"Arn": "arn-" + id, "RegionalDomainName": "ref-" + strings.ToLower(id) + ".s3.us-east-1.amazonaws.com",
		}}
	}
	st, err := s.newSite(files, emulator)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var pages = fstest.MapFS{
	"privacy/index.html":          {Data: []byte("<!doctype html><title>privacy</title>")},
	"privacy/privacy.js":          {Data: []byte("export {};")},
	"privacy/privacy.test.mjs":    {Data: []byte("test")},
	"privacy/.hidden":             {Data: []byte("x")},
	"console/index.html":          {Data: []byte("<!doctype html><title>console</title>")},
	"console/console.css":         {Data: []byte("body{}")},
	"shared/i18n.mjs":             {Data: []byte("export {};")},
	"shared/logo.svg":             {Data: []byte("<svg/>")},
	"shared/strings.json":         {Data: []byte("{}")},
	"embed/dsr-form.js":           {Data: []byte("export {};")},
	"embed/example.html":          {Data: []byte("<!doctype html>")},
	"secret.txt":                  {Data: []byte("not a page")},
	"shared/sub/nested.css":       {Data: []byte("p{}")},
	"console/tools/notes.test.js": {Data: []byte("x")},
}

func TestSiteServesPages(t *testing.T) {
	st := templateSite(t, pages)
	tests := []struct {
		method, path string
		status       int
		contentType  string
		location     string
		body         string
	}{
		{"GET", "/", http.StatusFound, "text/html; charset=utf-8", "/privacy/", ""},
		{"GET", "/privacy", http.StatusFound, "text/html; charset=utf-8", "/privacy/", ""},
		{"GET", "/console", http.StatusFound, "text/html; charset=utf-8", "/console/", ""},
		{"GET", "/privacy/", 200, "text/html; charset=utf-8", "", "<!doctype html><title>privacy</title>"},
		{"HEAD", "/privacy/", 200, "text/html; charset=utf-8", "", ""},
		{"GET", "/console/", 200, "text/html; charset=utf-8", "", "<!doctype html><title>console</title>"},
		{"GET", "/privacy/index.html", 200, "text/html; charset=utf-8", "", "<!doctype html><title>privacy</title>"},
		{"GET", "/privacy/privacy.js", 200, "text/javascript; charset=utf-8", "", "export {};"},
		{"GET", "/shared/i18n.mjs", 200, "text/javascript; charset=utf-8", "", "export {};"},
		{"GET", "/console/console.css", 200, "text/css; charset=utf-8", "", "body{}"},
		{"GET", "/shared/logo.svg", 200, "image/svg+xml", "", "<svg/>"},
		{"GET", "/shared/strings.json", 200, "application/json", "", "{}"},
		{"GET", "/shared/sub/nested.css", 200, "text/css; charset=utf-8", "", "p{}"},
		{"GET", "/embed/dsr-form.js", 200, "text/javascript; charset=utf-8", "", "export {};"},
		{"GET", "/embed/example.html", 200, "text/html; charset=utf-8", "", "<!doctype html>"},
		{"GET", "/config.json", 200, "application/json", "", LocalConfig + "\n"},
		// Not served: test modules, hidden files, listings, what is missing.
		{"GET", "/privacy/privacy.test.mjs", 404, "text/html; charset=utf-8", "", ""},
		{"GET", "/console/tools/notes.test.js", 404, "text/html; charset=utf-8", "", ""},
		{"GET", "/privacy/.hidden", 404, "text/html; charset=utf-8", "", ""},
		{"GET", "/shared/", 404, "text/html; charset=utf-8", "", ""},
		{"GET", "/shared/sub", 404, "text/html; charset=utf-8", "", ""},
		{"GET", "/privacy/missing.js", 404, "text/html; charset=utf-8", "", ""},
		{"POST", "/privacy/", http.StatusMethodNotAllowed, "text/html; charset=utf-8", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			if !st.serve(w, httptest.NewRequest(tc.method, tc.path, nil)) {
				t.Fatal("not served by the site")
			}
			got := []string{w.Header().Get("Content-Type"), w.Header().Get("Location")}
			if diff := cmp.Diff([]string{tc.contentType, tc.location}, got); diff != "" || w.Code != tc.status {
				t.Errorf("status %d, want %d; [Content-Type, Location] (-want +got):\n%s", w.Code, tc.status, diff)
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body %q, want %q", w.Body.String(), tc.body)
			}
			if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("answer without the security headers: %v", w.Header())
			}
		})
	}
}

func TestSiteRefusesTraversal(t *testing.T) {
	st := templateSite(t, pages)
	for _, p := range []string{
		"/privacy/../secret.txt", "/shared/%2e%2e/secret.txt", "/privacy/./index.html", "/privacy//index.html",
		"/embed/..%2fsecret.txt", `/shared/..\secret.txt`, "/privacy/%00",
	} {
		t.Run(p, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.URL.Path = mustUnescape(t, p)
			w := httptest.NewRecorder()
			if !st.serve(w, req) {
				t.Fatal("not served by the site")
			}
			if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "not a page") {
				t.Errorf("status %d, body %q; want the 404 page", w.Code, w.Body.String())
			}
		})
	}
}

func mustUnescape(t *testing.T, p string) string {
	t.Helper()
	req, err := http.NewRequest("GET", "http://x"+p, nil)
	if err != nil {
		return p // not a URL (a backslash): the path as given
	}
	return req.URL.Path
}

func TestSiteHeadersAreTheTemplates(t *testing.T) {
	st := templateSite(t, pages)
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self' https://ref-reportsbucket.s3.us-east-1.amazonaws.com " + emulator + "; font-src 'self'; " +
		"manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	want := http.Header{
		"Content-Security-Policy":    {csp},
		"Referrer-Policy":            {"no-referrer"},
		"X-Content-Type-Options":     {"nosniff"},
		"X-Frame-Options":            {"DENY"},
		"Permissions-Policy":         {"camera=(), microphone=(), geolocation=(), interest-cohort=()"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
	}
	if diff := cmp.Diff(want, st.headers); diff != "" {
		t.Errorf("page headers (-want +got):\n%s", diff)
	}
	want.Set("Access-Control-Allow-Origin", "*")
	if diff := cmp.Diff(want, st.embed); diff != "" {
		t.Errorf("/embed/ headers (-want +got):\n%s", diff)
	}
	w := httptest.NewRecorder()
	st.serve(w, httptest.NewRequest("GET", "/config.json", nil))
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("config.json Cache-Control %q, want no-store", got)
	}
}

func TestPolicyHeaders(t *testing.T) {
	props := map[string]any{"ResponseHeadersPolicyConfig": map[string]any{
		"SecurityHeadersConfig": map[string]any{
			"ContentSecurityPolicy":   map[string]any{"ContentSecurityPolicy": "default-src 'none'; connect-src 'self'", "Override": true},
			"StrictTransportSecurity": map[string]any{"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": true},
		},
	}}
	tests := []struct {
		name    string
		secure  bool
		connect string
		want    http.Header
	}{
		{"http, with the emulator", false, emulator, http.Header{"Content-Security-Policy": {"default-src 'none'; connect-src 'self' " + emulator}}},
		{"https", true, "", http.Header{
			"Content-Security-Policy":   {"default-src 'none'; connect-src 'self'"},
			"Strict-Transport-Security": {"max-age=63072000; includeSubDomains"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policyHeaders(props, tc.secure, tc.connect)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithConnectSource(t *testing.T) {
	tests := []struct{ csp, source, want string }{
		{"default-src 'none'; connect-src 'self'; base-uri 'none'", "http://e:1", "default-src 'none'; connect-src 'self' http://e:1; base-uri 'none'"},
		{"default-src 'none'", "http://e:1", "default-src 'none'; connect-src http://e:1"},
		{"connect-src 'self'", "", "connect-src 'self'"},
	}
	for _, tc := range tests {
		if got := withConnectSource(tc.csp, tc.source); got != tc.want {
			t.Errorf("withConnectSource(%q, %q) = %q, want %q", tc.csp, tc.source, got, tc.want)
		}
	}
}

// answer is an API function that answers every request with its route key.
type answer struct{}

func (answer) Handle(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if ev.RouteKey == "$default" {
		return events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{"Content-Type": "application/problem+json"},
			Body: `{"status":404}`}, nil
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: ev.RouteKey}, nil
}

func TestGatewayServesPagesBeforeTheAPI(t *testing.T) {
	fn := samtemplate.Function{LogicalID: "Api", Timeout: time.Second}
	g := &gateway{site: templateSite(t, pages), stack: &Stack{}, routes: []*route{
		{method: "GET", segments: []string{"v1", "purposes"}, key: "GET /v1/purposes", fn: fn, handler: answer{}},
		{method: "ANY", key: "$default", fn: fn, handler: answer{}},
	}}
	tests := []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/v1/purposes", 200, "", "GET /v1/purposes"},
		{"/v1/nothing-here", 404, "application/problem+json", `{"status":404}`},
		{"/v1/privacy/", 404, "application/problem+json", `{"status":404}`},
		{"/elsewhere", 404, "application/problem+json", `{"status":404}`},
		{"/privacy/", 200, "text/html; charset=utf-8", "<!doctype html><title>privacy</title>"},
		{"/config.json", 200, "application/json", LocalConfig + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
			body, _ := io.ReadAll(w.Result().Body)
			got := []any{w.Code, w.Header().Get("Content-Type"), string(body)}
			if diff := cmp.Diff([]any{tc.status, tc.contentType, tc.body}, got); diff != "" {
				t.Errorf("[status, Content-Type, body] (-want +got):\n%s", diff)
			}
			if strings.HasPrefix(tc.path, "/v1/") && w.Header().Get("Content-Security-Policy") != "" {
				t.Error("an API answer got the pages' headers")
			}
		})
	}
}
