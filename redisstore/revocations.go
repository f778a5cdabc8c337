package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/session"
)

// Revocations is a [session.Revocations] list in Redis, shared by the
// replicas of an application that keeps sessions in cookies (a
// [session.CookieStore] or [session.GorillaStore]): a logout, a
// back-channel or a front-channel logout received by one replica ends the
// session on all of them, copies of its cookie included.
//
// Each match is a string "<prefix>{r}:id|<id>" (a logout),
// "<prefix>{r}:sid|<issuer>|<sid>" or "<prefix>{r}:sub|<issuer>|<subject>"
// (a provider logout) holding the logout's time and expiring at
// [session.Match.Until]. Revoked costs one MGET.
//
// On Redis Cluster the "{r}" puts the whole list in one hash slot, so
// that MGET and the budgets' scripts stay on one node: the list is
// bounded (about 1 KB a match), but every check of a request goes to that
// node, which the cluster does not spread.
//
// The list is bounded as [session.MemoryRevocations] is, by
// [Options.RevocationLimits]: each budget is a sorted set,
// "<prefix>{r}:q:logouts", "<prefix>{r}:q:provider" and "<prefix>{r}:q:unverified"
// (front-channel logouts, [session.Match.Unverified]), of its matches by
// expiry; past a budget's cap, recording a match drops the one of its
// budget that lapses soonest, so a flood of front-channel logouts never
// evicts a signed one. A signed match of a key an unverified one holds
// moves it to the provider budget. Names longer than [session.MaxMatchLen] are
// refused, so each match takes at most about 1 KB of Redis memory. Revoke
// is one script call of O(log n).
type Revocations struct {
	c      client
	opts   Options
	limits session.RevocationLimits
	drops  drops
}

// DefaultRevocationTTL is how long a match without Until is kept: the
// middleware's default absolute session lifetime.
const DefaultRevocationTTL = session.DefaultRevocationTTL

// NewRevocations returns a Revocations list using c, or an error if c or
// opts are not suitable (see [Options.Timeout]).
func NewRevocations(c redis.UniversalClient, opts Options) (*Revocations, error) {
	opts.setDefaults()
	if err := check(c, opts, true); err != nil {
		return nil, err
	}
	return &Revocations{c: c, opts: opts, limits: opts.RevocationLimits.WithDefaults()}, nil
}

func (l *Revocations) key(kind, issuer, name string) string {
	if kind == "id" {
		return l.opts.Prefix + "{r}:id|" + name
	}
	return l.opts.Prefix + "{r}:" + kind + "|" + issuer + "|" + name
}

// revokeScript keeps the latest logout time of a match, for at least the
// given TTL, in its budget. It first drops the budget's lapsed members
// and, when the budget is full and the match is new, the member that
// lapses soonest.
//
// KEYS: the match, its budget, the other provider budget (unverified for
// a signed match, provider for an unverified one; the logouts' own for a
// logout). ARGV: time (Unix ms), until (Unix ms), now (Unix ms), the
// budget's cap, the other budget's cap, "signed", "unverified" or "".
var revokeScript = redis.NewScript(`
local at, untilms, now, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local budget = KEYS[2]
if ARGV[6] == 'unverified' and redis.call('ZSCORE', KEYS[3], KEYS[1]) then
	budget, cap = KEYS[3], tonumber(ARGV[5]) -- already signed: it stays there
elseif ARGV[6] == 'signed' then
	redis.call('ZREM', KEYS[3], KEYS[1])
end
redis.call('ZREMRANGEBYSCORE', budget, '-inf', now)
local dropped = 0
if not redis.call('ZSCORE', budget, KEYS[1]) then
	while redis.call('ZCARD', budget) >= cap do
		local first = redis.call('ZPOPMIN', budget)
		redis.call('DEL', first[1])
		dropped = dropped + 1
	end
end
local ttl = untilms - now
local pttl = redis.call('PTTL', KEYS[1])
if pttl > ttl then
	ttl = pttl
end
local old = redis.call('GET', KEYS[1])
if not old or tonumber(old) < at then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
	redis.call('PEXPIRE', KEYS[1], ttl)
end
redis.call('ZADD', budget, now + ttl, KEYS[1])
if redis.call('PTTL', budget) < ttl then
	redis.call('PEXPIRE', budget, ttl)
end
return dropped
`)

