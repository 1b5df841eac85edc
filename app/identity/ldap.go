package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/go-ldap/ldap/v3"

	"quire/app/account"
	"quire/app/config"
	"quire/app/fault"
	"quire/app/limit"
	"quire/store"
)

// ldapProvider is the provider name of directory accounts.
const ldapProvider = "ldap"

// ErrBadLogin is a refused directory sign-in: unknown person or wrong
// password, told apart to nobody.
var ErrBadLogin = errors.New("wrong username or password")

// directory signs people in against the configured LDAP server.
type directory struct {
	cfg  config.LDAP
	tls  *tls.Config
	host string

	fails  *limit.Limiter // failed sign-ins per (username, address)
	byAddr *limit.Limiter // per address, for guesses across usernames
}

func newDirectory(cfg config.LDAP) (*directory, error) {
	cfg = cfg.WithDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		host = u.Host
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap.ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &directory{cfg: cfg, tls: tc, host: host,
		fails: limit.New(5, 15*time.Minute), byAddr: limit.New(25, 15*time.Minute)}, nil
}

// unavailable is the fault of a directory that cannot be reached or searched.
func unavailable(err error) error {
	return &fault.Error{Kind: fault.Unavailable, Code: "provider_unavailable", Err: err, Message: "the directory cannot be reached to sign in right now; try again later"}
}

// dial connects, encrypts when configured and binds the service account.
func (d *directory) dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(d.cfg.URL, ldap.DialWithTLSConfig(d.tls),
		ldap.DialWithDialer(&net.Dialer{Timeout: d.cfg.Timeout.Duration}))
	if err != nil {
		return nil, unavailable(err)
	}
	c.SetTimeout(d.cfg.Timeout.Duration)
	if d.cfg.StartTLS {
		if err := c.StartTLS(d.tls); err != nil {
			c.Close()
			return nil, unavailable(err)
		}
	}
	if d.cfg.BindDN != "" {
		if err := c.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			c.Close()
			return nil, unavailable(fmt.Errorf("service account bind: %w", err))
		}
	}
	return c, nil
}

// entry is what Quire reads of a person's directory entry.
type entry struct {
	dn, subject, email, name string
	groups                   []string
}

func (d *directory) attrs() []string {
	return []string{d.cfg.IDAttribute, d.cfg.EmailAttribute, d.cfg.NameAttribute, d.cfg.GroupsAttribute}
}

