package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// Resource types that only the deployed stack has.
const (
	typeAlarm             = "AWS::CloudWatch::Alarm"
	typeDashboard         = "AWS::CloudWatch::Dashboard"
	typeTopic             = "AWS::SNS::Topic"
	typeSubscription      = "AWS::SNS::Subscription"
	typeTopicPolicy       = "AWS::SNS::TopicPolicy"
	typeLogGroup          = "AWS::Logs::LogGroup"
	typeRole              = "AWS::IAM::Role"
	typeManagedPolicy     = "AWS::IAM::ManagedPolicy"
	typeKey               = "AWS::KMS::Key"
	typeAlias             = "AWS::KMS::Alias"
	typeTrail             = "AWS::CloudTrail::Trail"
	typeEventInvokeConfig = "AWS::Lambda::EventInvokeConfig"
	typeSchedule          = "AWS::Scheduler::Schedule"
	typeQueuePolicy       = "AWS::SQS::QueuePolicy"
	typeDistribution      = "AWS::CloudFront::Distribution"
	typeOriginAccess      = "AWS::CloudFront::OriginAccessControl"
	typeHeadersPolicy     = "AWS::CloudFront::ResponseHeadersPolicy"
	typeEdgeFunction      = "AWS::CloudFront::Function"
)

// deployedOnlyTypes are the resource types Provision accepts but does not
// create, because they have no local effect: monitoring (alarms, dashboards,
// alarm topics and their subscriptions and policies, log groups, trails) is
// for the deployed stack, as the local stack is not monitored; identity
// (roles, managed policies, queue policies) and keys (KMS keys and aliases)
// are not enforced, as the emulator accepts any credentials and encrypts
// nothing with them; and a function's asynchronous invoke configuration and standalone
// schedules belong to the Lambda and Scheduler services, which the local
// stack stands in for itself; CloudFront (the distribution, its origin
// access control, response headers policies and functions) is played by the
// local gateway, which serves web/ itself and reads the headers policy from
// the template (internal/devstack). They are named, so that references to them
// resolve; their properties are not read. Keep the list explicit: any other
// type is an error, so that a resource the local stack would need is
// noticed.
var deployedOnlyTypes = []string{
	typeAlarm, typeDashboard, typeTopic, typeSubscription, typeTopicPolicy, typeLogGroup,
	typeRole, typeManagedPolicy, typeKey, typeAlias, typeTrail, typeEventInvokeConfig, typeSchedule,
	typeQueuePolicy, typeDistribution, typeOriginAccess, typeHeadersPolicy, typeEdgeFunction,
}

// deployedOnlyName returns what the deployed-only resource id of type typ
// resolves to: Ref and attributes shaped as CloudFormation's, built from
// the physical name <Prefix>-<LogicalId>.
func (pr *provisioner) deployedOnlyName(typ, id string) samtemplate.Physical {
	name := pr.physicalName(id)
	if r, ok := namedARNs[typ]; ok {
		region := ""
		if r.regional {
			region = pr.pseudo.Region
		}
		return samtemplate.Physical{Ref: name, Attrs: map[string]string{"Arn": pr.arn(r.service, region, fmt.Sprintf(r.resource, name))}}
	}
	if p, ok := pr.accountResourceName(typ, name); ok {
		return p
	}
	if p, ok := pr.cloudFrontName(typ, name); ok {
		return p
	}
	// AWS::SNS::TopicPolicy, AWS::Lambda::EventInvokeConfig: an id only.
	return samtemplate.Physical{Ref: name, Attrs: map[string]string{"Id": name}}
}

// namedARN is how a deployed-only type whose Ref is its name builds its one
// attribute, Arn: the service, whether the ARN names a region, and the
// resource part, a format of the name.
type namedARN struct {
	service  string
	regional bool
	resource string
}

// namedARNs are the deployed-only types whose Ref is the physical name and
// whose only attribute is Arn.
var namedARNs = map[string]namedARN{
	typeLogGroup:  {"logs", true, "log-group:%s:*"},
	typeAlarm:     {"cloudwatch", true, "alarm:%s"},
	typeDashboard: {"cloudwatch", false, "dashboard/%s"},
	typeTrail:     {"cloudtrail", true, "trail/%s"},
	typeSchedule:  {"scheduler", true, "schedule/default/%s"},
}

