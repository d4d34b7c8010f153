package intake_test

import (
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/httpapi"
	"github.com/privacyops/dsr/internal/intake"
)

// TestViewsLinkToTheseRoutes: the links a view carries (httpapi.Linked)
// are the paths of the routes intake serves.
func TestViewsLinkToTheseRoutes(t *testing.T) {
	for route, path := range map[string]string{
		intake.RouteReport:      httpapi.ReportPath("{id}"),
		intake.RouteCertificate: httpapi.CertificatePath("{id}"),
	} {
		if _, p, _ := strings.Cut(route, " "); p != path {
			t.Errorf("route %q, view links %q", route, path)
		}
	}
}
