package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"quire/app/account"
	"quire/app/config"
	"quire/app/fault"
	"quire/store"
)

// Pending sign-ins: a person has a few minutes at the provider, and an
// anonymous caller can make only so many of them at once.
const (
	pendingTTL = 10 * time.Minute
	maxPending = 10000
)

// oidcProvider is one configured provider; its discovery document is fetched
// at the first sign-in (and again after a failure), so Quire starts while the
// provider is down.
type oidcProvider struct {
	cfg config.OIDC

	mu       sync.Mutex
	provider *oidc.Provider
}

func (p *oidcProvider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	prov, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return nil, &fault.Error{Kind: fault.Unavailable, Code: "provider_unavailable", Err: err,
			Message: fmt.Sprintf("%s cannot be reached to sign in right now; try again later", p.cfg.Label)}
	}
	p.provider = prov
	return prov, nil
}

// RedirectURL is the callback address to register at the provider.
func (s *Service) RedirectURL(name string) string {
	return s.publicURL + "/auth/oidc/" + name + "/callback"
}

func (s *Service) oauth(p *oidcProvider, prov *oidc.Provider) *oauth2.Config {
	scopes := p.cfg.Scopes
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: s.RedirectURL(p.cfg.Name), Scopes: scopes}
}

func (s *Service) provider(name string) (*oidcProvider, error) {
	p := s.oidc[name]
	if p == nil {
		return nil, fault.New(fault.NotFound, "there is no sign-in provider %q", name)
	}
	return p, nil
}

// Begin starts a sign-in at the provider: the URL to send the browser to,
// and the secret to keep in a short-lived cookie, which the callback must
// present with the provider's state (so a link someone else started cannot
// finish in your browser). next is where to go afterwards.
func (s *Service) Begin(ctx context.Context, name, next string) (authURL, cookie string, err error) {
	p, err := s.provider(name)
	if err != nil {
		return "", "", err
	}
	ctx = oidc.ClientContext(ctx, s.client)
	prov, err := p.discover(ctx)
	if err != nil {
		return "", "", err
	}
	pl := pendingLogin{provider: name, state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier(), next: next}
	cookie = randomString()
	if !s.pending.put(cookie, pl) {
		return "", "", &fault.Error{Kind: fault.RateLimited, RetryAfter: time.Minute,
			Message: "too many sign-ins are in progress; try again in a minute"}
	}
	return s.oauth(p, prov).AuthCodeURL(pl.state, oidc.Nonce(pl.nonce), oauth2.S256ChallengeOption(pl.verifier)), cookie, nil
}

// Callback is what the provider sent back to the redirect URL.
type Callback struct {
	State, Code             string
	Error, ErrorDescription string // the provider refused (e.g. access_denied)
}

