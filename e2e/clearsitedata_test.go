package e2e_test

import (
	"net/http"
	"testing"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/middleware"
)

// TestClearSiteDataAtLogout is scenario 9: with Config.ClearSiteData set to
// "cache" and "storage", the post-logout landing sends Clear-Site-Data, and
// what the app wrote to localStorage before the logout is gone after it.
// Without the option, the same value survives the logout: the header is
// what removes it.
func TestClearSiteDataAtLogout(t *testing.T) {
	o := op.Shared(t)
	for _, c := range []struct {
		name      string
		directive []string
		header    string
		survives  bool
	}{
		{"without ClearSiteData", nil, "", true},
		{"with ClearSiteData cache and storage", []string{"cache", "storage"}, `"cache", "storage"`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := browser.New(t)
			a := startApp(t, o, func(cfg *middleware.Config) { cfg.ClearSiteData = c.directive })
			d := login(t, b, a, "erin")
			if got := browser.Eval[string](b, `localStorage.getItem("`+storageKey+`")`); got != d.Subject {
				t.Fatalf("the protected page stored %q, want %q", got, d.Subject)
			}

			res := logoutWithButton(t, b, a, o, d.IDToken)
			if got := res.LandedOn.Header.Get("Clear-Site-Data"); got != c.header {
				t.Errorf("the post-logout landing sent Clear-Site-Data %q, want %q", got, c.header)
			}
			// The browser is on the app's home page, same origin.
			left := browser.Eval[any](b, `localStorage.getItem("`+storageKey+`")`)
			switch {
			case c.survives && left != d.Subject:
				t.Errorf("without Clear-Site-Data localStorage holds %v after the logout, want %q: the test proves nothing", left, d.Subject)
			case !c.survives && left != nil:
				t.Errorf("after the logout localStorage still holds %v", left)
			}
			if res.LandedOn.Status != http.StatusSeeOther {
				t.Errorf("landing %s", res.LandedOn)
			}
		})
	}
}