// arn returns the ARN of resource in service and region ("" for a global
// service such as IAM), in the stack's partition and the local account.
func (pr *provisioner) arn(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", pr.pseudo.Partition(), service, region, AccountID, resource)
}

// accountResourceName returns the names of the deployed-only SNS, IAM and
// KMS resources named name, whose Ref is an ARN or a generated id rather
// than the name for most of them; ok is false for any other type.
func (pr *provisioner) accountResourceName(typ, name string) (p samtemplate.Physical, ok bool) {
	region := pr.pseudo.Region
	switch typ {
	case typeTopic:
		a := pr.arn("sns", region, name)
		return samtemplate.Physical{Ref: a, Attrs: map[string]string{"TopicArn": a, "TopicName": name}}, true
	case typeSubscription: // Ref is the subscription's ARN
		a := pr.arn("sns", region, name+":"+fakeUUID(name))
		return samtemplate.Physical{Ref: a, Attrs: map[string]string{"Arn": a}}, true
	case typeRole:
		return samtemplate.Physical{Ref: name, Attrs: map[string]string{
			"Arn":    pr.arn("iam", "", "role/"+name),
			"RoleId": "AROA" + strings.ToUpper(hash(name)[:17]),
		}}, true
	case typeManagedPolicy: // Ref is the policy's ARN
		a := pr.arn("iam", "", "policy/"+name)
		return samtemplate.Physical{Ref: a, Attrs: map[string]string{"PolicyArn": a, "PolicyId": "ANPA" + strings.ToUpper(hash(name)[:17])}}, true
	case typeKey: // Ref is the key id
		keyID := fakeUUID(name)
		return samtemplate.Physical{Ref: keyID, Attrs: map[string]string{"Arn": pr.arn("kms", region, "key/"+keyID), "KeyId": keyID}}, true
	case typeAlias: // Ref is the alias name
		alias := "alias/" + name
		return samtemplate.Physical{Ref: alias, Attrs: map[string]string{"Arn": pr.arn("kms", region, alias)}}, true
	}
	return samtemplate.Physical{}, false
}

// cloudFrontName returns the names of the deployed-only CloudFront
// resources named name, which the local gateway plays; ok is false for any
// other type.
func (pr *provisioner) cloudFrontName(typ, name string) (p samtemplate.Physical, ok bool) {
	switch typ {
	case typeDistribution: // Ref is the distribution's id, E plus 13 characters
		id := cloudFrontID("E", name)
		return samtemplate.Physical{Ref: id, Attrs: map[string]string{"Id": id, "DomainName": strings.ToLower("d"+id[1:]) + ".cloudfront.net"}}, true
	case typeOriginAccess:
		id := cloudFrontID("E", name)
		return samtemplate.Physical{Ref: id, Attrs: map[string]string{"Id": id}}, true
	case typeHeadersPolicy: // Ref is the policy's id, a UUID
		id := fakeUUID(name)
		return samtemplate.Physical{Ref: id, Attrs: map[string]string{"Id": id, "LastModifiedTime": "2026-01-01T00:00:00Z"}}, true
	case typeEdgeFunction: // Ref is the function's ARN; CloudFront is global
		a := pr.arn("cloudfront", "", "function/"+name)
		return samtemplate.Physical{Ref: a, Attrs: map[string]string{"FunctionARN": a, "Stage": "LIVE"}}, true
	}
	return samtemplate.Physical{}, false
}

// hash returns the hex SHA-256 of s.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// cloudFrontID returns a stable id shaped like CloudFront's (prefix and
// upper-case letters and digits, 14 characters) derived from s.
func cloudFrontID(prefix, s string) string {
	return prefix + strings.ToUpper(hash(s)[:14-len(prefix)])
}

// fakeUUID returns a stable UUID-shaped id derived from s, such as a KMS key
// id.
func fakeUUID(s string) string {
	h := hash(s)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
