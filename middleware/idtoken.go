package middleware

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/endsession/endsession/providers"
)

// maxClockSkew is how far in the future an ID token's iat may be: the
// provider's clock and ours may differ by this much.
const maxClockSkew = 5 * time.Minute

// idClaims are the claims of an ID token that the middleware reads
// besides those go-oidc checks (iss, aud, exp, nonce, at_hash).
type idClaims struct {
	AZP      string   `json:"azp"`
	AuthTime *float64 `json:"auth_time"`
	SID      string   `json:"sid"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
}

// checkIDToken makes the checks of OpenID Connect Core §3.1.3.7 that
// go-oidc's Verify leaves to the relying party, at login and at refresh
// alike: the token names its subject, its azp is this client when it has
// one or several audiences, and its iat is present (§2 requires it) and
// not in the future. It returns the claims the middleware keeps.
func checkIDToken(clientID string, idt *oidc.IDToken, now time.Time) (*idClaims, error) {
	// go-oidc does not require sub; a session must know whose it is.
	if idt.Subject == "" {
		return nil, errors.New("ID token has no sub")
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return nil, err
	}
	if (c.AZP != "" || len(idt.Audience) > 1) && c.AZP != clientID {
		return nil, errors.New("azp is not this client")
	}
	if idt.IssuedAt.IsZero() {
		return nil, errors.New("ID token has no iat")
	}
	if idt.IssuedAt.After(now.Add(maxClockSkew)) {
		return nil, errors.New("ID token issued in the future")
	}
	return &c, nil
}

// checkRefreshedIDToken makes the checks of OpenID Connect Core §12.2 on
// an ID token that came with refreshed tokens, against prev, the raw ID
// token the session holds (verified when it was received): the same
// subject and audience (checkIDToken checked azp), the auth_time of the original authentication
// and, when it has a nonce, the nonce of the login, and the same issuer
// (the verifier checked it against the provider's, but a multi-tenant
// provider's has the token's own tenant in it). prev is empty for a
// session started without an ID token.
func checkRefreshedIDToken(prev, subject string, idt *oidc.IDToken, c *idClaims) error {
	if idt.Subject != subject {
		return errors.New("the refreshed ID token names another subject")
	}
	if prev == "" {
		return nil
	}
	old, err := unverifiedClaims(prev)
	if err != nil {
		return err
	}
	switch {
	case old.Iss != "" && idt.Issuer != old.Iss:
		return errors.New("the refreshed ID token has another issuer")
	case !sameSet(idt.Audience, old.Aud):
		return errors.New("the refreshed ID token has another audience")
	case c.AuthTime != nil && old.AuthTime != nil && int64(*c.AuthTime) != int64(*old.AuthTime):
		return errors.New("the refreshed ID token has another auth_time")
	case idt.Nonce != "" && idt.Nonce != old.Nonce:
		return errors.New("the refreshed ID token has another nonce")
	}
	return nil
}

// storedClaims are the claims of a stored ID token that a refreshed one
// is compared with.
type storedClaims struct {
	Iss      string   `json:"iss"`
	Aud      audience `json:"aud"`
	AuthTime *float64 `json:"auth_time"`
	Nonce    string   `json:"nonce"`
}

// unverifiedClaims reads the claims of an ID token the middleware verified
// before it stored it.
func unverifiedClaims(raw string) (*storedClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("the stored ID token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("the stored ID token does not decode")
	}
	var c storedClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("the stored ID token does not decode")
	}
	return &c, nil
}

// audience is an aud claim: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// checkTenant checks the issuer of an ID token of a multi-tenant
// provider, whose verifier skipped it: iss must be the template issuer
// with the token's tenant claim in place of "{tenantid}", and the tenant
// one the provider accepts. Nothing to do without MultiTenant: the
// verifier compared the exact issuer.
func checkTenant(mt *providers.MultiTenant, template string, idt *oidc.IDToken) error {
	if mt == nil {
		return nil
	}
	claim := mt.Claim
	if claim == "" {
		claim = "tid"
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return err
	}
	tenant, _ := claims[claim].(string)
	if tenant == "" || strings.ContainsAny(tenant, "/?#%@:") {
		return fmt.Errorf("ID token has no usable %s claim", claim)
	}
	if idt.Issuer != strings.Replace(template, "{tenantid}", tenant, 1) {
		return fmt.Errorf("ID token iss is not the issuer of its %s", claim)
	}
	if !mt.AnyTenant && !slices.Contains(mt.Tenants, tenant) {
		return fmt.Errorf("ID token %s is not an accepted tenant", claim)
	}
	return nil
}
