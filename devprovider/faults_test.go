package devprovider_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

func TestFailStatus(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice"})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	f := newFlow()
	code := b.authorize(r, f).Query().Get("code")

	op.Fail(devprovider.Token, devprovider.Fault{Status: http.StatusServiceUnavailable})
	_, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	if re := retrieveError(t, err); re.Response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", re.Response.StatusCode)
	}
	if _, err := oidc.NewProvider(context.Background(), op.Issuer()); err != nil {
		t.Errorf("a fault on Token broke discovery: %v", err)
	}

	op.Recover(devprovider.Token)
	// The failed attempt never reached the code, which still works.
	r.exchange(t, f, code)
}

func TestFailEveryEndpoint(t *testing.T) {
	op := start(t, devprovider.Config{})
	for _, ep := range []devprovider.Endpoint{
		devprovider.Discovery, devprovider.JWKS, devprovider.Authorize, devprovider.Token,
		devprovider.UserInfo, devprovider.EndSession, devprovider.Revocation,
	} {
		op.Fail(ep, devprovider.Fault{Status: http.StatusTeapot})
		resp, err := http.Get(op.Issuer() + string(ep))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s: status %d, want 418", ep, resp.StatusCode)
		}
		op.Recover(ep)
	}
}

func TestFailDelay(t *testing.T) {
	op := start(t, devprovider.Config{})
	op.Fail(devprovider.Discovery, devprovider.Fault{Delay: 100 * time.Millisecond})
	began := time.Now()
	if _, err := oidc.NewProvider(context.Background(), op.Issuer()); err != nil {
		t.Fatalf("a delay without status failed discovery: %v", err)
	}
	if took := time.Since(began); took < 100*time.Millisecond {
		t.Errorf("discovery took %v, want at least the 100ms delay", took)
	}
}

// TestFailDelayHonorsCancellation checks that a delayed handler returns when
// the client gives up: httptest.Server.Close waits for every handler.
func TestFailDelayHonorsCancellation(t *testing.T) {
	op, err := devprovider.New(devprovider.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(op)
	op.SetIssuer(srv.URL)
	op.Fail(devprovider.Token, devprovider.Fault{Delay: time.Hour, Status: http.StatusOK})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/token", nil)
	_, err = http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the deadline", err)
	}
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the delayed handler outlived its client")
	}
}

// TestCloseEndsDelays checks that Close ends a delay whose client waits.
func TestCloseEndsDelays(t *testing.T) {
	op := start(t, devprovider.Config{})
	op.Fail(devprovider.UserInfo, devprovider.Fault{Delay: time.Hour})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(op.Issuer() + "/userinfo")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the delay")
	}
}
