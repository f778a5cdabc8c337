package otelendsession_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/otelendsession"
)

// telemetry is an Observer over the SDK's in-memory reader and recorder.
type telemetry struct {
	reader   *sdkmetric.ManualReader
	spans    *tracetest.SpanRecorder
	tracer   trace.Tracer
	observer *otelendsession.Observer
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.tracer = tp.Tracer("test")
	var err error
	tel.observer, err = otelendsession.New(otelendsession.Options{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader)),
		TracerProvider: tp,
		Propagator:     propagation.TraceContext{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

// count returns the sum of the data points of the counter name whose
// attributes include want, or the count of the histogram's.
func (tel *telemetry) count(t *testing.T, name string, want ...string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	match := func(set attribute.Set) bool {
		for i := 0; i+1 < len(want); i += 2 {
			v, ok := set.Value(attribute.Key(want[i]))
			if !ok || v.String() != want[i+1] {
				return false
			}
		}
		return true
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += int64(p.Count)
					}
				}
			}
		}
	}
	return n
}

// TestMetricsOfALoginRefreshAndLogout signs in, refreshes, signs out and
// sends a bad logout token, then reads every counter and the provider
// calls' histogram from the SDK's reader.
func TestMetricsOfALoginRefreshAndLogout(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t, tel.observer, tel.tracer, nil)
	a.login()
	a.advance(6 * time.Minute) // the access token expired: refreshed
	a.login()
	a.logout()
	if status := a.postLogoutToken("not-a-token"); status != 400 {
		t.Fatalf("a bad logout token: %d", status)
	}
	a.get("/auth/callback?state=forged&code=x")

	for _, c := range []struct {
		name  string
		attrs []string
		want  int64
	}{
		{"endsession.logins", []string{"endsession.provider", "dev", "endsession.outcome", "ok"}, 1},
		{"endsession.logins", []string{"endsession.outcome", "failed", "endsession.code", "invalid_state"}, 1},
		{"endsession.refreshes", []string{"endsession.provider", "dev", "endsession.outcome", "ok"}, 1},
		{"endsession.logouts", []string{"endsession.provider", "dev", "endsession.reason", "user", "endsession.outcome", "ok"}, 1},
		{"endsession.logout.steps", []string{"endsession.step", "session.delete", "endsession.outcome", "ok"}, 1},
		{"endsession.logout.steps", []string{"endsession.step", "provider.revoke", "endsession.outcome", "ok"}, 1},
		{"endsession.logout.steps", []string{"endsession.step", "provider.end_session", "endsession.outcome", "ok"}, 1},
		{"endsession.logout.steps", []string{"endsession.outcome", "failed"}, 0},
		{"endsession.backchannel_logouts", []string{"endsession.outcome", "rejected", "endsession.code", "invalid_request"}, 1},
		{"endsession.rejected", []string{"endsession.route", "backchannel_logout", "endsession.code", "invalid_request"}, 1},
		{"endsession.rejected", []string{"endsession.route", "callback", "endsession.code", "invalid_state"}, 1},
		{"endsession.provider.call.duration", []string{"endsession.endpoint", "discovery", "http.response.status_code", "200"}, 1},
		{"endsession.provider.call.duration", []string{"endsession.provider", "dev", "endsession.endpoint", "token"}, 2},
		{"endsession.provider.call.duration", []string{"endsession.endpoint", "userinfo"}, 1},
		{"endsession.provider.call.duration", []string{"endsession.endpoint", "revocation"}, 2},
	} {
		if got := tel.count(t, c.name, c.attrs...); got != c.want {
			t.Errorf("%s %v = %d, want %d", c.name, c.attrs, got, c.want)
		}
	}
	if got := tel.count(t, "endsession.provider.call.duration", "endsession.endpoint", "keys"); got < 1 {
		t.Errorf("no call to the keys endpoint counted")
	}
}

// TestSpansOfProviderCalls checks that every call to the provider is a
// client span, child of the request's span, whose trace context the
// provider received in traceparent, with no URL query in its attributes.
func TestSpansOfProviderCalls(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t, tel.observer, tel.tracer, nil)
	a.login()
	a.logout()

	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range tel.spans.Ended() {
		byID[s.SpanContext().SpanID()] = s
	}
	endpoints := map[string]int{}
	for _, s := range tel.spans.Ended() {
		if !strings.HasPrefix(s.Name(), "endsession.provider.") {
			continue
		}
		endpoint := strings.TrimPrefix(s.Name(), "endsession.provider.")
		endpoints[endpoint]++
		if s.SpanKind() != trace.SpanKindClient {
			t.Errorf("%s is a %v span", s.Name(), s.SpanKind())
		}
		parent, ok := byID[s.Parent().SpanID()]
		if !ok || parent.SpanKind() != trace.SpanKindServer || parent.SpanContext().TraceID() != s.SpanContext().TraceID() {
			t.Errorf("%s has no server span of the request as its parent", s.Name())
		}
		if s.Status().Code == codes.Error {
			t.Errorf("%s ended in error: %v", s.Name(), s.Status())
		}
		for _, kv := range s.Attributes() {
			if strings.ContainsAny(kv.Value.String(), "?#") {
				t.Errorf("%s: %s = %q holds a query", s.Name(), kv.Key, kv.Value.String())
			}
		}
		attrs := attribute.NewSet(s.Attributes()...)
		if v, _ := attrs.Value("endsession.provider"); v.AsString() != "dev" {
			t.Errorf("%s: endsession.provider = %q", s.Name(), v.String())
		}
		if v, _ := attrs.Value("http.response.status_code"); v.AsInt64() != 200 {
			t.Errorf("%s: http.response.status_code = %v", s.Name(), v.String())
		}
	}
	for _, e := range []string{"discovery", "keys", "token", "userinfo", "revocation"} {
		if endpoints[e] == 0 {
			t.Errorf("no span for the %s endpoint; spans by endpoint: %v", e, endpoints)
		}
	}

	// The provider got each call's own span as its parent.
	a.mu.Lock()
	defer a.mu.Unlock()
	tps := a.traceparents[string(devprovider.Token)]
	if len(tps) != 1 {
		t.Fatalf("token endpoint's traceparents: %q", tps)
	}
	found := false
	for _, s := range tel.spans.Ended() {
		sc := s.SpanContext()
		if s.Name() == "endsession.provider.token" && tps[0] == "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01" {
			found = true
		}
	}
	if !found {
		t.Errorf("the token request's traceparent %q is not the token span's", tps[0])
	}
}

// TestSpanOfAFailedProviderCall: a token endpoint that answers 500 makes
// an error span and a failed refresh.
func TestSpanOfAFailedProviderCall(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t, tel.observer, tel.tracer, nil)
	a.login()
	a.op.Fail(devprovider.Token, devprovider.Fault{Status: 500})
	a.advance(6 * time.Minute)
	a.login() // the refresh fails; the session goes on
	if got := tel.count(t, "endsession.refreshes", "endsession.outcome", "failed", "endsession.code", "token"); got != 1 {
		t.Errorf("failed refreshes: %d", got)
	}
	if got := tel.count(t, "endsession.provider.call.duration", "endsession.endpoint", "token", "http.response.status_code", "500"); got != 1 {
		t.Errorf("token calls answered 500: %d", got)
	}
	errored := 0
	for _, s := range tel.spans.Ended() {
		if s.Name() == "endsession.provider.token" && s.Status().Code == codes.Error {
			errored++
		}
	}
	if errored != 1 {
		t.Errorf("token spans in error: %d, want 1", errored)
	}
}
