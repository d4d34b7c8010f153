// Package provision creates the resources a SAM template declares on an AWS
// emulator (moto server) for the local stack, idempotently, and reports what
// their logical ids resolve to.
//
// CloudFormation does not run against the emulator, so this package plays its
// part for the resource types the template uses. Functions and the HTTP API
// are served by the local stack itself and are only given names, as are the
// deployed-only resources (monitoring, identity, keys; see
// deployedOnlyTypes). A resource whose Condition is false is neither created
// nor named, as in CloudFormation; conditions are evaluated with the
// parameters' defaults.
package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	"go.yaml.in/yaml/v3"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// AccountID is the account id the emulator (moto) uses by default; it is the
// value of the AWS::AccountId pseudo parameter.
const AccountID = "123456789012"

// Resource types Provision handles.
const (
	typeTable        = "AWS::DynamoDB::Table"
	typeQueue        = "AWS::SQS::Queue"
	typeBucket       = "AWS::S3::Bucket"
	typeBucketPolicy = "AWS::S3::BucketPolicy"
	typeSecret       = "AWS::SecretsManager::Secret"
	typeFunction     = "AWS::Serverless::Function"
	typeHTTPAPI      = "AWS::Serverless::HttpApi"
)

// supportedTypes lists the resource types Provision handles, in the order it
// creates them: later types may refer to earlier ones.
var supportedTypes = []string{typeTable, typeQueue, typeBucket, typeSecret, typeBucketPolicy, typeFunction, typeHTTPAPI}

// Options configures Provision.
type Options struct {
	// Prefix starts every physical name: <Prefix>-<LogicalId> (lower-cased
	// for buckets). It is also the value of AWS::StackName. Letters, digits
	// and hyphens only.
	Prefix string
}

var validPrefix = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Provision creates the template's tables, queues, buckets, bucket policies
// and secrets in the account cfg points at, or brings existing ones in line
// with the template, and returns what every logical id resolves to. Functions,
// HTTP APIs and the deployed-only types are not created; they are named
// <Prefix>-<LogicalId>. Resources whose Condition is false are skipped and
// left out of the names. Any other resource type, and any property Provision
// does not understand, is an error, so that a template change the local stack
// cannot follow is noticed.
func Provision(ctx context.Context, cfg aws.Config, t *samtemplate.Template, p Options) (samtemplate.Names, error) {
	if !validPrefix.MatchString(p.Prefix) {
		return nil, fmt.Errorf("provision: prefix %q: want letters, digits and hyphens", p.Prefix)
	}
	if cfg.Region == "" {
		return nil, errors.New("provision: no region in the AWS config")
	}
	if err := checkTypes(t); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	pr := &provisioner{
		cfg:    cfg,
		prefix: p.Prefix,
		names:  samtemplate.Names{},
	}
	pr.pseudo = samtemplate.Pseudo{Region: cfg.Region, AccountID: AccountID, StackName: p.Prefix}
	pr.resolver = &samtemplate.Resolver{Template: t, Names: pr.names, Pseudo: pr.pseudo}
	if err := pr.evaluateConditions(t); err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	pr.nameUnmanaged(t)

	steps := []struct {
		typ string
		fn  func(ctx context.Context, id string, props *yaml.Node) error
	}{
		{typeTable, pr.table},
		{typeQueue, pr.queue},
		{typeQueue, pr.queueRedrive},
		{typeBucket, pr.bucket},
		{typeSecret, pr.secret},
		{typeBucketPolicy, pr.bucketPolicy},
	}
	for _, s := range steps {
		for _, id := range pr.ofType(t, s.typ) {
			if err := s.fn(ctx, id, t.Resources[id].Properties); err != nil {
				return nil, fmt.Errorf("provision %s (%s): %w", id, s.typ, err)
			}
		}
	}
	return pr.names, nil
}

// checkTypes rejects resource types Provision does not handle.
func checkTypes(t *samtemplate.Template) error {
	var bad []string
	for id, r := range t.Resources {
		if !slices.Contains(supportedTypes, r.Type) && !slices.Contains(deployedOnlyTypes, r.Type) {
			bad = append(bad, fmt.Sprintf("%s (%s)", r.Type, id))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("unsupported resource types: %s", strings.Join(bad, ", "))
	}
	return nil
}

// provisioner holds the state of one Provision call.
type provisioner struct {
	cfg      aws.Config
	prefix   string
	pseudo   samtemplate.Pseudo
	names    samtemplate.Names
	resolver *samtemplate.Resolver
	enabled  map[string]bool // logical ids of the resources that are created
}

// physicalName returns the physical name of a logical id.
func (pr *provisioner) physicalName(id string) string { return pr.prefix + "-" + id }

// evaluateConditions records which resources are created: those without a
// Condition, and those whose condition is true.
func (pr *provisioner) evaluateConditions(t *samtemplate.Template) error {
	pr.enabled = make(map[string]bool, len(t.Resources))
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		on, err := pr.resolver.ResourceEnabled(id)
		if err != nil {
			return err
		}
		pr.enabled[id] = on
	}
	return nil
}

