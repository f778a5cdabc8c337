package session

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Data is what a session holds: who the user is, which provider signed
// them in, the provider's tokens, and the session's own times.
//
// Strings stay immutable, so a copy of a Data value is safe to hand out;
// the middleware gives the application copies, never the stored value.
type Data struct {
	// ID identifies the session. It is new for every login and never
	// reused, which defeats session fixation. Stores set it on the first
	// Save when it is empty.
	ID string

	// Provider is the name of the provider the user logged in with; logout
	// uses that provider's strategy.
	Provider string
	// Issuer is the provider's exact issuer identifier.
	Issuer string
	// Subject is the "sub" claim: the user's identifier at the provider.
	Subject string
	// SID is the provider's session identifier (the "sid" claim), used by
	// logout hints and back-channel logout.
	SID string
	// Email is the "email" claim, copied for cheap access.
	Email string
	// Name is the "name" claim, copied for cheap access.
	Name string

	// IDToken is the raw ID token, kept for the id_token_hint at logout
	// even after it has expired.
	IDToken string
	// IDTokenExpiry is the "exp" of IDToken.
	IDTokenExpiry time.Time
	// AccessToken is the OAuth 2.0 access token from the token endpoint.
	AccessToken string
	// TokenType is the access token's type, "Bearer" in practice.
	TokenType string
	// RefreshToken is the refresh token, or empty when the provider gave
	// none.
	RefreshToken string
	// Expiry is when AccessToken expires; zero when the provider did not
	// say.
	Expiry time.Time
	// TokenIssued is when AccessToken was received; with Expiry it gives
	// the token's lifetime, which bounds how early it is refreshed. Zero
	// in sessions written before it was recorded.
	TokenIssued time.Time

	// ExtraClaimsJSON is a JSON object of the claims userinfo added to or
	// changed from the ID token's, or empty. The ID token's own claims are
	// not stored twice: [Data.Claims] reads them from IDToken.
	ExtraClaimsJSON string

	// Device records the device a clientless (device) flow authenticated,
	// for providers whose logout is a server-to-server call about a device.
	Device *Device

	// Created is when the user logged in; the absolute timeout counts from
	// here.
	Created time.Time
	// LastSeen is the last time the session was written because it was
	// used; the idle timeout counts from here.
	LastSeen time.Time
	// Expires is when the session ends unless it is used again: the
	// earlier of the two timeouts, as computed at the last write. Stores
	// refuse a session past Expires and let their records and cookies
	// lapse then.
	Expires time.Time
}

// Device is a device recorded in a session by an application's own device
// flow (for example a clientless TV login).
type Device struct {
	// ID is the device identifier the provider knows.
	ID string
	// Info is the device information as JSON (for example model, osName,
	// osVersion); providers encode it as they need.
	Info string
	// Requestor is the application's requestor (or service provider)
	// identifier at the provider.
	Requestor string
	// MVPD is the TV provider the user chose, where the provider needs it.
	MVPD string
}

// Claims decodes the user's claims into v, as [encoding/json] does: the
// ID token's claims, then ExtraClaimsJSON over them.
func (d *Data) Claims(v any) error {
	if d.IDToken == "" && d.ExtraClaimsJSON == "" {
		return errors.New("session: no claims")
	}
	if d.IDToken != "" {
		parts := strings.Split(d.IDToken, ".")
		if len(parts) != 3 {
			return errors.New("session: the ID token is not a JWT")
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return fmt.Errorf("session: ID token payload: %w", err)
		}
		if err := json.Unmarshal(payload, v); err != nil {
			return fmt.Errorf("session: ID token claims: %w", err)
		}
	}
	if d.ExtraClaimsJSON != "" {
		return json.Unmarshal([]byte(d.ExtraClaimsJSON), v)
	}
	return nil
}

// Valid reports whether the session can still be used at now.
func (d *Data) Valid(now time.Time) bool {
	return !d.Expires.IsZero() && now.Before(d.Expires)
}

// Lifetime says how long sessions live.
type Lifetime struct {
	// Idle ends a session that has not been used for this long (rolling).
	Idle time.Duration
	// Absolute ends a session this long after login, whatever happens.
	Absolute time.Duration
}

// touchEvery is how stale LastSeen may get before a request writes the
// session back; it keeps the idle timeout within a small fraction of its
// length without writing on every request.
func (l Lifetime) touchEvery() time.Duration {
	t := l.Idle / 20
	if t > time.Minute {
		t = time.Minute
	}
	return t
}

// Stamp sets d's times for a session written at now: Created on first
// use, LastSeen, and Expires as the earlier of the two timeouts.
func (l Lifetime) Stamp(d *Data, now time.Time) {
	now = now.Truncate(time.Second)
	if d.Created.IsZero() {
		d.Created = now
	}
	d.LastSeen = now
	d.Expires = now.Add(l.Idle)
	if end := d.Created.Add(l.Absolute); end.Before(d.Expires) {
		d.Expires = end
	}
}

// NeedsTouch reports whether d should be written back at now to keep its
// idle timeout rolling: LastSeen is stale and the absolute timeout still
// leaves room to extend.
func (l Lifetime) NeedsTouch(d *Data, now time.Time) bool {
	if now.Sub(d.LastSeen) < l.touchEvery() {
		return false
	}
	return d.Expires.Before(d.Created.Add(l.Absolute))
}
