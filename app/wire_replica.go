package app

import (
	"context"
	"time"

	"quire/app/replica"
)

// newReplica prepares continuous replication when [replica] url is set (nil otherwise).
func (s *Server) newReplica() (*replica.Replicator, error) {
	if s.cfg.Replica.URL == "" {
		return nil, nil
	}
	return replica.New(s.store, replica.OptionsFromConfig(s.cfg, s.log))
}

// closeReplica ships what is left after the last write, before the store closes.
func (s *Server) closeReplica(deadline time.Time) {
	if s.replica == nil {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := s.replica.Close(ctx); err != nil {
		s.log.Warn("replica: the final sync did not complete; the replica may trail by the last changes", "err", err)
	}
}
