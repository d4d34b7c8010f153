package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"go.yaml.in/yaml/v3"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// bucketProps are the supported properties of an AWS::S3::Bucket.
type bucketProps struct {
	BucketEncryption *struct {
		ServerSideEncryptionConfiguration []struct {
			ServerSideEncryptionByDefault *struct {
				SSEAlgorithm   string
				KMSMasterKeyID string
			}
			BucketKeyEnabled *cfnBool
		}
	}
	PublicAccessBlockConfiguration *struct {
		BlockPublicAcls       *cfnBool
		BlockPublicPolicy     *cfnBool
		IgnorePublicAcls      *cfnBool
		RestrictPublicBuckets *cfnBool
	}
	OwnershipControls *struct {
		Rules []struct{ ObjectOwnership string }
	}
	VersioningConfiguration *struct{ Status string }
	LifecycleConfiguration  *struct {
		Rules []lifecycleRule
	}
	// CorsConfiguration is applied: the pages fetch presigned reports
	// from the emulator's bucket, as from S3.
	CorsConfiguration *struct {
		CorsRules []corsRule
	}
	// LoggingConfiguration has no local effect: the local stack keeps no
	// access logs.
	LoggingConfiguration *struct {
		DestinationBucketName string
		LogFilePrefix         string
		TargetObjectKeyFormat json.RawMessage
	}
	Tags json.RawMessage // no local effect
}

type lifecycleRule struct {
	Id                             string
	Status                         string
	Prefix                         *string
	ExpirationInDays               *cfnInt
	NoncurrentVersionExpiration    *struct{ NoncurrentDays cfnInt }
	AbortIncompleteMultipartUpload *struct{ DaysAfterInitiation cfnInt }
}

type corsRule struct {
	Id             string
	AllowedHeaders []string
	AllowedMethods []string
	AllowedOrigins []string
	ExposedHeaders []string
	MaxAge         *cfnInt
}

// bucketPolicyProps are the properties of an AWS::S3::BucketPolicy.
type bucketPolicyProps struct {
	Bucket         string
	PolicyDocument jsonDocument
}

var validBucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// bucketName returns the physical name of a bucket: lower case, as S3 wants.
func (pr *provisioner) bucketName(id string) (string, error) {
	name := strings.ToLower(pr.physicalName(id))
	if !validBucketName.MatchString(name) {
		return "", fmt.Errorf("bucket name %q is not valid (3 to 63 characters); shorten the prefix", name)
	}
	return name, nil
}

// bucketConfig is what PutBucket* calls a bucket's properties amount to.
type bucketConfig struct {
	encryption   *types.ServerSideEncryptionConfiguration
	publicAccess *types.PublicAccessBlockConfiguration
	ownership    *types.OwnershipControls
	versioning   *types.VersioningConfiguration
	lifecycle    *types.BucketLifecycleConfiguration
	cors         *types.CORSConfiguration
}

