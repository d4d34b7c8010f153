//go:build integration

package s3reports_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
	"github.com/privacyops/dsr/internal/s3reports"
	"github.com/privacyops/dsr/internal/storetest"
)

// readable is the store with ReadObject, which the contract reads documents
// back with.
type readable struct {
	*s3reports.Store
	client *s3.Client
}

func (r readable) ReadObject(ctx context.Context, key string) ([]byte, error) {
	out, err := r.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.Bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// newBucket creates an empty bucket on the emulator (versioned if asked)
// and returns the store over it.
func newBucket(t *testing.T, versioned bool) storetest.ObjectStore {
	t.Helper()
	ctx := context.Background()
	client := s3.NewFromConfig(provisiontest.Config(t), func(o *s3.Options) {
		o.UsePathStyle = true // emulators serve buckets by path
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	bucket := "dsr-reports-" + hex.EncodeToString(b)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if versioned {
		if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket: &bucket, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return readable{&s3reports.Store{Client: client, Presign: s3.NewPresignClient(client), Bucket: bucket}, client}
}

func TestObjectsContract(t *testing.T) {
	storetest.RunObjects(t, func(t *testing.T) storetest.ObjectStore { return newBucket(t, false) })
}

func TestObjectVersionsContract(t *testing.T) {
	storetest.RunObjectVersions(t, func(t *testing.T) storetest.ObjectStore { return newBucket(t, true) })
}
