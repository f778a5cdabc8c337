package otelendsession_test

import (
	"bufio"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/otelendsession"
	"github.com/endsession/endsession/providers"
)

// This example serves the middleware's figures to Prometheus through
// OpenTelemetry's Prometheus exporter, on /metrics, then signs alice in
// and out against the development provider and scrapes them.
func Example_prometheus() {
	// The exporter is the meter provider's reader; its registry is what
	// /metrics serves.
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
	if err != nil {
		log.Fatal(err)
	}
	observer, err := otelendsession.New(otelendsession.Options{
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)),
	})
	if err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	op, err := devprovider.Start(devprovider.Config{
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appURL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logged-out"},
		}},
		AutoLogin: "alice",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	mw, err := middleware.New(middleware.Config{
		AppURL:    appURL,
		Providers: []providers.Provider{providers.OIDC("dev", op.Issuer(), "app", "app-secret")},
		Keys:      testKeys,
		Observer:  observer,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.Handle("/", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})))
	go http.Serve(ln, mw.Handler(mux))

	// A browser signs in, then out with the sign-out button.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(appURL + "/")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	logout, _ := http.NewRequest(http.MethodPost, appURL+"/auth/logout",
		strings.NewReader(url.Values{"return_to": {"/metrics"}}.Encode()))
	logout.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	logout.Header.Set("Origin", appURL) // as the browser sends it from the app's page
	resp, err = browser.Do(logout)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()

	// The logout lands on /metrics: the scrape.
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "endsession_logins_total") || strings.HasPrefix(line, "endsession_logouts_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// endsession_logins_total{endsession_outcome="ok",endsession_provider="dev"} 1
	// endsession_logouts_total{endsession_outcome="ok",endsession_provider="dev",endsession_reason="user"} 1
}
