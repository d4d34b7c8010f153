package samtemplate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FunctionType is the resource type of a SAM function.
const FunctionType = "AWS::Serverless::Function"

// Defaults Lambda applies when neither the function nor Globals.Function
// sets a value.
const (
	// DefaultTimeout is Lambda's default function timeout.
	DefaultTimeout = 3 * time.Second
	// DefaultMemorySize is Lambda's default memory size, in MB.
	DefaultMemorySize = 128
	// DefaultSQSBatchSize is the default BatchSize of an SQS event source.
	DefaultSQSBatchSize = 10
	// DefaultStreamBatchSize is the default BatchSize of a DynamoDB stream
	// event source.
	DefaultStreamBatchSize = 100
)

// Event types that Functions understands.
const (
	EventHttpAPI    = "HttpApi"
	EventSQS        = "SQS"
	EventSchedule   = "Schedule"
	EventScheduleV2 = "ScheduleV2"
	EventDynamoDB   = "DynamoDB"
)

// Function is an AWS::Serverless::Function with Globals.Function applied and
// its intrinsics resolved.
type Function struct {
	// LogicalID is the function's logical id.
	LogicalID string
	// Timeout is the function's timeout (DefaultTimeout if unset).
	Timeout time.Duration
	// MemorySize is the function's memory in MB (DefaultMemorySize if unset).
	MemorySize int
	// ReservedConcurrency is the function's ReservedConcurrentExecutions: the
	// most instances Lambda runs at once; 0 when unset.
	ReservedConcurrency int
	// Environment holds the resolved environment variables; never nil.
	Environment map[string]string
	// Events are the function's event sources, sorted by name.
	Events []Event
}

// Event is one event source of a function. Which fields are set depends on
// Type.
type Event struct {
	// Name is the event's key in the function's Events.
	Name string
	// Type is one of EventHttpAPI, EventSQS, EventSchedule, EventScheduleV2.
	Type string
	// Path is the route path of an HttpApi event; empty for the API's
	// $default route.
	Path string
	// Method is the upper-cased method of an HttpApi event ("ANY" matches
	// every method); empty for the API's $default route.
	Method string
	// Authorizer is an HttpApi event's Auth.Authorizer ("AWS_IAM", or the
	// name of one of the API's authorizers); empty when the route is open.
	Authorizer string
	// QueueLogicalID is the logical id of an SQS event's queue.
	QueueLogicalID string
	// TableLogicalID is the logical id of the table whose stream a
	// DynamoDB event reads (Stream: !GetAtt <Table>.StreamArn).
	TableLogicalID string
	// StartingPosition is a DynamoDB event's StartingPosition.
	StartingPosition string
	// MaximumRetryAttempts is a DynamoDB event's MaximumRetryAttempts (-1,
	// Lambda's default, retries until the record expires).
	MaximumRetryAttempts int
	// OnFailureQueueLogicalID is the logical id of the queue a DynamoDB
	// event's DestinationConfig.OnFailure names, if any.
	OnFailureQueueLogicalID string
	// BatchSize is an SQS or DynamoDB event's batch size
	// (DefaultSQSBatchSize, DefaultStreamBatchSize if unset).
	BatchSize int
	// ReportBatchItemFailures reports whether an SQS or DynamoDB event's
	// FunctionResponseTypes contains ReportBatchItemFailures.
	ReportBatchItemFailures bool
	// MaximumConcurrency is an SQS event's ScalingConfig.MaximumConcurrency:
	// the most batches its pollers hand the function at once; 0 when unset.
	MaximumConcurrency int
	// ScheduleExpression is the expression of a Schedule (its Schedule
	// property) or ScheduleV2 (its ScheduleExpression property) event.
	ScheduleExpression string
	// Enabled reports whether an SQS or schedule event is enabled (the
	// default): false if Enabled is false or State is DISABLED.
	Enabled bool
}

// Functions returns every AWS::Serverless::Function of the template, sorted
// by logical id, with Globals.Function applied the way SAM applies it: maps
// are merged key by key with the function's value winning, lists are
// concatenated with the global entries first, and any other function value
// replaces the global one. Environment values are resolved with names and
// pseudo. Fn::If and Ref AWS::NoValue apply anywhere in a function's
// properties and Globals.Function, and a function whose Condition is false
// is left out. Event types other than HttpApi, SQS, DynamoDB, Schedule and
// ScheduleV2 are an error.
func (t *Template) Functions(names Names, pseudo Pseudo) ([]Function, error) {
	r := &Resolver{Template: t, Names: names, Pseudo: pseudo}
	ids := t.ResourcesOfType(FunctionType)
	fns := make([]Function, 0, len(ids))
	for _, id := range ids {
		on, err := r.ResourceEnabled(id)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		if !on {
			continue
		}
		f, err := r.function(id)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		fns = append(fns, f)
	}
	return fns, nil
}

