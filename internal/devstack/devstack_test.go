package devstack

import (
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
