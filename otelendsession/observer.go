package otelendsession

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/endsession/endsession/middleware"
)

// scope is the instrumentation scope of the meter and the tracer.
const scope = "github.com/endsession/endsession/otelendsession"

// Options configures [New]. Zero values mean the global providers of the
// otel package.
type Options struct {
	// MeterProvider makes the counters and the histogram. Default
	// otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider makes the provider calls' spans. Default
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator adds the trace context to the provider calls' headers.
	// Default otel.GetTextMapPropagator().
	Propagator propagation.TextMapPropagator
}

// Observer is a middleware.Observer that records metrics and spans; see
// the package documentation for what it records.
type Observer struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	logins, logouts, steps, refreshes  metric.Int64Counter
	backchannel, frontchannel, rejects metric.Int64Counter
	callDuration                       metric.Float64Histogram
}

var _ middleware.Observer = (*Observer)(nil)

// New returns an Observer for middleware.Config.Observer. It fails only
// when the meter provider refuses an instrument.
func New(opts Options) (*Observer, error) {
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	if opts.Propagator == nil {
		opts.Propagator = otel.GetTextMapPropagator()
	}
	meter := opts.MeterProvider.Meter(scope)
	o := &Observer{tracer: opts.TracerProvider.Tracer(scope), propagator: opts.Propagator}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	o.logins = counter("endsession.logins", "{login}", "Logins completed at the callback, by outcome.")
	o.logouts = counter("endsession.logouts", "{logout}", "Ends of sessions, by reason and outcome.")
	o.steps = counter("endsession.logout.steps", "{step}", "Steps of the ends of sessions, by outcome.")
	o.refreshes = counter("endsession.refreshes", "{refresh}", "Refreshes of tokens at the provider, by outcome.")
	o.backchannel = counter("endsession.backchannel_logouts", "{logout}", "Back-channel logout tokens received, by outcome.")
	o.frontchannel = counter("endsession.frontchannel_logouts", "{logout}", "Front-channel logout requests, by outcome.")
	o.rejects = counter("endsession.rejected", "{request}", "Requests answered with an error or refused, by route and code.")
	h, err := meter.Float64Histogram("endsession.provider.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the HTTP calls to providers, to the answer's header, by endpoint."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	errs = append(errs, err)
	o.callDuration = h
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelendsession: %w", err)
	}
	return o, nil
}

// Observe counts e, and adds it to the request's span when it records.
func (o *Observer) Observe(ctx context.Context, e middleware.Event) {
	attrs := make([]attribute.KeyValue, 0, 4)
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	add("endsession.provider", e.Provider)
	var c metric.Int64Counter
	name := ""
	switch e.Kind {
	case middleware.EventLogin:
		c, name = o.logins, "endsession.logins"
		add("endsession.outcome", e.Outcome)
		add("endsession.code", e.Code)
	case middleware.EventLogout:
		c, name = o.logouts, "endsession.logouts"
		add("endsession.reason", string(e.Reason))
		add("endsession.outcome", e.Outcome)
		if e.Report != nil {
			o.countSteps(ctx, e.Provider, e.Report.Steps)
		}
	case middleware.EventRefresh:
		c, name = o.refreshes, "endsession.refreshes"
		add("endsession.outcome", e.Outcome)
		add("endsession.code", e.Code)
	case middleware.EventBackchannelLogout:
		c, name = o.backchannel, "endsession.backchannel_logouts"
		add("endsession.outcome", e.Outcome)
		add("endsession.code", e.Code)
	case middleware.EventFrontchannelLogout:
		c, name = o.frontchannel, "endsession.frontchannel_logouts"
		add("endsession.outcome", e.Outcome)
		add("endsession.code", e.Code)
	case middleware.EventRejected:
		c, name = o.rejects, "endsession.rejected"
		add("endsession.route", e.Route)
		add("endsession.code", e.Code)
		if e.Status != 0 {
			attrs = append(attrs, attribute.Int("http.response.status_code", e.Status))
		}
	default:
		return
	}
	set := attribute.NewSet(attrs...)
	c.Add(ctx, 1, metric.WithAttributeSet(set))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(name, trace.WithAttributes(attrs...))
	}
}

// countSteps counts each step of a logout, by name and outcome.
func (o *Observer) countSteps(ctx context.Context, provider string, steps []middleware.LogoutStep) {
	for _, s := range steps {
		outcome := middleware.OutcomeOK
		if !s.OK {
			outcome = middleware.OutcomeFailed
		}
		attrs := []attribute.KeyValue{attribute.String("endsession.step", s.Name), attribute.String("endsession.outcome", outcome)}
		if provider != "" {
			attrs = append(attrs, attribute.String("endsession.provider", provider))
		}
		o.steps.Add(ctx, 1, metric.WithAttributes(attrs...))
	}
}

// ProviderCall starts the call's client span, puts the trace context in
// its header, and returns the function that ends the span and records the
// call's duration.
func (o *Observer) ProviderCall(ctx context.Context, c middleware.ProviderCall) (context.Context, func(int, error)) {
	start := time.Now()
	attrs := []attribute.KeyValue{
		attribute.String("endsession.endpoint", c.Endpoint),
		attribute.String("http.request.method", c.Method),
	}
	if c.Provider != "" {
		attrs = append(attrs, attribute.String("endsession.provider", c.Provider))
	}
	spanAttrs := attrs
	if c.URL != nil {
		spanAttrs = append(spanAttrs[:len(spanAttrs):len(spanAttrs)], attribute.String("url.full", c.URL.String()))
		host, port, err := net.SplitHostPort(c.URL.Host)
		if err != nil {
			host = c.URL.Host
		}
		spanAttrs = append(spanAttrs, attribute.String("server.address", host))
		if n, err := strconv.Atoi(port); err == nil {
			spanAttrs = append(spanAttrs, attribute.Int("server.port", n))
		}
	}
	ctx, span := o.tracer.Start(ctx, "endsession.provider."+c.Endpoint,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(spanAttrs...))
	if c.Header != nil {
		o.propagator.Inject(ctx, propagation.HeaderCarrier(c.Header))
	}
	return ctx, func(status int, err error) {
		end := attrs
		if status != 0 {
			end = append(end[:len(end):len(end)], attribute.Int("http.response.status_code", status))
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		switch {
		case err != nil:
			end = append(end[:len(end):len(end)], attribute.String("error.type", errorType(err)))
			span.SetAttributes(attribute.String("error.type", errorType(err)))
			span.SetStatus(codes.Error, errorType(err))
		case status >= 400:
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
		span.End()
		o.callDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(end...))
	}
}

// errorType names a failed round trip's error by its kind, never its
// text (which may hold a URL and its query).
func errorType(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return fmt.Sprintf("%T", err)
}
