package templatecheck

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The managed CloudFront policies the distribution's behaviors use.
const (
	cachingOptimized          = "658327ea-f89d-4fab-a63d-7e88639e58f6"
	cachingDisabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHostHeader = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
)

// distribution returns the template's one CloudFront distribution's config.
func distribution(t *testing.T, c *cfn) (string, map[string]any) {
	t.Helper()
	ids := c.ofType("AWS::CloudFront::Distribution")
	if len(ids) != 1 {
		t.Fatalf("distributions %v, want one: the pages and the API", ids)
	}
	cfg, _ := path(c.Resources[ids[0]].Properties, "DistributionConfig").(map[string]any)
	return ids[0], cfg
}

// behaviors returns the distribution's cache behaviors by path pattern, the
// default one as "*".
func behaviors(cfg map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	if d, ok := cfg["DefaultCacheBehavior"].(map[string]any); ok {
		out["*"] = d
	}
	for _, b := range list(cfg["CacheBehaviors"]) {
		m, _ := b.(map[string]any)
		p, _ := m["PathPattern"].(string)
		out[p] = m
	}
	return out
}

// origins returns the distribution's origins by id.
func origins(cfg map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range list(cfg["Origins"]) {
		m, _ := o.(map[string]any)
		id, _ := m["Id"].(string)
		out[id] = m
	}
	return out
}

func TestSiteBucketIsReadByTheDistributionOnly(t *testing.T) {
	c := deployed(t)
	site, cfg := distribution(t, c)
	bucketOrigin := origins(cfg)[jsonString(behaviors(cfg)["*"]["TargetOriginId"])]
	bucket, attr := getAtt(bucketOrigin["DomainName"])
	if c.Resources[bucket].Type != "AWS::S3::Bucket" || attr != "RegionalDomainName" {
		t.Fatalf("default behavior's origin %v: want a bucket of the template's RegionalDomainName", bucketOrigin)
	}
	props := c.Resources[bucket].Properties
	got := []any{
		path(props, "PublicAccessBlockConfiguration"),
		path(list(path(props, "OwnershipControls", "Rules"))[0], "ObjectOwnership"),
		path(list(path(props, "BucketEncryption", "ServerSideEncryptionConfiguration"))[0], "ServerSideEncryptionByDefault", "SSEAlgorithm"),
		props["WebsiteConfiguration"],
	}
	want := []any{
		map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"BucketOwnerEnforced", "AES256", nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: [public access block, ownership, encryption, website] (-want +got):\n%s", bucket, diff)
	}
	oac, attr := getAtt(bucketOrigin["OriginAccessControlId"])
	oacCfg := path(c.Resources[oac].Properties, "OriginAccessControlConfig")
	if attr != "Id" || jsonString(path(oacCfg, "SigningBehavior")) != "always" || jsonString(path(oacCfg, "SigningProtocol")) != "sigv4" {
		t.Errorf("the bucket's origin access control %s: %v, want one signing always with sigv4", oac, oacCfg)
	}
	if path(bucketOrigin, "S3OriginConfig", "OriginAccessIdentity") != "" {
		t.Errorf("origin %v: want no legacy origin access identity", bucketOrigin)
	}
	var allows []map[string]any
	for _, id := range c.ofType("AWS::S3::BucketPolicy") {
		if ref(c.Resources[id].Properties["Bucket"]) != bucket {
			continue
		}
		for _, s := range list(path(c.Resources[id].Properties, "PolicyDocument", "Statement")) {
			if m := s.(map[string]any); m["Effect"] == "Allow" {
				allows = append(allows, m)
			}
		}
	}
	if len(allows) != 1 {
		t.Fatalf("%s's policy allows %v: want exactly the distribution's reads", bucket, allows)
	}
	a := allows[0]
	sourceArn, _ := json.Marshal(path(a, "Condition", "StringEquals", "AWS:SourceArn"))
	if path(a, "Principal", "Service") != "cloudfront.amazonaws.com" || !slices.Equal(strs(a["Action"]), []string{"s3:GetObject"}) ||
		!strings.Contains(string(sourceArn), ":distribution/${"+site+"}") {
		t.Errorf("%s's policy: %v, want s3:GetObject for cloudfront.amazonaws.com with AWS:SourceArn = %s", bucket, a, site)
	}
}

