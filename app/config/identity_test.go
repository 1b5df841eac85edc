package config

import (
	"strings"
	"testing"
)

func TestIdentityValidation(t *testing.T) {
	ok := OIDC{Name: "corp", Issuer: "https://id.example.com", ClientID: "quire"}
	for name, c := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"a path in the name":      {func(c *Config) { o := ok; o.Name = "../admin"; c.OIDC = []OIDC{o} }, "name \"../admin\""},
		"capitals in the name":    {func(c *Config) { o := ok; o.Name = "Corp"; c.OIDC = []OIDC{o} }, "lowercase"},
		"two with one name":       {func(c *Config) { c.OIDC = []OIDC{ok, ok} }, "used by two providers"},
		"issuer not http(s)":      {func(c *Config) { o := ok; o.Issuer = "javascript:alert(1)"; c.OIDC = []OIDC{o} }, "issuer"},
		"no client id":            {func(c *Config) { o := ok; o.ClientID = ""; c.OIDC = []OIDC{o} }, "client_id is required"},
		"a bad allowed domain":    {func(c *Config) { o := ok; o.AllowedDomains = []string{"a@b.com"}; c.OIDC = []OIDC{o} }, "allowed_domains"},
		"ldap url scheme":         {func(c *Config) { c.LDAP = LDAP{URL: "http://dir", Base: "dc=x"} }, "ldap.url"},
		"ldap without base":       {func(c *Config) { c.LDAP = LDAP{URL: "ldap://dir"} }, "ldap.base is required"},
		"filter without username": {func(c *Config) { c.LDAP = LDAP{URL: "ldap://dir", Base: "dc=x", UserFilter: "(uid=*)"} }, "{username}"},
		"bind dn, no password":    {func(c *Config) { c.LDAP = LDAP{URL: "ldap://dir", Base: "dc=x", BindDN: "cn=q"} }, "anonymous bind"},
		"starttls over ldaps":     {func(c *Config) { c.LDAP = LDAP{URL: "ldaps://dir", Base: "dc=x", StartTLS: true} }, "starttls"},
		"missing ca file":         {func(c *Config) { c.LDAP = LDAP{URL: "ldaps://dir", Base: "dc=x", CAFile: "/nonexistent/ca.pem"} }, "ldap.ca_file"},
		"group filter, no base":   {func(c *Config) { c.LDAP = LDAP{URL: "ldap://dir", Base: "dc=x", GroupFilter: "(member={dn})"} }, "group_base"},
	} {
		cfg := Default()
		c.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	cfg := Default()
	cfg.OIDC = []OIDC{ok}
	cfg.LDAP = LDAP{URL: "ldap://dir", Base: "dc=x"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
