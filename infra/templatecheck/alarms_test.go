package templatecheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// alarmMetric is one metric an alarm watches.
type alarmMetric struct {
	namespace, name string
	dims            map[string]any
}

// watched returns the metrics alarm id watches, plain or in metric math,
// and the expressions it evaluates.
func watched(p map[string]any) (metrics []alarmMetric, exprs []string) {
	dims := func(v any) map[string]any {
		out := map[string]any{}
		for _, d := range list(v) {
			out[path(d, "Name").(string)] = path(d, "Value")
		}
		return out
	}
	if ns, ok := p["Namespace"].(string); ok {
		metrics = append(metrics, alarmMetric{ns, p["MetricName"].(string), dims(p["Dimensions"])})
	}
	for _, m := range list(p["Metrics"]) {
		if e, ok := path(m, "Expression").(string); ok {
			exprs = append(exprs, e)
			continue
		}
		mm := path(m, "MetricStat", "Metric")
		metrics = append(metrics, alarmMetric{path(mm, "Namespace").(string), path(mm, "MetricName").(string), dims(path(mm, "Dimensions"))})
	}
	return metrics, exprs
}

// alarmsOn returns the alarms watching metric name in namespace whose
// dimension dim is v (any value when dim is "").
func alarmsOn(c *cfn, namespace, name, dim string, match func(any) bool) []string {
	var ids []string
	for _, id := range c.ofType("AWS::CloudWatch::Alarm") {
		ms, _ := watched(c.Resources[id].Properties)
		for _, m := range ms {
			if m.namespace == namespace && m.name == name && (dim == "" || match(m.dims[dim])) {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

func TestEveryAlarmTellsTheTopic(t *testing.T) {
	c := deployed(t)
	alarms := c.ofType("AWS::CloudWatch::Alarm")
	if len(alarms) == 0 {
		t.Fatal("no alarms")
	}
	for _, id := range alarms {
		p := c.Resources[id].Properties
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := list(p[key]); len(got) != 1 || ref(got[0]) != "AlarmTopic" {
				t.Errorf("%s: %s %v, want [!Ref AlarmTopic]", id, key, p[key])
			}
		}
		if d, _ := p["AlarmDescription"].(string); len(d) < 40 {
			t.Errorf("%s: AlarmDescription %q: say what it means and what to do", id, d)
		}
	}
	sub := c.Resources["AlarmSubscription"]
	if sub.Condition != "HasAlarmEmail" || ref(sub.Properties["Endpoint"]) != "AlarmEmail" {
		t.Errorf("AlarmSubscription: %+v, want the AlarmEmail parameter under HasAlarmEmail", sub)
	}
}

// deadLetterQueues returns every queue that receives what failed: redrive
// targets, on-failure destinations of event sources and asynchronous
// invocations, and schedules' dead-letter queues.
func deadLetterQueues(c *cfn) []string {
	set := map[string]bool{}
	add := func(v any) {
		if id, attr := getAtt(v); attr == "Arn" {
			set[id] = true
		}
	}
	for _, id := range c.ofType("AWS::SQS::Queue") {
		add(path(c.Resources[id].Properties, "RedrivePolicy", "deadLetterTargetArn"))
	}
	for _, typ := range []string{"AWS::Lambda::EventSourceMapping", "AWS::Lambda::EventInvokeConfig"} {
		for _, id := range c.ofType(typ) {
			add(path(c.Resources[id].Properties, "DestinationConfig", "OnFailure", "Destination"))
		}
	}
	for _, id := range c.ofType("AWS::Events::Rule") {
		for _, target := range list(c.Resources[id].Properties["Targets"]) {
			add(path(target, "DeadLetterConfig", "Arn"))
		}
	}
	return sortedKeys(set)
}

func TestEveryDeadLetterQueueIsAlarmed(t *testing.T) {
	c := deployed(t)
	consumed := map[string]bool{}
	for _, id := range c.ofType("AWS::Lambda::EventSourceMapping") {
		q, _ := getAtt(c.Resources[id].Properties["EventSourceArn"])
		consumed[q] = true
	}
	dlqs := deadLetterQueues(c)
	if len(dlqs) < 10 {
		t.Fatalf("dead-letter queues %v: fewer than the template has", dlqs)
	}
	for _, q := range dlqs {
		// A consumed queue is emptied at once: count what arrives, not what waits.
		metric := "ApproximateNumberOfMessagesVisible"
		if consumed[q] {
			metric = "NumberOfMessagesReceived"
		}
		isQueue := func(v any) bool { id, attr := getAtt(v); return id == q && attr == "QueueName" }
		if got := alarmsOn(c, "AWS/SQS", metric, "QueueName", isQueue); len(got) != 1 {
			t.Errorf("%s: alarms on %s %v, want one", q, metric, got)
		}
	}
}

func TestEveryFunctionIsAlarmed(t *testing.T) {
	c := deployed(t)
	for _, fn := range c.ofType("AWS::Lambda::Function") {
		isFn := func(v any) bool { return ref(v) == fn }
		for _, metric := range []string{"Errors", "Throttles"} {
			if got := alarmsOn(c, "AWS/Lambda", metric, "FunctionName", isFn); len(got) != 1 {
				t.Errorf("%s: alarms on %s %v, want one", fn, metric, got)
			}
		}
	}
	for _, fn := range []string{"MonitorFunction", "RetentionFunction"} {
		if got := alarmsOn(c, "AWS/Lambda", "Invocations", "FunctionName", func(v any) bool { return ref(v) == fn }); len(got) != 1 {
			t.Errorf("%s: alarms on a day without a run %v, want one", fn, got)
		}
	}
}

// TestPipelineMetricsAreAlarmed checks the alarms on the pipeline's own EMF
// metrics, and that the code still emits each under the name alarmed.
func TestPipelineMetricsAreAlarmed(t *testing.T) {
	c := deployed(t)
	emitters := map[string]string{
		"OverdueRequests":        "internal/monitor/monitor.go",
		"RequestsDueWithin7Days": "internal/monitor/monitor.go",
		"PepperMismatch":         "internal/awsapp/awsapp.go",
	}
	var exprs []string
	for _, id := range c.ofType("AWS::CloudWatch::Alarm") {
		_, e := watched(c.Resources[id].Properties)
		exprs = append(exprs, e...)
	}
	for _, metric := range sortedKeys(emitters) {
		src, err := os.ReadFile(filepath.Join(root, emitters[metric]))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), `"`+metric+`"`) {
			t.Errorf("%s no longer emits %s: rename the alarm with the metric", emitters[metric], metric)
		}
		plain := alarmsOn(c, "DataSubjectRequests", metric, "", nil)
		insights := slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, metric) })
		if len(plain) == 0 && !insights {
			t.Errorf("no alarm on %s", metric)
		}
	}
	if got := alarmsOn(c, "AWS/ApiGateway", "5xx", "ApiId", func(v any) bool { return ref(v) == "HttpApi" }); len(got) != 1 {
		t.Errorf("alarms on the API's 5xx %v, want one", got)
	}
}

func TestDashboardShowsTheService(t *testing.T) {
	body, _ := path(deployed(t).Resources["Dashboard"].Properties, "DashboardBody", "Fn::Sub").(string)
	for _, want := range []string{"stats count(*) as steps by event", "secondsToComplete", "ApproximateNumberOfMessagesVisible", `"Errors"`, "OverdueRequests"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if !strings.HasPrefix(body, `{"widgets":[`) {
		t.Errorf("dashboard body is not a widgets document:\n%s", body)
	}
}
