package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/session"
)

// Revocations is a [session.Revocations] list in Redis, shared by the
// replicas of an application that keeps sessions in cookies (a
// [session.CookieStore] or [session.GorillaStore]): a back-channel logout
// received by one replica ends the session on all of them.
//
// Each match is a string "<prefix>r:sid|<issuer>|<sid>" or
// "<prefix>r:sub|<issuer>|<subject>" holding the logout's time, expiring
// at [session.Match.Until]. Revoked costs one MGET.
type Revocations struct {
	c    client
	opts Options
}

// DefaultRevocationTTL is how long a match without Until is kept: the
// middleware's default absolute session lifetime.
const DefaultRevocationTTL = 7 * 24 * time.Hour

// NewRevocations returns a Revocations list using c, or an error if c or
// opts are not suitable (see [Options.Timeout]).
func NewRevocations(c redis.UniversalClient, opts Options) (*Revocations, error) {
	opts.setDefaults()
	if err := check(c, opts, true); err != nil {
		return nil, err
	}
	return &Revocations{c: c, opts: opts}, nil
}

func (l *Revocations) key(bySID bool, issuer, name string) string {
	if bySID {
		return l.opts.Prefix + "r:sid|" + issuer + "|" + name
	}
	return l.opts.Prefix + "r:sub|" + issuer + "|" + name
}

// revokeScript keeps the latest logout time of a match, for at least the
// given TTL. KEYS: the match. ARGV: time (Unix ms), ttl ms.
var revokeScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
if not old or tonumber(old) < tonumber(ARGV[1]) then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

// Revoke implements [session.Revocations] with one script call. A match
// whose Until has passed is not recorded: no session it could select is
// left. A zero Until means [DefaultRevocationTTL].
func (l *Revocations) Revoke(ctx context.Context, m session.Match) error {
	if m.Issuer == "" || (m.SID == "" && m.Subject == "") {
		return errors.New("redisstore: a revocation needs an issuer and a sid or subject")
	}
	ttl := DefaultRevocationTTL
	if !m.Until.IsZero() {
		ttl = m.Until.Sub(l.opts.Now())
	}
	if ttl.Milliseconds() <= 0 {
		return nil
	}
	key := l.key(true, m.Issuer, m.SID)
	if m.SID == "" {
		key = l.key(false, m.Issuer, m.Subject)
	}
	return call(ctx, l.opts.Timeout, "revoke", func(ctx context.Context) error {
		return revokeScript.Run(ctx, l.c, []string{key}, m.At.UnixMilli(), ttl.Milliseconds()).Err()
	})
}

// Revoked implements [session.Revocations] with one MGET of the
// session's sid and subject matches.
func (l *Revocations) Revoked(ctx context.Context, d *session.Data) (bool, error) {
	if d.Issuer == "" || (d.SID == "" && d.Subject == "") {
		return false, nil
	}
	var vals []any
	err := call(ctx, l.opts.Timeout, "MGET", func(ctx context.Context) error {
		var err error
		vals, err = l.c.MGet(ctx, l.key(true, d.Issuer, d.SID), l.key(false, d.Issuer, d.Subject)).Result()
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
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		m := session.Match{Issuer: d.Issuer, At: time.UnixMilli(ms)}
		if i == 0 {
			m.SID = d.SID
		} else {
			m.Subject = d.Subject
		}
		if (m.SID != "" || m.Subject != "") && m.Matches(d) {
			return true, nil
		}
	}
	return false, nil
}
