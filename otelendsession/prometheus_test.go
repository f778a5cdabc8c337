package otelendsession_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/endsession/endsession/otelendsession"
)

// TestPrometheusScrape signs in and out, sends a bad logout token and
// scrapes /metrics, served through OpenTelemetry's Prometheus exporter.
func TestPrometheusScrape(t *testing.T) {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		t.Fatal(err)
	}
	observer, err := otelendsession.New(otelendsession.Options{
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, observer, nil, promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	a.login()
	a.logout()
	a.postLogoutToken("not-a-token")
	scrape := a.get("/metrics")

	// value returns the value of the sample of name whose labels include
	// every one of labels, or "" when there is none.
	value := func(name string, labels ...string) string {
	lines:
		for _, line := range strings.Split(scrape, "\n") {
			rest, ok := strings.CutPrefix(line, name+"{")
			if !ok {
				continue
			}
			set, v, ok := strings.Cut(rest, "} ")
			if !ok {
				continue
			}
			for _, l := range labels {
				if !strings.Contains(","+set+",", ","+l+",") {
					continue lines
				}
			}
			return v
		}
		return ""
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   string
	}{
		{"endsession_logins_total", []string{`endsession_provider="dev"`, `endsession_outcome="ok"`}, "1"},
		{"endsession_logouts_total", []string{`endsession_provider="dev"`, `endsession_reason="user"`, `endsession_outcome="ok"`}, "1"},
		{"endsession_logout_steps_total", []string{`endsession_step="session.delete"`, `endsession_outcome="ok"`}, "1"},
		{"endsession_logout_steps_total", []string{`endsession_step="provider.end_session"`, `endsession_outcome="ok"`}, "1"},
		{"endsession_backchannel_logouts_total", []string{`endsession_outcome="rejected"`, `endsession_code="invalid_request"`}, "1"},
		{"endsession_rejected_total", []string{`endsession_route="backchannel_logout"`, `endsession_code="invalid_request"`, `http_response_status_code="400"`}, "1"},
		{"endsession_provider_call_duration_seconds_count", []string{`endsession_provider="dev"`, `endsession_endpoint="token"`, `http_request_method="POST"`, `http_response_status_code="200"`}, "1"},
		{"endsession_provider_call_duration_seconds_count", []string{`endsession_endpoint="discovery"`}, "1"},
	} {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %q, want %q", c.name, c.labels, got, c.want)
		}
	}
	if t.Failed() {
		t.Logf("the scrape:\n%s", scrape)
	}
}
