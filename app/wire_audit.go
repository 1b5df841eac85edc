package app

import (
	"context"
	"time"

	"quire/app/audit"
)

// pruneAudit applies audit_retention_days; the housekeeping sweep calls it.
func (s *Server) pruneAudit(ctx context.Context) {
	n, err := s.audit.Prune(ctx, time.Duration(s.cfg.AuditRetentionDays)*24*time.Hour)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("pruning the audit log", "err", err)
	} else if n > 0 {
		s.log.Info("pruned the audit log", "rows", n, "retention_days", s.cfg.AuditRetentionDays)
	}
}

// Audit is the instance's audit log (tests flush it before reading).
func (s *Server) Audit() *audit.Log { return s.audit }
