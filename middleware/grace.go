package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/endsession/endsession/internal/cookiecodec"
	"github.com/endsession/endsession/session"
)

// RefreshGrace is how long the result of a refresh is remembered for the
// requests that still carry the session from before it: requests sent at
// the same time, another tab, the back button, a request the browser
// retried. Such a request gets the refreshed session, and its response
// gives the browser the new cookie; it never sends the spent refresh
// token, which a provider that rotates refresh tokens takes for a theft
// (it revokes the whole grant). Past the window a spent refresh token is
// sent to the provider, which answers as it does for any reuse.
const RefreshGrace = 30 * time.Second

// RefreshResults is an upgrade of a [Locker]: a Locker that implements it
// also shares the result of each refresh with the other replicas for
// [RefreshGrace], so that a request carrying the session from before a
// refresh gets the refreshed session whichever replica it reaches. With
// the cookie store and several replicas, the Locker must have it (as
// redisstore's RefreshLocker does): the refreshed session is otherwise
// only in the browser that got the first response. Values are encrypted
// and authenticated under Config.Keys; keys are hashes.
type RefreshResults interface {
	// Remember keeps value under key for ttl.
	Remember(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Recall returns the value kept under key, or nil and no error when
	// there is none (never kept, or lapsed).
	Recall(ctx context.Context, key string) ([]byte, error)
}

// maxRemembered bounds the refresh results a process keeps in memory:
// past it the oldest are dropped.
const maxRemembered = 10_000

// maxChain is how many refreshes a request that carries an old session
// may catch up with: a session rotated twice within the grace window is
// found through the result of each rotation.
const maxChain = 4

// spentKey names the result of the refresh that spends d's refresh token:
// "<session>.<token>", the session's group (see sessionGroup) and a hash
// of the session id and the token, neither of which it reveals.
func spentKey(d *session.Data) string {
	h := sha256.New()
	h.Write([]byte(d.ID))
	h.Write([]byte{0})
	h.Write([]byte(d.RefreshToken))
	return sessionGroup(d.ID) + "." + hex.EncodeToString(h.Sum(nil)[:16])
}

// sessionGroup is the part of the spent keys that all the refresh
// results of session id share: a hash of the id.
func sessionGroup(id string) string {
	h := sha256.Sum256([]byte("endsession-refresh-session\x00" + id))
	return hex.EncodeToString(h[:16])
}

// RefreshForgetter is an upgrade of a [RefreshResults]: when a session
// ends (logout, provider logout, refused refresh...), the middleware
// drops the refresh results it shared for it at once, rather than leave
// its tokens there until the grace window lapses. Every key of one
// session is "<group>.<token>" and shares the group given to Forget.
type RefreshForgetter interface {
	Forget(ctx context.Context, group string) error
}

// forgetRefreshes drops the refresh results of session id, in memory and
// where they are shared, when the Locker can; a failure is reported.
func (m *Middleware) forgetRefreshes(ctx context.Context, id string, rep *LogoutReport) {
	group := sessionGroup(id)
	m.remembered.forget(group)
	// Another replica may have refreshed the session: ask the shared
	// results too.
	if f, ok := m.cfg.Locker.(RefreshForgetter); ok {
		if err := f.Forget(ctx, group); err != nil {
			rep.add("session.refresh_results", err, "the shared refresh results lapse with the grace window;")
		}
	}
}

// refreshMemory is the results of this process's recent refreshes, by
// spent key, oldest first, at most maxRemembered of them for RefreshGrace.
type refreshMemory struct {
	mu      sync.Mutex
	results map[string]*session.Data
	order   []remembered
	// groups lists the keys of the results kept per session group, for
	// forget: a handful each.
	groups map[string][]string
}

type remembered struct {
	key string
	at  time.Time
}

func (rm *refreshMemory) put(key string, d *session.Data, now time.Time) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.expire(now)
	if rm.results == nil {
		rm.results = make(map[string]*session.Data)
		rm.groups = make(map[string][]string)
	}
	if _, ok := rm.results[key]; !ok {
		rm.order = append(rm.order, remembered{key, now})
		g := groupOf(key)
		rm.groups[g] = append(rm.groups[g], key)
	}
	rm.results[key] = d
}

