package app

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/ops"
)

// startOps wires the operations kit: the backups folder and its schedule.
func (s *Server) startOps(ctx context.Context) {
	s.backups = &ops.Backups{
		Dir:    s.cfg.BackupsDir(),
		Source: ops.Source{Store: s.store, FilesDir: s.cfg.FilesDir(), Version: Version},
		Log:    s.log,
	}
	s.backups.Schedule(ctx, s.cfg.BackupInterval.Duration, s.cfg.BackupKeep)
}

// metricsAccess is who may scrape /metrics: instance admins (a personal API key
// without a workspace works as Prometheus's bearer token), or anyone when the
// operator sets metrics_public, e.g. behind a firewall that only lets Prometheus in.
func (s *Server) metricsAccess() Access {
	if s.cfg.MetricsPublic {
		return Public
	}
	return InstanceAdmin
}

// observeRequest feeds the request metrics. The route label is the matched
// route-table pattern, so its values are bounded; anything else is "unmatched".
func (s *Server) observeRequest(c *fiber.Ctx, status int, d time.Duration) {
	// When no route matches, Fiber leaves the last middleware as the route: the
	// Use("/", authenticate) or Use("/static", ...) entries, whose patterns would
	// otherwise pass for the home page. A real "/" match only happens on "/".
	route := c.Route().Path
	switch {
	case strings.HasPrefix(route, "/static"):
		route = "/static"
	case route == "/" && c.Path() != "/":
		route = "unmatched"
	}
	ops.Default.ObserveRequest(route, c.Method(), status, d)
}

func (s *Server) metrics(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var gauges []ops.Gauge
	if counts, err := s.store.TaskCounts(ctx); err == nil {
		g := ops.Gauge{Name: "quire_document_tasks", Help: "Document processing tasks by status (queued and running are the queue depth)."}
		for _, st := range []string{"queued", "running", "succeeded", "failed", "cancelled"} {
			g.Samples = append(g.Samples, ops.Sample{Labels: []string{"status", st}, Value: float64(counts[st])})
		}
		gauges = append(gauges, g)
	} else {
		s.log.Warn("metrics: count tasks", "err", err)
	}
	db, wal := s.store.Sizes()
	gauges = append(gauges, ops.Gauge{Name: "quire_database_bytes", Help: "Size of the SQLite database file and its write-ahead log.",
		Samples: []ops.Sample{{Labels: []string{"file", "db"}, Value: float64(db)}, {Labels: []string{"file", "wal"}, Value: float64(wal)}}})
	if list, err := s.backups.List(); err == nil && len(list) > 0 {
		gauges = append(gauges,
			ops.Gauge{Name: "quire_backups", Help: "Backups in the backups folder.", Samples: []ops.Sample{{Value: float64(len(list))}}},
			ops.Gauge{Name: "quire_backup_last_timestamp_seconds", Help: "When the newest backup was written (unix time).", Samples: []ops.Sample{{Value: float64(list[0].CreatedAt.Unix())}}})
	}
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return ops.Default.Write(c.Response().BodyWriter(), Version, gauges...)
}

// createBackup writes an online backup into the backups folder while the
// server keeps serving (POST /api/admin/backups).
func (s *Server) createBackup(c *fiber.Ctx) error {
	info, err := s.backups.Run(c.UserContext(), ops.KindManual)
	if errors.Is(err, ops.ErrBusy) {
		return conflict("%s", err.Error())
	}
	if err != nil {
		s.log.Error("manual backup failed", "err", err)
		return errorf(fiber.StatusInternalServerError, "internal", "the backup failed: %s", err.Error())
	}
	return c.Status(fiber.StatusCreated).JSON(info)
}

func (s *Server) listBackups(c *fiber.Ctx) error {
	list, err := s.backups.List()
	if err != nil {
		return err
	}
	if list == nil {
		list = []ops.Info{}
	}
	return c.JSON(list)
}

// downloadBackup streams one backup. The name must be a backup name (no path
// can be smuggled in); anything else is simply not found.
func (s *Server) downloadBackup(c *fiber.Ctx) error {
	p, err := s.backups.Path(c.Params("name"))
	if err != nil {
		return notFound("backup")
	}
	f, err := os.Open(p)
	if err != nil {
		return notFound("backup")
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	c.Set(fiber.HeaderContentType, "application/gzip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+fi.Name()+`"`)
	c.Set(fiber.HeaderContentLength, strconv.FormatInt(fi.Size(), 10))
	return c.SendStream(f, int(fi.Size())) // fasthttp closes f when done
}

func (s *Server) pageAdminBackups(c *fiber.Ctx) error {
	list, err := s.backups.List()
	if err != nil {
		return err
	}
	return s.render(c, "admin_backups", "Backups · Admin", fiber.Map{
		"Backups": list, "Interval": s.cfg.BackupInterval.Duration, "Keep": s.cfg.BackupKeep, "Dir": s.cfg.BackupsDir(),
	})
}
