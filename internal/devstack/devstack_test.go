package devstack

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration
		ok   bool
	}{
		{"rate(1 day)", 24 * time.Hour, true},
		{"rate(5 minutes)", 5 * time.Minute, true},
		{"rate(2 hours)", 2 * time.Hour, true},
		{"rate(1 minutes)", 0, false},
		{"rate(5 minute)", 0, false},
		{"rate(0 days)", 0, false},
		{"rate(x days)", 0, false},
		{"cron(0 3 * * ? *)", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseRate(tc.expr)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v", tc.expr, got, err)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	f.Add("rate(1 day)")
	f.Add("rate(10 minutes)")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseRate(s); err == nil && d < time.Minute {
			t.Fatalf("ParseRate(%q) = %v", s, d)
		}
	})
}

func TestRouteMatch(t *testing.T) {
	status := &route{method: "GET", segments: []string{"v1", "requests", "{id}"}, key: "GET /v1/requests/{id}"}
	def := &route{method: "ANY", key: "$default"}
	if p, ok := status.match("GET", "/v1/requests/01J"); !ok || p["id"] != "01J" {
		t.Errorf("match: %v %v", p, ok)
	}
	for _, c := range [][2]string{{"POST", "/v1/requests/01J"}, {"GET", "/v1/requests/"}, {"GET", "/v1/requests/01J/x"}, {"GET", "/v1/other/01J"}} {
		if _, ok := status.match(c[0], c[1]); ok {
			t.Errorf("%s %s matched", c[0], c[1])
		}
	}
	if _, ok := def.match("DELETE", "/anything"); !ok {
		t.Error("$default does not catch everything")
	}
}

func TestTokenBucket(t *testing.T) {
	b := &tokenBucket{rate: 2, burst: 3, tokens: 3}
	now := time.Unix(0, 0)
	got := ""
	for range 5 {
		if b.allow(now) {
			got += "y"
		} else {
			got += "n"
		}
	}
	if got != "yyynn" {
		t.Errorf("burst: %s", got)
	}
	if !b.allow(now.Add(600 * time.Millisecond)) {
		t.Error("no token after 0.6 s at 2/s")
	}
}

func TestCORS(t *testing.T) {
	c := &cors{origins: strs("https://forms.example, http://localhost:8080"), methods: []string{"GET", "POST"},
		headers: []string{"authorization", "content-type"}, expose: []string{"retry-after"}, maxAge: 600}
	tests := []struct {
		name, method, origin, reqMethod string
		preflight                       bool
		allowOrigin, allowMethods       string
	}{
		{"preflight, allowed", "OPTIONS", "https://forms.example", "POST", true, "https://forms.example", "GET,POST"},
		{"preflight, other origin", "OPTIONS", "https://evil.example", "POST", true, "", ""},
		{"request, allowed", "POST", "http://localhost:8080", "", false, "http://localhost:8080", ""},
		{"request, other origin", "GET", "https://evil.example", "", false, "", ""},
		{"no origin", "GET", "", "", false, "", ""},
		{"OPTIONS without preflight header", "OPTIONS", "https://forms.example", "", false, "https://forms.example", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/v1/requests", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.reqMethod != "" {
				req.Header.Set("Access-Control-Request-Method", tc.reqMethod)
			}
			w := httptest.NewRecorder()
			if got := c.apply(w, req); got != tc.preflight {
				t.Errorf("preflight = %v", got)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Errorf("Allow-Origin = %q, want %q", got, tc.allowOrigin)
			}
			if got := w.Header().Get("Access-Control-Allow-Methods"); got != tc.allowMethods {
				t.Errorf("Allow-Methods = %q, want %q", got, tc.allowMethods)
			}
		})
	}
}