// function builds the Function of resource id: its properties as SAM sees
// them (functionProperties), Lambda's defaults where they are unset, then
// Timeout, MemorySize, ReservedConcurrentExecutions, the environment and the
// events, read in that order so that the first bad property is the one
// reported.
func (r *Resolver) function(id string) (Function, error) {
	props, err := r.functionProperties(id)
	if err != nil {
		return Function{}, err
	}
	secs, err := r.positiveInt(props, "Timeout", int(DefaultTimeout/time.Second))
	if err != nil {
		return Function{}, err
	}
	mb, err := r.positiveInt(props, "MemorySize", DefaultMemorySize)
	if err != nil {
		return Function{}, err
	}
	// 0, which lets Lambda run no instance at all, is refused rather than
	// run locally as if unset.
	reserved, err := r.positiveInt(props, "ReservedConcurrentExecutions", 0)
	if err != nil {
		return Function{}, err
	}
	f := Function{
		LogicalID:           id,
		Timeout:             time.Duration(secs) * time.Second,
		MemorySize:          mb,
		ReservedConcurrency: reserved,
		Environment:         map[string]string{},
	}
	if err := r.environment(props, f.Environment); err != nil {
		return Function{}, err
	}
	if f.Events, err = r.events(props); err != nil {
		return Function{}, err
	}
	return f, nil
}

