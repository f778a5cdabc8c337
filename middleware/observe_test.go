package middleware

import (
	"context"
	"net/http"
	"testing"
)

type nopObserver struct{}

func (nopObserver) Observe(context.Context, Event) {}
func (nopObserver) ProviderCall(ctx context.Context, _ ProviderCall) (context.Context, func(int, error)) {
	return ctx, nil
}

// Without an Observer the application's client is used as it is and
// provider calls' contexts are not labeled; with one, the application's
// client is not changed either.
func TestObserverCostsNothingWhenNil(t *testing.T) {
	client := &http.Client{}
	m := newTestMiddleware(t, nil, Config{HTTPClient: client})
	if m.cfg.HTTPClient != client {
		t.Error("without an Observer the HTTPClient was replaced")
	}
	ctx := context.Background()
	if m.providerCall(ctx, "op", "token") != ctx {
		t.Error("without an Observer a provider call's context was labeled")
	}
	m = newTestMiddleware(t, nil, Config{HTTPClient: client, Observer: nopObserver{}})
	if m.cfg.HTTPClient == client || client.Transport != nil {
		t.Error("with an Observer the application's own client was changed, or not wrapped")
	}
	if allocs := testing.AllocsPerRun(100, func() { m.observe(ctx, Event{Kind: EventLogin}) }); allocs != 0 {
		t.Errorf("observe allocates %v times", allocs)
	}
}