// Finish completes a sign-in: the pending sign-in of the cookie is used up
// whatever happens, the state must be its own, the code is exchanged with
// its PKCE verifier, and the ID token must be signed by the provider's keys,
// for this client, fresh, and carry the nonce of this sign-in.
func (s *Service) Finish(ctx context.Context, name, cookie string, cb Callback) (*Result, error) {
	p, err := s.provider(name)
	if err != nil {
		return nil, err
	}
	pl, ok := s.pending.take(cookie)
	if !ok || pl.provider != name {
		return nil, fault.New(fault.Gone, "this sign-in expired, was already used or was started in another browser; sign in again")
	}
	if subtle.ConstantTimeCompare([]byte(pl.state), []byte(cb.State)) != 1 {
		s.refused(ctx, name, "state of another sign-in")
		return nil, fault.New(fault.Forbidden, "the sign-in answer does not belong to the sign-in this browser started; sign in again")
	}
	if cb.Error != "" {
		s.log.Info("oidc: the provider refused the sign-in", "provider", name, "error", errorCode(cb.Error),
			"description", strings.ToValidUTF8(cb.ErrorDescription[:min(len(cb.ErrorDescription), 200)], ""))
		return nil, fault.New(fault.Forbidden, "%s did not sign you in (%s); sign in again", p.cfg.Label, errorCode(cb.Error))
	}
	if cb.Code == "" || len(cb.Code) > 4096 {
		return nil, fault.New(fault.Invalid, "the sign-in answer carries no usable code; sign in again")
	}
	ctx = oidc.ClientContext(ctx, s.client)
	prov, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := s.oauth(p, prov).Exchange(ctx, cb.Code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		s.log.Warn("oidc: code exchange refused", "provider", name, "err", err)
		s.refused(ctx, name, "code refused by the provider")
		return nil, fault.New(fault.Forbidden, "%s refused the sign-in code (used already, or expired); sign in again", p.cfg.Label)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fault.New(fault.Failed, "%s sent no ID token; check that the client is an OpenID Connect client", p.cfg.Label)
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		s.log.Warn("oidc: ID token refused", "provider", name, "err", err)
		s.refused(ctx, name, "invalid ID token")
		return nil, fault.New(fault.Forbidden, "the ID token from %s is not valid for this instance; sign in again", p.cfg.Label)
	}
	// go-oidc checked that the token lists this client; it must list no
	// other (OpenID Connect Core 3.1.3.7: additional audiences are not
	// trusted), so a token minted for another application is refused too.
	if len(idt.Audience) != 1 {
		s.log.Warn("oidc: ID token for other audiences too", "provider", name, "aud", idt.Audience)
		s.refused(ctx, name, "ID token for other audiences")
		return nil, fault.New(fault.Forbidden, "the ID token from %s is not valid for this instance; sign in again", p.cfg.Label)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pl.nonce)) != 1 {
		s.log.Warn("oidc: ID token with another sign-in's nonce", "provider", name)
		s.refused(ctx, name, "nonce of another sign-in")
		return nil, fault.New(fault.Forbidden, "the ID token from %s belongs to another sign-in; sign in again", p.cfg.Label)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fault.New(fault.Forbidden, "the access token from %s does not match its ID token; sign in again", p.cfg.Label)
		}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, fault.New(fault.Failed, "the ID token from %s cannot be read", p.cfg.Label)
	}
	// Many providers put the email and groups in the userinfo answer only;
	// the ID token's own claims win where both have one.
	if prov.UserInfoEndpoint() != "" {
		ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, &fault.Error{Kind: fault.Failed, Err: err, Message: fmt.Sprintf("%s did not answer with the account's details; sign in again", p.cfg.Label)}
		}
		if ui.Subject != idt.Subject {
			return nil, fault.New(fault.Forbidden, "%s described another account than the one signed in", p.cfg.Label)
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	ext := account.External{Provider: "oidc:" + name, Subject: idt.Subject, AllowSignup: p.cfg.AllowSignup,
		Email: claimString(claims, p.cfg.EmailClaim), Name: claimString(claims, p.cfg.NameClaim),
		EmailVerified: p.cfg.TrustEmail || claimBool(claims, "email_verified")}
	if err := allowedDomain(p.cfg.AllowedDomains, ext.Email); err != nil {
		return nil, err
	}
	res, err := s.signIn(ctx, ext, cleanGroups(claimStrings(claims, p.cfg.GroupsClaim)))
	if err != nil {
		return nil, err
	}
	res.Next = pl.next
	return res, nil
}

// allowedDomain refuses an address outside the provider's allowed_domains.
func allowedDomain(domains []string, email string) error {
	if len(domains) == 0 {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err == nil {
		_, domain, _ := strings.Cut(strings.ToLower(a.Address), "@")
		if slices.Contains(domains, domain) {
			return nil
		}
	}
	return fault.New(fault.Forbidden, "addresses at this domain may not sign in here; use your organisation's account")
}

// errorCode is the provider's error code fit to show: only the characters
// that OAuth error codes use, so a crafted link cannot put words on the page.
func errorCode(code string) string {
	code = strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, code)
	return code[:min(len(code), 64)]
}

func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// claimBool reads a boolean claim; some providers send "true" as a string.
func claimBool(claims map[string]any, name string) bool {
	switch v := claims[name].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// claimStrings reads a list claim, or a single string as a list of one.
func claimStrings(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// pendingLogin is a sign-in between Begin and Finish.
type pendingLogin struct {
	provider, state, nonce, verifier, next string
	expires                                time.Time
}

// pendingLogins are kept in memory by the hash of their cookie: a restart
// only makes people click the button again.
type pendingLogins struct {
	mu  sync.Mutex
	m   map[[32]byte]pendingLogin
	max int
	ttl time.Duration
}

func newPendingLogins(max int, ttl time.Duration) *pendingLogins {
	return &pendingLogins{m: map[[32]byte]pendingLogin{}, max: max, ttl: ttl}
}

func (p *pendingLogins) put(cookie string, pl pendingLogin) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if len(p.m) >= p.max {
		for k, v := range p.m {
			if now.After(v.expires) {
				delete(p.m, k)
			}
		}
		if len(p.m) >= p.max {
			return false
		}
	}
	pl.expires = now.Add(p.ttl)
	p.m[sha256.Sum256([]byte(cookie))] = pl
	return true
}

// take removes and returns the cookie's pending sign-in: each works once.
func (p *pendingLogins) take(cookie string) (pendingLogin, bool) {
	if cookie == "" {
		return pendingLogin{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := sha256.Sum256([]byte(cookie))
	pl, ok := p.m[k]
	delete(p.m, k)
	if !ok || time.Now().After(pl.expires) {
		return pendingLogin{}, false
	}
	return pl, true
}

// refused records, in the audit log, a sign-in answer refused before Quire
// knew whose it was: a forged or replayed callback leaves a trace.
func (s *Service) refused(ctx context.Context, provider, reason string) {
	s.account.LoginRefused(ctx, "oidc:"+provider, "", nil, store.AuditDenied, reason)
}
