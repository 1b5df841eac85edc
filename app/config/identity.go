package config

import (
	"net/url"
	"regexp"
	"strings"
)

// OIDC is one OpenID Connect provider people may sign in with (`[[oidc]]`).
type OIDC struct {
	// Name is the provider's id in URLs (/auth/oidc/<name>) and in linked
	// accounts ("oidc:<name>"); Label is the button's text ("" = Name).
	Name         string   `toml:"name"`
	Label        string   `toml:"label"`
	Issuer       string   `toml:"issuer"`
	ClientID     string   `toml:"client_id"`
	ClientSecret string   `toml:"client_secret"`
	Scopes       []string `toml:"scopes"` // "openid" is always asked for; default openid, email, profile
	// The claims that carry the email address, the display name and the
	// groups (for group rules); defaults email, name, groups.
	EmailClaim  string `toml:"email_claim"`
	NameClaim   string `toml:"name_claim"`
	GroupsClaim string `toml:"groups_claim"`
	// AllowedDomains limits sign-in to addresses at these domains (empty = any).
	AllowedDomains []string `toml:"allowed_domains"`
	// AllowSignup creates an account for a verified address that has none,
	// under the instance's signup policy (approval makes it wait for an admin).
	AllowSignup bool `toml:"allow_signup"`
}

// providerName is what a provider's name may be: it is a URL path segment.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// WithDefaults fills the claims and scopes left empty.
func (o OIDC) WithDefaults() OIDC {
	if o.Label == "" {
		o.Label = o.Name
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "email", "profile"}
	}
	if o.EmailClaim == "" {
		o.EmailClaim = "email"
	}
	if o.NameClaim == "" {
		o.NameClaim = "name"
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = "groups"
	}
	for i, d := range o.AllowedDomains {
		o.AllowedDomains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
	return o
}

// validateIdentity checks the [[oidc]] providers.
func (c *Config) validateIdentity(bad func(string, ...any)) {
	seen := map[string]bool{}
	for i, o := range c.OIDC {
		where := "oidc[" + o.Name + "]"
		if !providerName.MatchString(o.Name) {
			bad("oidc #%d: name %q: want 1 to 32 lowercase letters, digits, - or _ (it is part of the redirect URL)", i+1, o.Name)
		}
		if seen[o.Name] {
			bad("%s: the name is used by two providers", where)
		}
		seen[o.Name] = true
		if p, err := url.Parse(o.Issuer); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("%s: issuer %q: want the provider's https URL, as in its /.well-known/openid-configuration", where, o.Issuer)
		}
		if o.ClientID == "" {
			bad("%s: client_id is required", where)
		}
		for _, d := range o.AllowedDomains {
			if d = strings.TrimPrefix(strings.TrimSpace(d), "@"); d == "" || strings.ContainsAny(d, "@/ ") {
				bad("%s: allowed_domains %q: want a domain such as example.com", where, d)
			}
		}
	}
}
