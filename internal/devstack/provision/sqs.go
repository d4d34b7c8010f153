package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.yaml.in/yaml/v3"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// queueProps are the supported properties of an AWS::SQS::Queue.
type queueProps struct {
	VisibilityTimeout             *cfnInt
	MessageRetentionPeriod        *cfnInt
	DelaySeconds                  *cfnInt
	MaximumMessageSize            *cfnInt
	ReceiveMessageWaitTimeSeconds *cfnInt
	SqsManagedSseEnabled          *cfnBool
	RedrivePolicy                 *jsonDocument
	RedriveAllowPolicy            *jsonDocument
	Tags                          json.RawMessage // no local effect
	// KmsMasterKeyId and KmsDataKeyReusePeriodSeconds have no local effect:
	// KMS keys are deployed-only, so the key never exists locally.
	KmsMasterKeyId               string
	KmsDataKeyReusePeriodSeconds *cfnInt
}

// redriveKeys are the queue properties that refer to other queues; they are
// set once all queues exist.
var redriveKeys = []string{"RedrivePolicy", "RedriveAllowPolicy"}

// queueAttributes translates a queue's properties to SQS queue attributes.
func queueAttributes(p queueProps) map[string]string {
	attrs := map[string]string{}
	for name, v := range map[types.QueueAttributeName]*cfnInt{
		types.QueueAttributeNameVisibilityTimeout:             p.VisibilityTimeout,
		types.QueueAttributeNameMessageRetentionPeriod:        p.MessageRetentionPeriod,
		types.QueueAttributeNameDelaySeconds:                  p.DelaySeconds,
		types.QueueAttributeNameMaximumMessageSize:            p.MaximumMessageSize,
		types.QueueAttributeNameReceiveMessageWaitTimeSeconds: p.ReceiveMessageWaitTimeSeconds,
	} {
		if v != nil {
			attrs[string(name)] = strconv.Itoa(int(*v))
		}
	}
	if p.SqsManagedSseEnabled != nil {
		attrs[string(types.QueueAttributeNameSqsManagedSseEnabled)] = strconv.FormatBool(bool(*p.SqsManagedSseEnabled))
	}
	if p.RedrivePolicy != nil {
		attrs[string(types.QueueAttributeNameRedrivePolicy)] = p.RedrivePolicy.String()
	}
	if p.RedriveAllowPolicy != nil {
		attrs[string(types.QueueAttributeNameRedriveAllowPolicy)] = p.RedriveAllowPolicy.String()
	}
	return attrs
}

// queue creates an AWS::SQS::Queue without its redrive policies, or brings
// the existing one's attributes in line with the template.
func (pr *provisioner) queue(ctx context.Context, id string, props *yaml.Node) error {
	var p queueProps
	if err := pr.decode(without(props, redriveKeys...), &p); err != nil {
		return err
	}
	name := pr.physicalName(id)
	attrs := queueAttributes(p)
	c := sqs.NewFromConfig(pr.cfg)
	var url string
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	switch {
	case err == nil:
		url = aws.ToString(out.QueueUrl)
	case isAPIError(err, "QueueAlreadyExists", "QueueNameExists", "AWS.SimpleQueueService.QueueNameExists"):
		// The queue exists with other attributes: update them.
		got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("get url of queue %s: %w", name, err)
		}
		url = aws.ToString(got.QueueUrl)
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
			return fmt.Errorf("set attributes of queue %s: %w", name, err)
		}
	default:
		return fmt.Errorf("create queue %s: %w", name, err)
	}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("get arn of queue %s: %w", name, err)
	}
	arn := got.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return fmt.Errorf("get arn of queue %s: no QueueArn attribute", name)
	}
	pr.names[id] = samtemplate.Physical{Ref: url, Attrs: map[string]string{"Arn": arn, "QueueName": name, "QueueUrl": url}}
	return nil
}

// queueRedrive sets the redrive policies of a queue that queue created.
func (pr *provisioner) queueRedrive(ctx context.Context, id string, props *yaml.Node) error {
	if !has(props, "RedrivePolicy") && !has(props, "RedriveAllowPolicy") {
		return nil
	}
	var p queueProps
	if err := pr.decode(props, &p); err != nil {
		return err
	}
	attrs := map[string]string{}
	if p.RedrivePolicy != nil {
		attrs[string(types.QueueAttributeNameRedrivePolicy)] = p.RedrivePolicy.String()
	}
	if p.RedriveAllowPolicy != nil {
		attrs[string(types.QueueAttributeNameRedriveAllowPolicy)] = p.RedriveAllowPolicy.String()
	}
	url := pr.names[id].Ref
	_, err := sqs.NewFromConfig(pr.cfg).SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs})
	if err != nil {
		return fmt.Errorf("set redrive policy of queue %s: %w", pr.physicalName(id), err)
	}
	return nil
}
