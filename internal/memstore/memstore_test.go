package memstore_test

import (
	"testing"

	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return &memstore.Requests{} }, storetest.Options{})
}

func TestSuppressionsContract(t *testing.T) {
	storetest.RunSuppressions(t, func(*testing.T) storetest.SuppressionStore { return &memstore.Suppressions{} })
}

func TestAuditContract(t *testing.T) {
	storetest.RunAudit(t, func(*testing.T) storetest.AuditStore {
		r := &memstore.Requests{}
		return struct {
			*memstore.Requests
			*memstore.Audit
		}{r, r.Trail()}
	}, storetest.Options{})
}

func TestProvenanceContract(t *testing.T) {
	storetest.RunProvenance(t, func(*testing.T) storetest.ProvenanceStore { return &memstore.Provenance{} }, storetest.Options{})
}

func TestLimitsContract(t *testing.T) {
	storetest.RunLimits(t, func(*testing.T) storetest.LimitStore { return &memstore.Limits{} }, storetest.Options{})
}

func TestKeyingContract(t *testing.T) {
	storetest.RunKeying(t, func(*testing.T) storetest.KeyingStore { return &memstore.Keying{} })
}