// bucketConfiguration translates a bucket's properties.
//
// A KMSMasterKeyID is not applied: KMS keys are deployed-only (see
// deployedOnlyTypes), so the key it names never exists locally. The bucket
// keeps the algorithm (aws:kms, with the AWS managed key) and
// BucketKeyEnabled. moto 5 would accept the unknown key id as well, but
// another emulator or version need not.
func bucketConfiguration(p bucketProps) (c bucketConfig, err error) {
	if e := p.BucketEncryption; e != nil {
		c.encryption = &types.ServerSideEncryptionConfiguration{}
		for _, r := range e.ServerSideEncryptionConfiguration {
			rule := types.ServerSideEncryptionRule{BucketKeyEnabled: r.BucketKeyEnabled.ptr()}
			if d := r.ServerSideEncryptionByDefault; d != nil {
				rule.ApplyServerSideEncryptionByDefault = &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryption(d.SSEAlgorithm)}
			}
			c.encryption.Rules = append(c.encryption.Rules, rule)
		}
	}
	if b := p.PublicAccessBlockConfiguration; b != nil {
		c.publicAccess = &types.PublicAccessBlockConfiguration{
			BlockPublicAcls:       b.BlockPublicAcls.ptr(),
			BlockPublicPolicy:     b.BlockPublicPolicy.ptr(),
			IgnorePublicAcls:      b.IgnorePublicAcls.ptr(),
			RestrictPublicBuckets: b.RestrictPublicBuckets.ptr(),
		}
	}
	if o := p.OwnershipControls; o != nil {
		c.ownership = &types.OwnershipControls{}
		for _, r := range o.Rules {
			c.ownership.Rules = append(c.ownership.Rules, types.OwnershipControlsRule{ObjectOwnership: types.ObjectOwnership(r.ObjectOwnership)})
		}
	}
	if v := p.VersioningConfiguration; v != nil {
		c.versioning = &types.VersioningConfiguration{Status: types.BucketVersioningStatus(v.Status)}
	}
	if cc := p.CorsConfiguration; cc != nil {
		if c.cors, err = corsConfiguration(cc.CorsRules); err != nil {
			return bucketConfig{}, err
		}
	}
	if l := p.LifecycleConfiguration; l != nil {
		if c.lifecycle, err = lifecycleConfiguration(l.Rules); err != nil {
			return bucketConfig{}, err
		}
	}
	return c, nil
}

// lifecycleConfiguration translates a bucket's lifecycle rules.
func lifecycleConfiguration(rules []lifecycleRule) (*types.BucketLifecycleConfiguration, error) {
	out := &types.BucketLifecycleConfiguration{}
	for i, r := range rules {
		if r.Status == "" {
			return nil, fmt.Errorf("lifecycle rule %d has no Status", i)
		}
		rule := types.LifecycleRule{
			Status: types.ExpirationStatus(r.Status),
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
		}
		if r.Id != "" {
			rule.ID = aws.String(r.Id)
		}
		if r.Prefix != nil {
			rule.Filter.Prefix = aws.String(*r.Prefix)
		}
		if r.ExpirationInDays != nil {
			rule.Expiration = &types.LifecycleExpiration{Days: r.ExpirationInDays.ptr()}
		}
		if n := r.NoncurrentVersionExpiration; n != nil {
			rule.NoncurrentVersionExpiration = &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(int32(n.NoncurrentDays))}
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			rule.AbortIncompleteMultipartUpload = &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(int32(a.DaysAfterInitiation))}
		}
		out.Rules = append(out.Rules, rule)
	}
	return out, nil
}

// corsConfiguration translates a bucket's CorsRules; S3 wants methods and
// origins in every rule.
func corsConfiguration(rules []corsRule) (*types.CORSConfiguration, error) {
	out := &types.CORSConfiguration{}
	for i, r := range rules {
		if len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 {
			return nil, fmt.Errorf("CORS rule %d needs AllowedMethods and AllowedOrigins", i)
		}
		rule := types.CORSRule{
			AllowedHeaders: r.AllowedHeaders, AllowedMethods: r.AllowedMethods, AllowedOrigins: r.AllowedOrigins,
			ExposeHeaders: r.ExposedHeaders, MaxAgeSeconds: r.MaxAge.ptr(),
		}
		if r.Id != "" {
			rule.ID = aws.String(r.Id)
		}
		out.CORSRules = append(out.CORSRules, rule)
	}
	return out, nil
}

