package middleware

import (
	"context"
	"errors"
	"fmt"
)

// CheckProviders discovers every provider that has a login and fetches
// its keys, now rather than at the first login that needs them, and keeps
// what it found for the logins to come. [New] makes no network call, so
// that an application starts while a provider is down; call
// CheckProviders after New to learn at start-up (or in a readiness probe)
// that a provider is unreachable or misconfigured, and decide whether to
// stop.
//
// It returns nil, or one error per failing provider (joined with
// errors.Join), each naming the provider and wrapping one of
// [ErrProviderUnreachable] (no connection, a time-out, a 5xx answer),
// [ErrProviderMisconfigured] (the provider answered what the
// configuration does not expect; [providers.ErrIssuerMismatch] when its
// discovery document names another issuer) or [ErrNoKeys] (its key set
// holds no signing key). Each call to a provider is bounded by
// ProviderTimeout and by ctx. A provider whose discovery failed is not
// asked again within two seconds: the same error is returned.
func (m *Middleware) CheckProviders(ctx context.Context) error {
	var errs []error
	for _, p := range m.order {
		if !p.HasLogin() {
			continue
		}
		if err := m.checkProvider(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("middleware: provider %q: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Middleware) checkProvider(ctx context.Context, p *provider) error {
	resolved, err := m.resolve(ctx, p)
	if err != nil {
		return checkFailure("discovery", err)
	}
	k, ok := resolved.KeySet.(*keySet)
	if !ok {
		return nil
	}
	n, err := k.prefetch(ctx)
	if err != nil {
		return checkFailure("keys", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s holds no signing key", ErrNoKeys, k.url)
	}
	return nil
}

// checkFailure wraps err, of step, in the error of its class.
func checkFailure(step string, err error) error {
	if classify(err) == failureMisconfigured {
		return fmt.Errorf("%w: %s: %w", ErrProviderMisconfigured, step, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrProviderUnreachable, step, err)
}