func TestViewersUseHTTPS(t *testing.T) {
	_, cfg := distribution(t, deployed(t))
	for p, b := range behaviors(cfg) {
		if got := b["ViewerProtocolPolicy"]; got != "redirect-to-https" {
			t.Errorf("behavior %s: ViewerProtocolPolicy %v, want redirect-to-https", p, got)
		}
	}
	for id, o := range origins(cfg) {
		if p := path(o, "CustomOriginConfig", "OriginProtocolPolicy"); p != nil && p != "https-only" {
			t.Errorf("origin %s: OriginProtocolPolicy %v, want https-only", id, p)
		}
	}
}

func TestBehaviorsServePagesAndAPI(t *testing.T) {
	c := deployed(t)
	_, cfg := distribution(t, c)
	bs := behaviors(cfg)
	for p, b := range bs {
		policy := ref(b["ResponseHeadersPolicyId"])
		if c.Resources[policy].Type != "AWS::CloudFront::ResponseHeadersPolicy" {
			t.Errorf("behavior %s: ResponseHeadersPolicyId %v, want one of the template's policies", p, b["ResponseHeadersPolicyId"])
		}
	}
	api := bs["/v1/*"]
	apiOrigin, _ := json.Marshal(origins(cfg)[jsonString(api["TargetOriginId"])]["DomainName"])
	got := []any{api["CachePolicyId"], api["OriginRequestPolicyId"], len(list(api["AllowedMethods"])), strings.Contains(string(apiOrigin), "${HttpApi}.execute-api.")}
	if diff := cmp.Diff([]any{cachingDisabled, allViewerExceptHostHeader, 7, true}, got); diff != "" {
		t.Errorf("/v1/*: [cache policy, origin request policy, methods, HTTP API origin] (-want +got):\n%s", diff)
	}
	if got := bs["*"]["CachePolicyId"]; got != cachingOptimized {
		t.Errorf("default behavior: cache policy %v, want CachingOptimized", got)
	}
	if ref(bs["*"]["ResponseHeadersPolicyId"]) != ref(api["ResponseHeadersPolicyId"]) {
		t.Error("the pages and the API answer with different headers policies")
	}
	for _, id := range []string{"ReportsBucket", "ReportsBucketPolicy"} {
		if refs, _ := json.Marshal(c.Resources[id]); strings.Contains(string(refs), `"Site`) {
			t.Errorf("%s refers to the site: a cycle through the API's routes and functions", id)
		}
	}
}

// cspDirectives parses a Content-Security-Policy into its directives.
func cspDirectives(csp string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

func TestHeadersPoliciesAreStrict(t *testing.T) {
	c := deployed(t)
	policies := c.ofType("AWS::CloudFront::ResponseHeadersPolicy")
	if len(policies) == 0 {
		t.Fatal("no response headers policy")
	}
	var first map[string]any
	for _, id := range policies {
		cfg, _ := path(c.Resources[id].Properties, "ResponseHeadersPolicyConfig").(map[string]any)
		sec, _ := cfg["SecurityHeadersConfig"].(map[string]any)
		csp, _ := list(path(sec, "ContentSecurityPolicy", "ContentSecurityPolicy", "Fn::Sub"))[0].(string)
		d := cspDirectives(csp)
		for _, name := range []string{"script-src", "style-src"} {
			for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:", "http:"} {
				if slices.Contains(d[name], bad) || len(d[name]) == 0 {
					t.Errorf("%s: %s %v allows %s (or nothing is set)", id, name, d[name], bad)
				}
			}
		}
		got := []any{d["default-src"], d["frame-ancestors"], d["base-uri"], path(sec, "ReferrerPolicy", "ReferrerPolicy"), path(sec, "FrameOptions", "FrameOption")}
		want := []any{[]string{"'none'"}, []string{"'none'"}, []string{"'none'"}, "no-referrer", "DENY"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: [default-src, frame-ancestors, base-uri, Referrer-Policy, X-Frame-Options] (-want +got):\n%s", id, diff)
		}
		if age, _ := path(sec, "StrictTransportSecurity", "AccessControlMaxAgeSec").(float64); age < 31536000 {
			t.Errorf("%s: Strict-Transport-Security max-age %v, want a year at least", id, age)
		}
		// Every policy sends the same security headers; only CORS differs.
		both := map[string]any{"security": sec, "custom": cfg["CustomHeadersConfig"]}
		if first == nil {
			first = both
		} else if diff := cmp.Diff(first, both); diff != "" {
			t.Errorf("%s's headers differ from %s's (-first +this):\n%s", id, policies[0], diff)
		}
	}
}

// jsonString returns v if it is a string, else "".
func jsonString(v any) string {
	s, _ := v.(string)
	return s
}