func (pr *provisioner) s3Client() *s3.Client {
	return s3.NewFromConfig(pr.cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// bucket creates an AWS::S3::Bucket, or reuses the existing one, and applies
// its configuration.
func (pr *provisioner) bucket(ctx context.Context, id string, props *yaml.Node) error {
	var p bucketProps
	if err := pr.decode(props, &p); err != nil {
		return err
	}
	conf, err := bucketConfiguration(p)
	if err != nil {
		return err
	}
	name, err := pr.bucketName(id)
	if err != nil {
		return err
	}
	c := pr.s3Client()
	if err := pr.createBucket(ctx, c, name); err != nil {
		return err
	}
	if err := applyBucketConfig(ctx, c, name, conf); err != nil {
		return err
	}
	partition, suffix := pr.pseudo.Partition(), pr.pseudo.URLSuffix()
	pr.names[id] = samtemplate.Physical{Ref: name, Attrs: map[string]string{
		"Arn":                fmt.Sprintf("arn:%s:s3:::%s", partition, name),
		"DomainName":         fmt.Sprintf("%s.s3.%s", name, suffix),
		"RegionalDomainName": fmt.Sprintf("%s.s3.%s.%s", name, pr.cfg.Region, suffix),
	}}
	return nil
}

// createBucket creates bucket name, or finds it already ours.
func (pr *provisioner) createBucket(ctx context.Context, c *s3.Client, name string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if pr.cfg.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(pr.cfg.Region)}
	}
	_, err := c.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	switch {
	case err == nil, errors.As(err, &owned):
		return nil
	case errors.As(err, &exists):
		// Ours if we can reach it; someone else's otherwise.
		if _, herr := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); herr == nil {
			return nil
		}
	}
	return fmt.Errorf("create bucket %s: %w", name, err)
}

// applyBucketConfig puts each part of conf that the template declares.
func applyBucketConfig(ctx context.Context, c *s3.Client, name string, conf bucketConfig) error {
	b := aws.String(name)
	puts := []struct {
		what string
		set  bool
		put  func() error
	}{
		{"encryption", conf.encryption != nil, func() error {
			_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: conf.encryption})
			return err
		}},
		{"public access block", conf.publicAccess != nil, func() error {
			_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: conf.publicAccess})
			return err
		}},
		{"ownership controls", conf.ownership != nil, func() error {
			_, err := c.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: conf.ownership})
			return err
		}},
		{"versioning", conf.versioning != nil, func() error {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: conf.versioning})
			return err
		}},
		{"lifecycle configuration", conf.lifecycle != nil, func() error {
			_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: conf.lifecycle})
			return err
		}},
		{"CORS configuration", conf.cors != nil, func() error {
			_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: conf.cors})
			return err
		}},
	}
	for _, p := range puts {
		if !p.set {
			continue
		}
		if err := p.put(); err != nil {
			return fmt.Errorf("put %s of bucket %s: %w", p.what, name, err)
		}
	}
	return nil
}

// bucketPolicy puts an AWS::S3::BucketPolicy.
func (pr *provisioner) bucketPolicy(ctx context.Context, id string, props *yaml.Node) error {
	var p bucketPolicyProps
	if err := pr.decode(props, &p); err != nil {
		return err
	}
	if p.Bucket == "" || len(p.PolicyDocument.raw) == 0 {
		return errors.New("needs Bucket and PolicyDocument")
	}
	policy, err := withoutTransportDeny(p.PolicyDocument.String())
	if err != nil {
		return fmt.Errorf("policy of bucket %s: %w", p.Bucket, err)
	}
	if policy == "" {
		_, err = pr.s3Client().DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p.Bucket)})
	} else {
		_, err = pr.s3Client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.Bucket), Policy: aws.String(policy)})
	}
	if err != nil {
		return fmt.Errorf("put policy of bucket %s: %w", p.Bucket, err)
	}
	pr.names[id] = samtemplate.Physical{Ref: p.Bucket}
	return nil
}

// withoutTransportDeny drops the statements that deny requests made without
// TLS (aws:SecureTransport false): the emulator is served over plain HTTP, and
// moto enforces them, so they would deny every local call. The rest of the
// policy is applied as declared; "" means nothing is left to apply.
func withoutTransportDeny(policy string) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return "", fmt.Errorf("decode policy: %w", err)
	}
	stmts, _ := doc["Statement"].([]any)
	kept := []any{}
	for _, st := range stmts {
		m, _ := st.(map[string]any)
		cond, _ := m["Condition"].(map[string]any)
		b, _ := cond["Bool"].(map[string]any)
		if m["Effect"] == "Deny" && len(cond) == 1 && len(b) == 1 && fmt.Sprint(b["aws:SecureTransport"]) == "false" {
			continue
		}
		kept = append(kept, st)
	}
	if len(kept) == 0 {
		return "", nil
	}
	doc["Statement"] = kept
	out, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return string(out), nil
}
