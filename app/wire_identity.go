package app

import (
	"context"

	"quire/app/identity"
)

// initIdentity wires sign-in through the configured identity providers.
func (s *Server) initIdentity() error {
	var err error
	s.identity, err = identity.New(identity.Config{Store: s.store, Account: s.account, OIDC: s.cfg.OIDC, LDAP: s.cfg.LDAP,
		PublicURL: s.cfg.PublicURL(), Logger: s.log})
	return err
}

// startIdentity begins the periodic directory sync (sync_interval).
func (s *Server) startIdentity(ctx context.Context) { s.identity.StartLDAPSync(ctx) }
