package providers

import (
	"net/http"
	"strings"
	"testing"
)

func TestValidateRefusesAnUnusableLogout(t *testing.T) {
	base := Provider{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s"}
	for name, logout := range map[string]Logout{
		"unknown method":   RPInitiated{Method: "DELETE"},
		"misspelled POST":  RPInitiated{Method: "PSOT"},
		"relative URL":     RPInitiated{URL: "/logout"},
		"URL with no host": RPInitiated{URL: "https:///logout"},
	} {
		p := base
		p.Logout = logout
		err := p.Validate()
		if err == nil {
			t.Errorf("%s: Validate accepted %#v", name, logout)
			continue
		}
		if !strings.Contains(err.Error(), "p:") {
			t.Errorf("%s: the error does not name the provider: %v", name, err)
		}
	}
	for name, logout := range map[string]Logout{
		"default":     RPInitiated{},
		"GET":         RPInitiated{Method: http.MethodGet, URL: "https://op.example/logout"},
		"POST":        RPInitiated{Method: http.MethodPost},
		"lower post":  RPInitiated{Method: "post"},
		"Auth0":       Auth0Logout{},
		"none at all": nil,
	} {
		p := base
		p.Logout = logout
		if err := p.Validate(); err != nil {
			t.Errorf("%s: Validate refused it: %v", name, err)
		}
	}
}
