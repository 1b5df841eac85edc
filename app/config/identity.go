package config

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
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
	// TrustEmail counts the provider's addresses as verified without an
	// email_verified claim (Entra ID sends none): only for a provider whose
	// addresses its administrators set, never one where people type their own.
	TrustEmail bool `toml:"trust_email"`
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

// validateIdentity checks the [[oidc]] providers and [ldap].
func (c *Config) validateIdentity(bad func(string, ...any)) {
	c.validateLDAP(bad)
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

// LDAP is the directory people may sign in against (`[ldap]`); off without URL.
type LDAP struct {
	// URL is ldap://host:389 (with StartTLS to encrypt) or ldaps://host:636.
	URL      string `toml:"url" env:"QUIRE_LDAP_URL"`
	StartTLS bool   `toml:"starttls" env:"QUIRE_LDAP_STARTTLS"`
	// CAFile is a PEM file of the CAs that sign the directory's certificate ("" = the system's).
	CAFile string `toml:"ca_file" env:"QUIRE_LDAP_CA_FILE"`
	// BindDN and BindPassword are the service account that searches for the
	// person ("" = an anonymous search, where the directory allows one).
	BindDN       string `toml:"bind_dn" env:"QUIRE_LDAP_BIND_DN"`
	BindPassword string `toml:"bind_password" env:"QUIRE_LDAP_BIND_PASSWORD"`
	Base         string `toml:"base" env:"QUIRE_LDAP_BASE"`
	// UserFilter finds the person; {username} is what they typed, escaped.
	UserFilter string `toml:"user_filter" env:"QUIRE_LDAP_USER_FILTER"`
	// The attributes of the person's entry: a stable id (entryUUID; objectGUID
	// on Active Directory), the address, the display name and the groups (DNs).
	IDAttribute     string `toml:"id_attribute"`
	EmailAttribute  string `toml:"email_attribute"`
	NameAttribute   string `toml:"name_attribute"`
	GroupsAttribute string `toml:"groups_attribute"`
	// GroupBase and GroupFilter search the groups instead of reading
	// GroupsAttribute ({dn} is the person's DN, escaped): for directories
	// without memberOf. The groups are the found entries' DNs.
	GroupBase   string `toml:"group_base"`
	GroupFilter string `toml:"group_filter"`
	AllowSignup bool   `toml:"allow_signup"`
	// SyncInterval applies the group rules to everyone who signed in through
	// the directory this often (0 = only at sign-in).
	SyncInterval Duration `toml:"sync_interval" env:"QUIRE_LDAP_SYNC_INTERVAL"`
	Timeout      Duration `toml:"timeout"`
}

// Enabled is true when a directory is configured.
func (l LDAP) Enabled() bool { return l.URL != "" }

// WithDefaults fills the attributes and filters left empty.
func (l LDAP) WithDefaults() LDAP {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&l.UserFilter, "(&(objectClass=person)(uid={username}))")
	def(&l.IDAttribute, "entryUUID")
	def(&l.EmailAttribute, "mail")
	def(&l.NameAttribute, "cn")
	def(&l.GroupsAttribute, "memberOf")
	if l.GroupBase != "" {
		def(&l.GroupFilter, "(member={dn})")
	}
	if l.Timeout.Duration <= 0 {
		l.Timeout.Duration = 10 * time.Second
	}
	return l
}

func (c *Config) validateLDAP(bad func(string, ...any)) {
	l := c.LDAP
	if !l.Enabled() {
		return
	}
	if p, err := url.Parse(l.URL); err != nil || (p.Scheme != "ldap" && p.Scheme != "ldaps") || p.Host == "" {
		bad("ldap.url %q: want ldap://host:389 or ldaps://host:636", l.URL)
	} else if p.Scheme == "ldaps" && l.StartTLS {
		bad("ldap.starttls is for ldap:// URLs; ldaps:// is encrypted already")
	}
	if l.Base == "" {
		bad("ldap.base is required: the DN people are searched under, e.g. ou=people,dc=example,dc=org")
	}
	if f := l.WithDefaults().UserFilter; !strings.Contains(f, "{username}") || !strings.HasPrefix(f, "(") {
		bad("ldap.user_filter %q: want a filter with {username}, e.g. (uid={username})", f)
	}
	if l.GroupFilter != "" && l.GroupBase == "" {
		bad("ldap.group_filter needs ldap.group_base")
	}
	if l.BindDN != "" && l.BindPassword == "" {
		bad("ldap.bind_password is required with ldap.bind_dn (an empty password is an anonymous bind)")
	}
	if d := l.SyncInterval.Duration; d != 0 && d < time.Minute {
		bad("ldap.sync_interval %s is too short: use 0 (off) or at least 1m", l.SyncInterval)
	}
	if l.CAFile != "" {
		if _, err := os.Stat(l.CAFile); err != nil {
			bad("ldap.ca_file: %v", err)
		}
	}
}