// functionProperties returns the Properties of function id as SAM sees them:
// Globals.Function merged under the function's own (an empty mapping when it
// has none), with Fn::If and Ref AWS::NoValue applied so that field and
// entries can read them.
func (r *Resolver) functionProperties(id string) (*yaml.Node, error) {
	props := r.Template.Resources[id].Properties
	if props == nil {
		props = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if g := r.Template.globalFunction; g != nil {
		props = merge(g, props, 0)
	}
	return r.prune(props)
}

// positiveInt resolves the integer property key of props (Timeout in
// seconds, MemorySize in MB), which must be at least 1; def, Lambda's
// default, when props has no such key.
func (r *Resolver) positiveInt(props *yaml.Node, key string, def int) (int, error) {
	n := field(props, key)
	if n == nil {
		return def, nil
	}
	v, err := r.resolveInt(n)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	if v < 1 {
		return 0, fmt.Errorf("%s: %d is not positive", key, v)
	}
	return v, nil
}

// events reads the Events of props, sorted by name so that the stack starts
// its routes, pollers and schedules in a stable order; nil when there are
// none.
func (r *Resolver) events(props *yaml.Node) ([]Event, error) {
	events := field(props, "Events")
	if events == nil {
		return nil, nil
	}
	es, err := entries(events, "Events")
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range es {
		ev, err := r.event(e.key, e.value)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", e.key, err)
		}
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// environment resolves the Environment.Variables of props into env.
func (r *Resolver) environment(props *yaml.Node, env map[string]string) error {
	vars := field(field(props, "Environment"), "Variables")
	if vars == nil {
		return nil
	}
	es, err := entries(vars, "Environment.Variables")
	if err != nil {
		return err
	}
	for _, e := range es {
		v, err := r.ResolveString(e.value)
		if err != nil {
			return fmt.Errorf("environment variable %s: %w", e.key, err)
		}
		env[e.key] = v
	}
	return nil
}

// event reads the event source name of a function: its Type, which must be
// one of the supported event types, and the Properties that type uses.
func (r *Resolver) event(name string, n *yaml.Node) (Event, error) {
	typ := deref(field(n, "Type"))
	if typ == nil || !plainName(typ) {
		return Event{}, fmt.Errorf("line %d: Type is %s, want an event type", line(n), kindName(typ))
	}
	props := field(n, "Properties")
	if props != nil && !plainMapping(props) {
		return Event{}, fmt.Errorf("line %d: Properties is %s, want a mapping", line(props), kindName(props))
	}
	ev := Event{Name: name, Type: typ.Value}
	var err error
	switch ev.Type {
	case EventHttpAPI:
		err = r.httpAPIEvent(n, props, &ev)
	case EventSQS:
		err = r.sqsEvent(props, &ev)
	case EventDynamoDB:
		err = r.dynamoDBEvent(props, &ev)
	case EventSchedule, EventScheduleV2:
		err = r.scheduleEvent(n, props, &ev)
	default:
		return Event{}, fmt.Errorf("line %d: unsupported event type %s", typ.Line, ev.Type)
	}
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// httpAPIEvent reads an HttpApi event's route (Path and Method, both or
// neither: neither is the API's $default route) and its Auth.Authorizer.
func (r *Resolver) httpAPIEvent(n, props *yaml.Node, ev *Event) error {
	var err error
	if ev.Path, err = r.optionalString(props, "Path"); err != nil {
		return err
	}
	if ev.Method, err = r.optionalString(props, "Method"); err != nil {
		return err
	}
	ev.Method = strings.ToUpper(ev.Method)
	if (ev.Path == "") != (ev.Method == "") {
		return fmt.Errorf("line %d: HttpApi event needs both Path and Method, or neither", line(n))
	}
	auth := field(props, "Auth")
	if auth == nil {
		return nil
	}
	if !plainMapping(auth) {
		return fmt.Errorf("line %d: Auth is %s, want a mapping", line(auth), kindName(auth))
	}
	if ev.Authorizer, err = r.optionalString(auth, "Authorizer"); err != nil {
		return fmt.Errorf("Auth: %w", err)
	}
	return nil
}

// sqsEvent reads an SQS event's queue (!GetAtt <Queue>.Arn), its
// ScalingConfig and batching.
func (r *Resolver) sqsEvent(props *yaml.Node, ev *Event) error {
	var err error
	if ev.QueueLogicalID, err = r.getAttOf(field(props, "Queue"), "Arn", "AWS::SQS::Queue"); err != nil {
		return fmt.Errorf("Queue: %w", err)
	}
	if ev.MaximumConcurrency, err = r.maximumConcurrency(field(props, "ScalingConfig")); err != nil {
		return err
	}
	return r.batching(props, ev, DefaultSQSBatchSize)
}

// maximumConcurrency reads ScalingConfig.MaximumConcurrency (sc may be nil),
// which Lambda takes from 2 to 1000; 0 when unset.
func (r *Resolver) maximumConcurrency(sc *yaml.Node) (int, error) {
	if sc == nil {
		return 0, nil
	}
	if !plainMapping(sc) {
		return 0, fmt.Errorf("line %d: ScalingConfig is %s, want a mapping", line(sc), kindName(sc))
	}
	n := field(sc, "MaximumConcurrency")
	if n == nil {
		return 0, nil
	}
	v, err := r.resolveInt(n)
	if err != nil {
		return 0, fmt.Errorf("ScalingConfig.MaximumConcurrency: %w", err)
	}
	if v < 2 || v > 1000 {
		return 0, fmt.Errorf("ScalingConfig.MaximumConcurrency: %d is not from 2 to 1000", v)
	}
	return v, nil
}

// dynamoDBEvent reads a DynamoDB event's table (!GetAtt <Table>.StreamArn),
// StartingPosition, MaximumRetryAttempts (-1 if unset, as Lambda's default),
// its OnFailure queue if any, and batching.
func (r *Resolver) dynamoDBEvent(props *yaml.Node, ev *Event) error {
	var err error
	if ev.TableLogicalID, err = r.getAttOf(field(props, "Stream"), "StreamArn", "AWS::DynamoDB::Table"); err != nil {
		return fmt.Errorf("Stream: %w", err)
	}
	if ev.StartingPosition, err = r.optionalString(props, "StartingPosition"); err != nil {
		return err
	}
	ev.MaximumRetryAttempts = -1
	if m := field(props, "MaximumRetryAttempts"); m != nil {
		if ev.MaximumRetryAttempts, err = r.resolveInt(m); err != nil {
			return fmt.Errorf("MaximumRetryAttempts: %w", err)
		}
	}
	if d := field(field(field(props, "DestinationConfig"), "OnFailure"), "Destination"); d != nil {
		if ev.OnFailureQueueLogicalID, err = r.getAttOf(d, "Arn", "AWS::SQS::Queue"); err != nil {
			return fmt.Errorf("DestinationConfig.OnFailure.Destination: %w", err)
		}
	}
	return r.batching(props, ev, DefaultStreamBatchSize)
}

// scheduleEvent reads a Schedule or ScheduleV2 event's expression (the
// Schedule or ScheduleExpression property, which must be set) and Enabled.
func (r *Resolver) scheduleEvent(n, props *yaml.Node, ev *Event) error {
	key := "Schedule"
	if ev.Type == EventScheduleV2 {
		key = "ScheduleExpression"
	}
	var err error
	if ev.ScheduleExpression, err = r.optionalString(props, key); err != nil {
		return err
	}
	if ev.ScheduleExpression == "" {
		return fmt.Errorf("line %d: %s event has no %s", line(n), ev.Type, key)
	}
	ev.Enabled, err = r.enabled(props)
	return err
}

// batching reads an event source's BatchSize (def if unset),
// FunctionResponseTypes and Enabled.
func (r *Resolver) batching(props *yaml.Node, ev *Event, def int) error {
	var err error
	ev.BatchSize = def
	if b := field(props, "BatchSize"); b != nil {
		if ev.BatchSize, err = r.resolveInt(b); err != nil {
			return fmt.Errorf("BatchSize: %w", err)
		}
	}
	if frt := field(props, "FunctionResponseTypes"); frt != nil {
		v, err := r.Resolve(frt)
		if err != nil {
			return fmt.Errorf("FunctionResponseTypes: %w", err)
		}
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("FunctionResponseTypes: got %s, want a list", describe(v))
		}
		ev.ReportBatchItemFailures = slices.Contains(list, any("ReportBatchItemFailures"))
	}
	ev.Enabled, err = r.enabled(props)
	return err
}

// getAttOf returns the logical id of the resource of type typ that n names
// with Fn::GetAtt <id>.<attr>.
func (r *Resolver) getAttOf(n *yaml.Node, attr, typ string) (string, error) {
	if n == nil {
		return "", fmt.Errorf("missing")
	}
	n = deref(n)
	fn, arg, ok, err := intrinsic(n)
	if err != nil {
		return "", err
	}
	if !ok || fn != "Fn::GetAtt" {
		return "", fmt.Errorf("line %d: want !GetAtt <%s>.%s", n.Line, typ, attr)
	}
	if err := checkShape(fn, arg); err != nil {
		return "", fmt.Errorf("line %d: %w", n.Line, err)
	}
	id, got := getAttArgs(arg)
	if got != attr {
		return "", fmt.Errorf("line %d: want !GetAtt %s.%s, not %s", n.Line, id, attr, got)
	}
	res, ok := r.Template.Resources[id]
	if !ok {
		return "", fmt.Errorf("line %d: unknown resource %s", n.Line, id)
	}
	if res.Type != typ {
		return "", fmt.Errorf("line %d: %s is a %s, not an %s", n.Line, id, res.Type, typ)
	}
	return id, nil
}

// enabled evaluates the Enabled and State properties of an event source.
func (r *Resolver) enabled(props *yaml.Node) (bool, error) {
	if n := field(props, "Enabled"); n != nil {
		v, err := r.Resolve(n)
		if err != nil {
			return false, fmt.Errorf("Enabled: %w", err)
		}
		b, err := toBool(v)
		if err != nil {
			return false, fmt.Errorf("Enabled: %w", err)
		}
		if !b {
			return false, nil
		}
	}
	state, err := r.optionalString(props, "State")
	if err != nil {
		return false, err
	}
	return !strings.EqualFold(state, "DISABLED"), nil
}

// optionalString resolves the string property key of props; "" if absent.
func (r *Resolver) optionalString(props *yaml.Node, key string) (string, error) {
	n := field(props, key)
	if n == nil {
		return "", nil
	}
	s, err := r.ResolveString(n)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return s, nil
}

func (r *Resolver) resolveInt(n *yaml.Node) (int, error) {
	v, err := r.Resolve(n)
	if err != nil {
		return 0, err
	}
	return toInt(v)
}

// merge applies SAM's Globals rules to a global and a resource value and
// returns the merged node; neither input is modified. Below maxMergeDepth
// (only reachable through recursive aliases) the resource value wins.
func merge(global, local *yaml.Node, depth int) *yaml.Node {
	g, l := deref(global), deref(local)
	if depth < maxMergeDepth && plainMapping(g) && plainMapping(l) && !isIntrinsic(g) && !isIntrinsic(l) {
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: l.Line, Column: l.Column}
		out.Content = append(out.Content, g.Content...)
		for i := 0; i+1 < len(l.Content); i += 2 {
			k := deref(l.Content[i])
			replaced := false
			for j := 0; j+1 < len(out.Content); j += 2 {
				if deref(out.Content[j]).Value == k.Value {
					out.Content[j+1] = merge(out.Content[j+1], l.Content[i+1], depth+1)
					replaced = true
					break
				}
			}
			if !replaced {
				out.Content = append(out.Content, l.Content[i], l.Content[i+1])
			}
		}
		return out
	}
	if g.Kind == yaml.SequenceNode && l.Kind == yaml.SequenceNode && !isCustomTag(g.Tag) && !isCustomTag(l.Tag) {
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: l.Line, Column: l.Column}
		out.Content = append(append(out.Content, g.Content...), l.Content...)
		return out
	}
	return local
}

const maxMergeDepth = 100

// prune applies Fn::If and Ref AWS::NoValue to the mapping props, so that
// the structure under it can be read with field and entries.
func (r *Resolver) prune(props *yaml.Node) (*yaml.Node, error) {
	s := &resolution{Resolver: r}
	p, present, err := s.prune(props)
	if err != nil {
		return nil, err
	}
	if !present {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
	}
	return p, nil
}

// isIntrinsic reports whether n is a long-form intrinsic function call.
func isIntrinsic(n *yaml.Node) bool {
	_, _, ok, _ := intrinsic(n)
	return ok
}
