package middleware

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/endsession/endsession/providers"
)

// NoticeLateReturn is the post-logout notice (see [PostLogoutNoticeParam])
// of a provider that came back after the logout state cookie had lapsed,
// such as after a slow confirmation at the provider: the state it returned
// is one this application issued, but this browser can no longer tell
// whether for this logout, nor whether this browser made it: the landing
// ends no session itself. A logout that reached the provider had already
// ended the local session before it went there.
const NoticeLateReturn = "late-return"

// logoutStateMaxAge is how long a returned state is recognised as one this
// application issued once the logout state cookie has lapsed.
const logoutStateMaxAge = 24 * time.Hour

// A logout state is 16 random bytes, the time it was issued (Unix seconds,
// 8 bytes) and the first 16 bytes of an HMAC-SHA256 of both under the
// newest hash key, in unpadded base64url: the landing route recognises a
// state this application issued even without the cookie that holds it.
const (
	logoutStateRandom = 16
	logoutStateMAC    = 16
	logoutStateLen    = logoutStateRandom + 8 + logoutStateMAC
)

// newLogoutState returns a fresh state for the provider's logout.
func (m *Middleware) newLogoutState() string {
	var b [logoutStateLen]byte
	rand.Read(b[:logoutStateRandom])
	binary.BigEndian.PutUint64(b[logoutStateRandom:], uint64(m.cfg.Now().Unix()))
	copy(b[logoutStateRandom+8:], logoutStateMACOf(m.cfg.Keys[0].HashKey, b[:logoutStateRandom+8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// issuedLogoutState reports whether state is one this application issued,
// under any configured key, within logoutStateMaxAge.
func (m *Middleware) issuedLogoutState(state string) bool {
	if base64.RawURLEncoding.EncodedLen(logoutStateLen) != len(state) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(state)
	if err != nil || len(b) != logoutStateLen {
		return false
	}
	signed, mac := b[:logoutStateRandom+8], b[logoutStateRandom+8:]
	valid := false
	for _, k := range m.cfg.Keys {
		valid = hmac.Equal(mac, logoutStateMACOf(k.HashKey, signed)) || valid
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(signed[logoutStateRandom:])), 0)
	age := m.cfg.Now().Sub(issued)
	return valid && age >= -time.Minute && age <= logoutStateMaxAge
}

func logoutStateMACOf(key, signed []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("endsession logout state\x00"))
	h.Write(signed)
	return h.Sum(nil)[:logoutStateMAC]
}

// loggedOut is the post-logout landing route. When the provider echoes
// the logout state, it must equal the one sent, kept in a signed cookie
// apart from the deleted session; a mismatch is an error, never followed.
// Once that cookie has lapsed, a state this application issued lands with
// the NoticeLateReturn notice.
func (m *Middleware) loggedOut(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	r, _ = withCorrelation(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		m.fail(w, r, "logged_out", newError(http.StatusMethodNotAllowed, "method_not_allowed", "This address only takes the provider's redirect.", nil))
		return
	}
	echoed, hasEcho := r.URL.Query()["state"]
	var st logoutState
	haveState := false
	if c, err := r.Cookie(m.logoutCookieName()); err == nil {
		haveState = m.decodeState(c.Name, c.Value, &st) == nil
		http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: stateCookiePath, MaxAge: -1,
			HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
	}
	mismatch := ""
	switch {
	case hasEcho && !haveState && len(echoed) == 1 && m.issuedLogoutState(echoed[0]):
		st.Notice = NoticeLateReturn
	case hasEcho && !haveState:
		mismatch = "state returned but no logout in progress in this browser, and not one issued here"
	case st.State != "" && !hasEcho:
		mismatch = "state sent to the provider did not come back"
	case hasEcho && (len(echoed) != 1 || subtle.ConstantTimeCompare([]byte(echoed[0]), []byte(st.State)) != 1):
		mismatch = "returned state differs from the one sent"
	}
	if mismatch != "" {
		m.fail(w, r, "logged_out", newError(http.StatusBadRequest, "invalid_logout_state",
			"This sign-out response could not be verified. You are signed out of this site.", errors.New(mismatch)))
		return
	}
	m.log.InfoContext(r.Context(), "logout landed", "event", "logout", "correlation_id", correlationID(r),
		"logout_correlation_id", st.CorrelationID, "provider_state_checked", hasEcho, "notice", st.Notice)
	target := m.cfg.PostLogoutPath
	if ret, ok := safeReturn(st.ReturnTo); ok {
		target = ret
	}
	if st.Notice != "" {
		target = providers.WithQuery(target, url.Values{PostLogoutNoticeParam: {st.Notice}})
	}
	if len(m.cfg.ClearSiteData) > 0 {
		quoted := make([]string, len(m.cfg.ClearSiteData))
		for i, d := range m.cfg.ClearSiteData {
			quoted[i] = `"` + strings.Trim(d, `"`) + `"`
		}
		w.Header().Set("Clear-Site-Data", strings.Join(quoted, ", "))
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