// find searches for exactly one entry; nil when there is none (or several:
// an ambiguous filter signs nobody in).
func (d *directory) find(c *ldap.Conn, filter string) (*entry, error) {
	res, err := c.Search(ldap.NewSearchRequest(d.cfg.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2,
		int(d.cfg.Timeout.Seconds()), false, filter, d.attrs(), nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if len(res.Entries) != 1 {
		return nil, nil
	}
	e := res.Entries[0]
	raw := e.GetRawAttributeValue(d.cfg.IDAttribute)
	if len(raw) == 0 {
		return nil, fault.New(fault.Failed, "the directory entry has no %s attribute; set ldap.id_attribute", d.cfg.IDAttribute)
	}
	out := &entry{dn: e.DN, subject: hex.EncodeToString(raw), email: e.GetAttributeValue(d.cfg.EmailAttribute),
		name: e.GetAttributeValue(d.cfg.NameAttribute), groups: e.GetAttributeValues(d.cfg.GroupsAttribute)}
	if d.cfg.GroupBase != "" {
		if out.groups, err = d.groups(c, e.DN); err != nil {
			return nil, err
		}
	}
	out.groups = cleanGroups(out.groups)
	return out, nil
}

// groups searches the groups the DN is a member of (group_base, group_filter).
func (d *directory) groups(c *ldap.Conn, dn string) ([]string, error) {
	filter := strings.ReplaceAll(d.cfg.GroupFilter, "{dn}", ldap.EscapeFilter(dn))
	res, err := c.Search(ldap.NewSearchRequest(d.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, maxGroups,
		int(d.cfg.Timeout.Seconds()), false, filter, []string{"1.1"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, unavailable(err)
	}
	var out []string
	if res != nil {
		for _, e := range res.Entries {
			out = append(out, e.DN)
		}
	}
	return out, nil
}

// checkUsername refuses what no directory account is called: empty,
// oversized, or with control characters (the filter escapes the rest).
func checkUsername(raw string) (string, error) {
	u := strings.TrimSpace(raw)
	if u == "" || len(u) > 256 || strings.ContainsFunc(u, unicode.IsControl) {
		return "", fault.Field("username", "type your directory username (at most 256 characters)")
	}
	return u, nil
}

// LDAPEnabled is true when a directory is configured.
func (s *Service) LDAPEnabled() bool { return s.dir != nil }

// LDAPLogin signs in with a directory username and password: the service
// account finds the person's entry (the username escaped into user_filter),
// then a bind as that entry checks the password. An empty password is
// refused before the directory sees it: to LDAP it is an anonymous bind,
// which succeeds.
func (s *Service) LDAPLogin(ctx context.Context, rawUsername, password, address string) (*Result, error) {
	username, err := checkUsername(rawUsername)
	if err != nil {
		return nil, err
	}
	if password == "" || len(password) > 1024 {
		return nil, fault.Field("password", "type your directory password")
	}
	if s.dir == nil {
		return nil, fault.New(fault.NotFound, "no directory is configured on this instance")
	}
	d := s.dir
	key := strings.ToLower(username) + "|" + address
	if ok, wait := d.fails.Take(key); !ok {
		return nil, account.Limited(wait)
	}
	if ok, wait := d.byAddr.Take(address); !ok {
		d.fails.Return(key)
		return nil, account.Limited(wait)
	}
	c, err := d.dial()
	if err != nil {
		d.fails.Return(key)
		d.byAddr.Return(address)
		return nil, err
	}
	defer c.Close()
	e, err := d.find(c, strings.ReplaceAll(d.cfg.UserFilter, "{username}", ldap.EscapeFilter(username)))
	if err != nil {
		d.fails.Return(key)
		d.byAddr.Return(address)
		return nil, err
	}
	if e == nil {
		s.account.LoginRefused(ctx, ldapProvider, username, nil, store.AuditDenied, "no such directory account")
		return nil, ErrBadLogin // a failure: counts against the limits
	}
	if err := c.Bind(e.dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			s.account.LoginRefused(ctx, ldapProvider, username, nil, store.AuditDenied, "wrong password")
			return nil, ErrBadLogin
		}
		d.fails.Return(key)
		d.byAddr.Return(address)
		return nil, unavailable(err)
	}
	d.fails.Return(key)
	d.byAddr.Return(address)
	// The directory's administrators set the addresses: they count as verified.
	return s.signIn(ctx, account.External{Provider: ldapProvider, Subject: e.subject, Email: e.email, Name: e.name,
		EmailVerified: true, AllowSignup: d.cfg.AllowSignup}, e.groups)
}

// SyncLDAP applies the group rules to everyone linked to the directory, with
// their groups as the directory has them now: a person whose entry is gone
// has no groups. It returns how many people it looked up.
func (s *Service) SyncLDAP(ctx context.Context) (int, error) {
	if s.dir == nil {
		return 0, nil
	}
	linked, err := s.st.IdentitySubjects(ctx, ldapProvider)
	if err != nil || len(linked) == 0 {
		return 0, err
	}
	c, err := s.dir.dial()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	n := 0
	for subject, userID := range linked {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		raw, err := hex.DecodeString(subject)
		if err != nil {
			continue // not a subject this package wrote
		}
		if u, err := s.st.UserByID(ctx, userID); err != nil || u.Disabled {
			continue // deleted meanwhile, or disabled (pending approval too): their groups wait for their sign-in
		}
		e, err := s.dir.find(c, "("+ldap.EscapeFilter(s.dir.cfg.IDAttribute)+"="+ldap.EscapeFilter(string(raw))+")")
		if err != nil {
			return n, err
		}
		var groups []string
		if e != nil {
			groups = e.groups
		}
		if err := s.ApplyGroups(ctx, userID, groups); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// StartLDAPSync runs SyncLDAP every sync_interval until ctx ends (nothing
// without a directory or an interval).
func (s *Service) StartLDAPSync(ctx context.Context) {
	if s.dir == nil || s.dir.cfg.SyncInterval.Duration <= 0 {
		return
	}
	go func() {
		tick := time.NewTicker(s.dir.cfg.SyncInterval.Duration)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if n, err := s.SyncLDAP(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("ldap: group sync", "err", err, "synced", n)
			} else if n > 0 {
				s.log.Info("ldap: group sync", "people", n)
			}
		}
	}()
}
