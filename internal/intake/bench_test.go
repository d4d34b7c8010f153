package intake_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/privacyops/dsr/internal/intake"
)

// BenchmarkSubmit measures the intake handler for one submission: decoding
// and validating the body, minting token and code, hashing, storing (in
// memory) and mailing (a fake).
func BenchmarkSubmit(b *testing.B) {
	e := newEnv(&testing.T{})
	req := events.APIGatewayV2HTTPRequest{RouteKey: intake.RouteSubmit, Body: `{"type":"access","email":" Ada@Example.com "}`}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := e.h.Handle(ctx, req)
		if resp.StatusCode != 202 {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkStatus measures the status route: token check and view.
func BenchmarkStatus(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t)
	id, token, _ := e.submit(t)
	req := events.APIGatewayV2HTTPRequest{RouteKey: intake.RouteStatus, PathParameters: map[string]string{"id": id},
		Headers: map[string]string{"authorization": "Bearer " + token}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := e.h.Handle(ctx, req); resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
