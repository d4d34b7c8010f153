package pepper_test

import (
	"context"
	"errors"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/pepper"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	first, _ := dsr.NewHasher([]byte("the first pepper, 32 bytes long!"))
	second, _ := dsr.NewHasher([]byte("a new pepper, as a new stack has"))
	table := &memstore.Suppressions{}
	for _, tc := range []struct {
		name   string
		hasher *dsr.Hasher
		want   error
	}{
		{"the first start writes the canary", first, nil},
		{"a later start with the same pepper runs", first, nil},
		{"a start with another pepper refuses", second, pepper.ErrMismatch},
		{"the canary stays the first pepper's", first, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := pepper.Check(ctx, table, tc.hasher); !errors.Is(err, tc.want) {
				t.Fatalf("Check: %v, want %v", err, tc.want)
			}
		})
	}
}