// Revoke implements [session.Revocations] with one script call. A match
// whose Until has passed is not recorded: no session it could select is
// left. A zero Until means [DefaultRevocationTTL].
func (l *Revocations) Revoke(ctx context.Context, m session.Match) error {
	if err := session.CheckRevocation(m); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	now := l.opts.Now()
	until := m.Until
	if until.IsZero() {
		until = now.Add(DefaultRevocationTTL)
	}
	if until.Sub(now).Milliseconds() <= 0 {
		return nil
	}
	key, budget, other, limit, otherLimit, mode := l.key("id", "", m.ID), "logouts", "logouts", l.limits.Logouts, l.limits.Logouts, ""
	switch {
	case m.ID != "":
	case m.SID != "":
		key = l.key("sid", m.Issuer, m.SID)
	default:
		key = l.key("sub", m.Issuer, m.Subject)
	}
	switch {
	case m.ID != "":
	case m.Unverified:
		budget, other, limit, otherLimit, mode = "unverified", "provider", l.limits.UnverifiedLogouts, l.limits.ProviderLogouts, "unverified"
	default:
		budget, other, limit, otherLimit, mode = "provider", "unverified", l.limits.ProviderLogouts, l.limits.UnverifiedLogouts, "signed"
	}
	keys := []string{key, l.opts.Prefix + "{r}:q:" + budget, l.opts.Prefix + "{r}:q:" + other}
	var n int
	err := call(ctx, l.c, l.opts.Timeout, "revoke", func(ctx context.Context) error {
		return replicated(ctx, l.c, l.opts, key, func(c client) error {
			var err error
			n, err = revokeScript.Run(ctx, c, keys, m.At.UnixMilli(), until.UnixMilli(), now.UnixMilli(), limit, otherLimit, mode).Int()
			return err
		})
	})
	if n > 0 {
		l.drops.note(l.opts.Logger, now, budget, n, limit)
	}
	return err
}

// limitNames are the fields of session.RevocationLimits that cap each
// budget.
var limitNames = map[string]string{"logouts": "Logouts", "provider": "ProviderLogouts", "unverified": "UnverifiedLogouts"}

// drops warns that a full budget dropped logouts before they lapsed, at
// most once a minute, with how many since the last warning, as
// session.MemoryRevocations does.
type drops struct {
	mu      sync.Mutex
	pending map[string]dropped // by budget
	last    time.Time
}

// dropped counts a budget's live members dropped since the last warning.
type dropped struct{ n, cap int }

// note records that n live members of budget, whose cap is limit, were
// just dropped.
func (d *drops) note(log *slog.Logger, now time.Time, budget string, n, limit int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == nil {
		d.pending = make(map[string]dropped)
	}
	d.pending[budget] = dropped{d.pending[budget].n + n, limit}
	if !d.last.IsZero() && now.Sub(d.last) < time.Minute {
		return
	}
	for b, p := range d.pending {
		log.Warn("revocation list full: logouts dropped before they lapsed, the sessions they ended open again until they expire; raise session.RevocationLimits."+limitNames[b],
			"event", "session.revocation_drop", "budget", b, "dropped", p.n, "limit", limitNames[b], "cap", p.cap)
	}
	clear(d.pending)
	d.last = now
}

// Revoked implements [session.Revocations] with one MGET of the
// session's own match and of its sid and subject matches.
func (l *Revocations) Revoked(ctx context.Context, d *session.Data) (bool, error) {
	var keys []string
	add := func(kind, issuer, name string) {
		if name != "" && (kind == "id" || issuer != "") && len(name) <= session.MaxMatchLen {
			keys = append(keys, l.key(kind, issuer, name))
		}
	}
	add("id", "", d.ID)
	byID := len(keys) == 1 // the first key, when there is one, is the ID's
	add("sid", d.Issuer, d.SID)
	add("sub", d.Issuer, d.Subject)
	if len(keys) == 0 {
		return false, nil
	}
	var vals []any
	err := call(ctx, l.c, l.opts.Timeout, "MGET", func(ctx context.Context) error {
		var err error
		vals, err = l.c.MGet(ctx, keys...).Result()
		return err
	})
	if err != nil {
		return false, err
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if i == 0 && byID {
			return true, nil // a logout: an ID is never reused
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		if !d.Created.After(time.UnixMilli(ms)) {
			return true, nil
		}
	}
	return false, nil
}
