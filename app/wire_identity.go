package app

import "quire/app/identity"

// initIdentity wires sign-in through the configured identity providers.
func (s *Server) initIdentity() {
	s.identity = identity.New(identity.Config{Store: s.store, Account: s.account, OIDC: s.cfg.OIDC,
		PublicURL: s.cfg.PublicURL(), Logger: s.log})
}