// ofType returns the logical ids of the created resources of type typ,
// sorted.
func (pr *provisioner) ofType(t *samtemplate.Template, typ string) []string {
	return slices.DeleteFunc(t.ResourcesOfType(typ), func(id string) bool { return !pr.enabled[id] })
}

// nameUnmanaged names the functions and HTTP APIs, which the local stack
// serves itself, and the deployed-only resources, so that references to them
// resolve.
func (pr *provisioner) nameUnmanaged(t *samtemplate.Template) {
	partition, region := pr.pseudo.Partition(), pr.pseudo.Region
	for _, typ := range deployedOnlyTypes {
		for _, id := range pr.ofType(t, typ) {
			pr.names[id] = pr.deployedOnlyName(typ, id)
		}
	}
	for _, id := range pr.ofType(t, typeFunction) {
		name := pr.physicalName(id)
		pr.names[id] = samtemplate.Physical{Ref: name, Attrs: map[string]string{
			"Arn": fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", partition, region, AccountID, name),
		}}
	}
	for _, id := range pr.ofType(t, typeHTTPAPI) {
		name := pr.physicalName(id)
		pr.names[id] = samtemplate.Physical{Ref: name, Attrs: map[string]string{
			"Arn":         fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s", partition, region, name),
			"ApiEndpoint": fmt.Sprintf("https://%s.execute-api.%s.%s", name, region, pr.pseudo.URLSuffix()),
		}}
	}
}

// decode resolves props and decodes them into v, a pointer to a struct whose
// fields are named like the CloudFormation properties. Unknown properties
// are an error. A nil props decodes as an empty mapping.
func (pr *provisioner) decode(props *yaml.Node, v any) error {
	resolved := any(map[string]any{})
	if props != nil {
		var err error
		if resolved, err = pr.resolver.Resolve(props); err != nil {
			return fmt.Errorf("resolve properties: %w", err)
		}
	}
	data, err := json.Marshal(resolved)
	if err != nil {
		return fmt.Errorf("encode properties: %w", err)
	}
	if err := decodeJSON(data, v); err != nil {
		return fmt.Errorf("decode properties: %w", err)
	}
	return nil
}

// decodeJSON decodes data into v, rejecting unknown fields.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// without returns a copy of the mapping n without the given keys.
func without(n *yaml.Node, keys ...string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	c := *n
	c.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !slices.Contains(keys, n.Content[i].Value) {
			c.Content = append(c.Content, n.Content[i], n.Content[i+1])
		}
	}
	return &c
}

// has reports whether the mapping n has key.
func has(n *yaml.Node, key string) bool {
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// cfnInt is an integer property; CloudFormation accepts numbers and numeric
// strings (a Number parameter resolves to a string).
type cfnInt int32

// UnmarshalJSON accepts 5 and "5".
func (i *cfnInt) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("%s is not an integer", data)
	}
	*i = cfnInt(n)
	return nil
}

// ptr returns i as the *int32 the SDK wants; nil for a nil i.
func (i *cfnInt) ptr() *int32 {
	if i == nil {
		return nil
	}
	return aws.Int32(int32(*i))
}

// cfnBool is a boolean property; CloudFormation accepts true and "true".
type cfnBool bool

// UnmarshalJSON accepts true, false, "true" and "false".
func (b *cfnBool) UnmarshalJSON(data []byte) error {
	v, err := strconv.ParseBool(strings.Trim(string(data), `"`))
	if err != nil {
		return fmt.Errorf("%s is not a boolean", data)
	}
	*b = cfnBool(v)
	return nil
}

// ptr returns b as the *bool the SDK wants; nil for a nil b.
func (b *cfnBool) ptr() *bool {
	if b == nil {
		return nil
	}
	return aws.Bool(bool(*b))
}

// jsonDocument is a property that CloudFormation accepts either as a JSON
// object or as a string holding JSON, such as a policy document.
type jsonDocument struct{ raw json.RawMessage }

// UnmarshalJSON keeps an object, unwraps a string, and compacts the result.
func (d *jsonDocument) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		if !json.Valid([]byte(s)) {
			return fmt.Errorf("%q is not JSON", s)
		}
		data = []byte(s)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("%s is not a JSON object", data)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return err
	}
	d.raw = b.Bytes()
	return nil
}

// String returns the document as JSON text.
func (d jsonDocument) String() string { return string(d.raw) }

// isAPIError reports whether err is an API error with one of the codes.
func isAPIError(err error, codes ...string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(codes, ae.ErrorCode())
}
