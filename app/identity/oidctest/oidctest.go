// Package oidctest runs a real OpenID provider on loopback for tests: the
// zitadel/oidc OP package with its example login page and storage, serving
// discovery, JWKS, the authorization, token and userinfo endpoints, PKCE and
// signed ID tokens. Tests add people (with verified or unverified addresses
// and groups) and may make the provider misbehave in one chosen way, to see
// that Quire refuses what a compromised or confused provider would send.
package oidctest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is a person at the provider.
type User struct {
	ID, Username, Password string
	Email                  string
	EmailVerified          bool
	Name                   string
	Groups                 []string
}

// Misbehaviour is a way the provider's ID tokens go wrong.
type Misbehaviour int

const (
	Honest        Misbehaviour = iota
	OtherAudience              // ID tokens are issued for another client
	WrongNonce                 // ID tokens carry a nonce of another sign-in
)

// Provider is a running OpenID provider.
type Provider struct {
	URL string // the issuer

	mu      sync.Mutex
	users   map[string]*User // by ID
	bad     Misbehaviour
	clients map[string]*storage.Client // the storage's own map
}

// Start runs a provider on 127.0.0.1 until the test ends, with one web
// client (clientID, secret) allowed to redirect to redirectURIs.
func Start(t testing.TB, clientID, secret string, redirectURIs ...string) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{URL: "http://" + ln.Addr().String(), users: map[string]*User{}, clients: map[string]*storage.Client{}}
	p.Register(clientID, secret, redirectURIs...)
	st := &wrapped{Storage: storage.NewStorageWithClients(users{p}, p.clients), p: p}
	router := exampleop.SetupServer(p.URL, st, nil, false)
	srv := &http.Server{Handler: router}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// Register sets a web client's secret and redirect URIs, for a test that
// learns its Quire's address after the provider started. The storage reads
// the map unlocked: register before the client's first sign-in.
func (p *Provider) Register(clientID, secret string, redirectURIs ...string) {
	p.clients[clientID] = storage.WebClient(clientID, secret, redirectURIs...)
}

// AddUser adds (or replaces) a person.
func (p *Provider) AddUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := u
	c.Groups = append([]string(nil), u.Groups...)
	p.users[u.ID] = &c
}

// SetGroups changes a person's groups, as a directory admin would.
func (p *Provider) SetGroups(id string, groups ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[id].Groups = append([]string(nil), groups...)
}

// Misbehave makes the provider's next ID tokens go wrong in this way (Honest: not).
func (p *Provider) Misbehave(m Misbehaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bad = m
}

func (p *Provider) misbehaviour() Misbehaviour {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bad
}

// Login plays the person's browser at the provider: it follows authURL (the
// redirect Quire answered its sign-in button with) to the login page, signs
// in with the password, and returns the redirect back to Quire, with its
// code and state, without following it.
func (p *Provider) Login(authURL, username, password string) (*url.URL, error) {
	jar, _ := cookiejar.New(nil)
	var back *url.URL
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), p.URL) {
			back = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Get(authURL)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if back != nil {
		return back, nil // the provider answered at once (an error for Quire)
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return nil, fmt.Errorf("the provider showed %s (%d), not its login page", resp.Request.URL, resp.StatusCode)
	}
	resp, err = client.PostForm(p.URL+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {password}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if back == nil {
		return nil, fmt.Errorf("the provider did not send the browser back (status %d at %s)", resp.StatusCode, resp.Request.URL)
	}
	return back, nil
}

// users is the provider's user store over Provider.users.
type users struct{ p *Provider }

func (u users) get(match func(*User) bool) *storage.User {
	u.p.mu.Lock()
	defer u.p.mu.Unlock()
	for _, x := range u.p.users {
		if match(x) {
			first, last, _ := strings.Cut(x.Name, " ")
			return &storage.User{ID: x.ID, Username: x.Username, Password: x.Password, FirstName: first, LastName: last,
				Email: x.Email, EmailVerified: x.EmailVerified, PreferredLanguage: language.English}
		}
	}
	return nil
}

func (u users) GetUserByID(id string) *storage.User {
	return u.get(func(x *User) bool { return x.ID == id })
}
func (u users) GetUserByUsername(name string) *storage.User {
	return u.get(func(x *User) bool { return x.Username == name })
}
func (u users) ExampleClientID() string { return "service" }

// wrapped is the example storage with groups in the userinfo answer and
// the chosen misbehaviour in the ID token.
type wrapped struct {
	*storage.Storage
	p *Provider
}

func (w *wrapped) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := w.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if u := w.p.users[info.Subject]; u != nil {
		info.AppendClaims("groups", append([]string{}, u.Groups...))
	}
	return nil
}

func (w *wrapped) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	ar, err := w.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	if bad := w.p.misbehaviour(); bad != Honest {
		return &tampered{AuthRequest: ar.(*storage.AuthRequest), bad: bad}, nil
	}
	return ar, nil
}

// tampered is an authorization request whose ID token goes wrong.
type tampered struct {
	*storage.AuthRequest
	bad Misbehaviour
}

func (t *tampered) GetAudience() []string {
	if t.bad == OtherAudience {
		return []string{"another-client"}
	}
	return t.AuthRequest.GetAudience()
}

func (t *tampered) GetNonce() string {
	if t.bad == WrongNonce {
		return "a-nonce-of-another-sign-in"
	}
	return t.AuthRequest.GetNonce()
}