// groupOf returns the session group of a spent key.
func groupOf(key string) string {
	group, _, _ := strings.Cut(key, ".")
	return group
}

// forget drops the results of a session group. The dropped keys leave
// rm.order as they lapse.
func (rm *refreshMemory) forget(group string) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, k := range rm.groups[group] {
		delete(rm.results, k)
	}
	delete(rm.groups, group)
}

func (rm *refreshMemory) get(key string, now time.Time) *session.Data {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.expire(now)
	return rm.results[key]
}

// expire drops the results past the window, and the oldest past the cap.
// The caller holds rm.mu.
func (rm *refreshMemory) expire(now time.Time) {
	for len(rm.order) > 0 && (now.Sub(rm.order[0].at) > RefreshGrace || len(rm.order) >= maxRemembered) {
		key := rm.order[0].key
		delete(rm.results, key)
		g := groupOf(key)
		if keys := slices.DeleteFunc(rm.groups[g], func(k string) bool { return k == key }); len(keys) > 0 {
			rm.groups[g] = keys
		} else {
			delete(rm.groups, g)
		}
		rm.order[0] = remembered{}
		rm.order = rm.order[1:]
	}
}

// newResultCodec returns the codec of the results shared through
// RefreshResults: securecookie's format under the session keys, valid a
// little longer than the window (whole seconds), at most 64 KiB.
func newResultCodec(keys []session.KeyPair) (*cookiecodec.Codec, error) {
	pairs := make([]cookiecodec.KeyPair, len(keys))
	for i, k := range keys {
		pairs[i] = cookiecodec.KeyPair{HashKey: k.HashKey, BlockKey: k.BlockKey}
	}
	return cookiecodec.New(pairs, RefreshGrace+2*time.Second, 64<<10)
}

// remember keeps nd, the session after the refresh that spent key's
// token, for RefreshGrace: in memory, and for the other replicas when the
// Locker shares results.
func (m *Middleware) remember(ctx context.Context, key string, nd *session.Data, now time.Time) {
	cp := *nd
	m.remembered.put(key, &cp, now)
	shared, ok := m.cfg.Locker.(RefreshResults)
	if !ok {
		return
	}
	value, err := m.resultCodec.Encode("endsession-refresh-"+key, nd.AppendBinary)
	if err == nil {
		err = shared.Remember(ctx, key, []byte(value), RefreshGrace)
	}
	if err != nil {
		m.log.WarnContext(ctx, "refresh result not shared with the other replicas", "event", "refresh",
			"provider", nd.Provider, "reason", describe(err))
	}
}

// recall returns the session as refreshed from d within the grace window,
// following later refreshes of it, or nil when d's refresh token was not
// spent (or too long ago).
func (m *Middleware) recall(ctx context.Context, d *session.Data, now time.Time) *session.Data {
	var found *session.Data
	for range maxChain {
		nd := m.recallOne(ctx, spentKey(d), d, now)
		if nd == nil {
			break
		}
		found, d = nd, nd
		if !refreshDue(d, now, m.cfg.RefreshMargin) {
			break
		}
	}
	return found
}

func (m *Middleware) recallOne(ctx context.Context, key string, d *session.Data, now time.Time) *session.Data {
	if nd := m.remembered.get(key, now); nd != nil {
		return nd
	}
	shared, ok := m.cfg.Locker.(RefreshResults)
	if !ok {
		return nil
	}
	value, err := shared.Recall(ctx, key)
	if err != nil || value == nil {
		if err != nil {
			m.log.WarnContext(ctx, "refresh results of the other replicas unavailable", "event", "refresh",
				"provider", d.Provider, "reason", describe(err))
		}
		return nil
	}
	nd := new(session.Data)
	err = m.resultCodec.Decode("endsession-refresh-"+key, []string{string(value)}, nd.UnmarshalBinary)
	if err == nil && (nd.ID != d.ID || nd.Subject != d.Subject || nd.Provider != d.Provider) {
		err = errors.New("the result is of another session")
	}
	if err != nil {
		m.log.WarnContext(ctx, "a shared refresh result was refused", "event", "refresh", "provider", d.Provider, "reason", describe(err))
		return nil
	}
	m.remembered.put(key, nd, now)
	return nd
}
