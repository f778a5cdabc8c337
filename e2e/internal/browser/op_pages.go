package browser

import "net/url"

// Selectors of the provider's pages (oidc-provider's development
// interactions, and the logout pages of e2e/op/server.mjs). Any login and any
// non-empty password are accepted; the login becomes the subject.
const (
	OPLoginField      = `form:has(input[name=prompt][value=login]) input[name=login]`
	OPPasswordField   = `form:has(input[name=prompt][value=login]) input[name=password]`
	OPLoginButton     = `form:has(input[name=prompt][value=login]) button[type=submit]`
	OPConsentButton   = `form:has(input[name=prompt][value=consent]) button[type=submit]`
	OPLogoutYesButton = `button[form="op.logoutForm"][name=logout][value=yes]` // "Yes, sign me out"
	OPLogoutNoButton  = `button[form="op.logoutForm"]:not([name])`             // "No, stay signed in"
	OPLoggedOutPage   = `#op-logged-out`                                       // end-session success page of the provider itself
	OPErrorCode       = `span.error`                                           // error page: the OAuth error code
	OPErrorDetail     = `span.error_description`
)

// LoginAtOP waits for the provider's login page, signs in as login, and
// grants consent if the provider asks for it. It returns once the browser has
// left the provider's interaction pages (usually for the app's callback):
// follow it with WaitURL for the page the app should show.
func (b *Browser) LoginAtOP(login, password string) {
	b.t.Helper()
	b.WaitVisible(OPLoginField)
	before := b.URL()
	b.Fill(OPLoginField, login)
	b.Fill(OPPasswordField, password)
	b.Click(OPLoginButton)
	u := b.WaitURL("past the provider's login page", func(u *url.URL) bool { return u.String() != before })
	if b.Exists(OPConsentButton) {
		b.ConsentAtOP(u.String())
	}
}

// ConsentAtOP clicks "Continue" on the provider's consent page at current
// (the page's URL) and waits until the browser has left it.
func (b *Browser) ConsentAtOP(current string) {
	b.t.Helper()
	b.Click(OPConsentButton)
	b.WaitURL("past the provider's consent page", func(u *url.URL) bool { return u.String() != current })
}

// ConfirmLogoutAtOP answers the provider's "Do you want to sign-out?" page:
// "Yes, sign me out" when yes, else "No, stay signed in". It returns where the
// browser lands (post_logout_redirect_uri?state=..., or the provider's own
// success page).
func (b *Browser) ConfirmLogoutAtOP(yes bool) *url.URL {
	b.t.Helper()
	b.WaitVisible(OPLogoutYesButton)
	before := b.URL()
	if yes {
		b.Click(OPLogoutYesButton)
	} else {
		b.Click(OPLogoutNoButton)
	}
	return b.WaitURL("past the provider's logout page", func(u *url.URL) bool { return u.String() != before })
}
