package providers

import "slices"

// RevocationAuthMethod returns the client authentication to use at the
// revocation endpoint, whose supported methods discovery lists as
// supported (revocation_endpoint_auth_methods_supported): the token
// endpoint's method when the list is empty or holds it; otherwise the
// first the client has credentials for, the key before a secret and
// Basic before the form body; and, when there is none, the token
// endpoint's method all the same (the provider may accept it).
func (p *Provider) RevocationAuthMethod(supported []string) AuthMethod {
	own := p.authMethod()
	if len(supported) == 0 || slices.Contains(supported, string(own)) {
		return own
	}
	var can []AuthMethod
	if p.ClientKey != nil {
		can = append(can, AuthPrivateKeyJWT)
	}
	if p.ClientSecret != "" {
		can = append(can, AuthBasic, AuthPost)
	}
	can = append(can, AuthNone)
	for _, m := range can {
		if slices.Contains(supported, string(m)) {
			return m
		}
	}
	return own
}
