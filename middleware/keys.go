package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/endsession/endsession/internal/answer"
	"github.com/endsession/endsession/providers"
)

// keySet verifies token signatures with a provider's published keys (its
// JWKS). It stands in for go-oidc's RemoteKeySet, which fetches the keys
// again for every token it cannot verify, in a goroutine that no request
// deadline stops: tokens under made-up key ids would make the middleware
// hammer the provider, and a slow provider would keep goroutines running
// after the request gave up.
//
// keySet fetches in the caller's goroutine, within the caller's context
// and its own timeout; callers that need keys while a fetch is in flight
// wait for that one. It fetches again only for a key id it does not hold,
// and not within missCooldown of a fetch that did not bring the key asked
// for, nor within retryAfter of a failed fetch.
type keySet struct {
	url    string
	client *http.Client
	// label, when set, names the fetches for the Observer.
	label   func(context.Context) context.Context
	algs    []jose.SignatureAlgorithm
	timeout time.Duration
	now     func() time.Time

	mu         sync.Mutex
	keys       []jose.JSONWebKey
	quietUntil time.Time     // no fetch before this
	lastErr    error         // of the last fetch
	fetching   chan struct{} // closed when the fetch in flight ends
}

// missCooldown is how long after a fetch that did not bring the key a
// token named no token can make keySet fetch again. A provider that signs
// with a key it published only just now is picked up at once, unless a
// token with an unknown key id arrived in the last missCooldown.
const missCooldown = 10 * time.Second

// errFetchingKeys starts the errors of fetches; go-oidc passes on only the
// text of the key set's errors, so the middleware tells a provider that
// failed from a bad token by it.
const errFetchingKeys = "fetching keys"

// keysUnreachable reports whether err, from verifying a token within ctx,
// means that the provider's keys could not be fetched (the provider is
// down or slow) rather than that the token is bad. go-oidc keeps only the
// text of the key set's errors.
func keysUnreachable(ctx context.Context, err error) bool {
	return ctx.Err() != nil || strings.Contains(err.Error(), errFetchingKeys)
}

// keysError returns the cause of a failed verification for which
// keysUnreachable holds: the error of the key set's last fetch, which
// go-oidc passes on only as text, or the context's.
func keysError(ctx context.Context, resolved *providers.Resolved, err error) error {
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	if k, ok := resolved.KeySet.(*keySet); ok {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.lastErr != nil {
			return k.lastErr
		}
	}
	return err
}

// prefetch fetches the keys now, unless they are held already or a
// fetch failed just now, and returns how many signing keys the set holds.
func (k *keySet) prefetch(ctx context.Context) (int, error) {
	k.mu.Lock()
	held := len(k.keys) > 0
	k.mu.Unlock()
	if !held {
		if err := k.refresh(ctx, ""); err != nil {
			return 0, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !held {
		// A fetch without a key id to find is no miss: the next token
		// naming a key not held may fetch again at once.
		k.quietUntil = time.Time{}
	}
	n := 0
	for _, key := range k.keys {
		if key.Use != "enc" && key.Valid() {
			n++
		}
	}
	return n, nil
}

var errUnknownKey = errors.New("no published key has the token's key id")

func newKeySet(url string, client *http.Client, algs []string, timeout time.Duration, now func() time.Time) *keySet {
	k := &keySet{url: url, client: client, timeout: timeout, now: now}
	for _, a := range algs {
		k.algs = append(k.algs, jose.SignatureAlgorithm(a))
	}
	return k
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	// A JWT is always in the compact serialization (RFC 7519, section
	// 7.2); ParseSigned would first copy the token to strip whitespace,
	// which costs twice the parse itself.
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token must have exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if payload, known, err := k.verify(jws, kid); known {
		return payload, err
	}
	if err := k.refresh(ctx, kid); err != nil {
		return nil, err
	}
	if payload, known, err := k.verify(jws, kid); known {
		return payload, err
	}
	return nil, errUnknownKey
}

// verify checks jws with the keys held. known reports whether the verdict
// is final: a key with the token's id was there (or, for a token without
// a key id, one of the keys verified it).
func (k *keySet) verify(jws *jose.JSONWebSignature, kid string) (payload []byte, known bool, err error) {
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		known = kid != ""
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true, nil
		}
	}
	if known {
		return nil, true, errors.New("the signature does not verify")
	}
	return nil, false, nil
}

// refresh fetches the keys unless a fetch is in flight (it then waits for
// that one) or the key set is keeping quiet. It returns the error of the
// fetch it made or waited for, or of the last one while quiet.
func (k *keySet) refresh(ctx context.Context, kid string) error {
	k.mu.Lock()
	if ch := k.fetching; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", errFetchingKeys, ctx.Err())
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.lastErr
	}
	if k.now().Before(k.quietUntil) {
		defer k.mu.Unlock()
		return k.lastErr
	}
	ch := make(chan struct{})
	k.fetching = ch
	k.mu.Unlock()

	keys, err := k.fetch(ctx)

	k.mu.Lock()
	defer k.mu.Unlock()
	k.fetching = nil
	close(ch)
	k.quietUntil = time.Time{}
	if err != nil {
		k.lastErr = fmt.Errorf("%s: %w", errFetchingKeys, err)
		k.quietUntil = k.now().Add(retryAfter)
		return k.lastErr
	}
	k.keys, k.lastErr = keys, nil
	if !hasKey(keys, kid) {
		k.quietUntil = k.now().Add(missCooldown)
	}
	return nil
}

func hasKey(keys []jose.JSONWebKey, kid string) bool {
	for _, key := range keys {
		if kid != "" && key.KeyID == kid {
			return true
		}
	}
	return false
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	if k.label != nil {
		ctx = k.label(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := answer.Read(resp, answer.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %w", k.url, answer.Failed("keys", resp, body))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		// The decoder's message may quote the provider's text.
		return nil, fmt.Errorf("%s: the answer is not a JSON Web Key Set", k.url)
	}
	return set.Keys, nil
}
