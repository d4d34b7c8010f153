//go:build integration

package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
)

// TestStackServesPagesAndDemoRequests starts the stack on the template with
// a pages folder and the demo requests: the pages are served with the
// template's headers, the API still answers, and the DPO's overdue list
// shows the overdue demo request.
func TestStackServesPagesAndDemoRequests(t *testing.T) {
	web := t.TempDir()
	if err := os.MkdirAll(filepath.Join(web, "privacy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "privacy", "index.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := provisiontest.Config(t)
	s, err := Start(context.Background(), Options{
		TemplatePath: "../../template.yaml", Prefix: fmt.Sprintf("web-%d", time.Now().UnixNano()%1e9), Addr: "127.0.0.1:0",
		OutboxDir: t.TempDir(), Seed: true, SeedRequests: true, AWS: cfg, WebDir: web,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	get := func(path, token string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/", "")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || body != "<!doctype html>" || !strings.Contains(csp, "connect-src 'self' https://") ||
		!strings.Contains(csp, *cfg.BaseEndpoint) || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("GET / (redirected): %d %q, headers %v", resp.StatusCode, body, resp.Header)
	}
	if resp, body := get("/v1/nothing-here", ""); resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("GET /v1/nothing-here: %d %s %q, want the $default problem", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var page struct {
		Items []struct {
			ID      string `json:"id"`
			Overdue bool   `json:"overdue"`
		} `json:"items"`
	}
	resp, body = get("/v1/dpo/requests?overdue=true", s.DpoToken)
	if err := json.Unmarshal([]byte(body), &page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("overdue list: %d %s", resp.StatusCode, body)
	}
	if len(s.SeededRequests) != 2 || len(page.Items) != 1 || page.Items[0].ID != s.SeededRequests[0] || !page.Items[0].Overdue {
		t.Errorf("overdue list %+v, seeded %v: want the first demo request", page.Items, s.SeededRequests)
	}
	resp, body = get("/v1/dpo/requests/"+s.SeededRequests[0]+"/audit", s.DpoToken)
	var check struct {
		Intact  bool `json:"intact"`
		Entries int  `json:"entries"`
	}
	_ = json.Unmarshal([]byte(body), &check)
	if diff := cmp.Diff(struct {
		Intact  bool `json:"intact"`
		Entries int  `json:"entries"`
	}{true, 3}, check); diff != "" || resp.StatusCode != 200 {
		t.Errorf("the demo request's audit check: %d (-want +got):\n%s", resp.StatusCode, diff)
	}
}
