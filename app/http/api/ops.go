package api

import (
	"errors"
	"os"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/ops"
)

func (s *Handlers) Metrics(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var gauges []ops.Gauge
	if counts, err := s.Store.TaskCounts(ctx); err == nil {
		g := ops.Gauge{Name: "quire_document_tasks", Help: "Document processing tasks by status (queued and running are the queue depth)."}
		for _, st := range []string{"queued", "running", "succeeded", "failed", "cancelled"} {
			g.Samples = append(g.Samples, ops.Sample{Labels: []string{"status", st}, Value: float64(counts[st])})
		}
		gauges = append(gauges, g)
	} else {
		s.Log.Warn("metrics: count tasks", "err", err)
	}
	db, wal := s.Store.Sizes()
	gauges = append(gauges, ops.Gauge{Name: "quire_database_bytes", Help: "Size of the SQLite database file and its write-ahead log.",
		Samples: []ops.Sample{{Labels: []string{"file", "db"}, Value: float64(db)}, {Labels: []string{"file", "wal"}, Value: float64(wal)}}})
	if list, err := s.Backups.List(); err == nil && len(list) > 0 {
		gauges = append(gauges,
			ops.Gauge{Name: "quire_backups", Help: "Backups in the backups folder.", Samples: []ops.Sample{{Value: float64(len(list))}}},
			ops.Gauge{Name: "quire_backup_last_timestamp_seconds", Help: "When the newest backup was written (unix time).", Samples: []ops.Sample{{Value: float64(list[0].CreatedAt.Unix())}}})
	}
	gauges = append(gauges, s.ollamaHostGauges()...)
	written, dropped, queued := s.Audit.Stats()
	gauges = append(gauges,
		ops.Gauge{Name: "quire_audit_events_written", Help: "Audit log rows appended by this process.", Samples: []ops.Sample{{Value: float64(written)}}},
		ops.Gauge{Name: "quire_audit_events_dropped", Help: "Audit events this process lost (queue full or a failed write); each loss is logged and recorded as an audit.dropped row.", Samples: []ops.Sample{{Value: float64(dropped)}}},
		ops.Gauge{Name: "quire_audit_queue_depth", Help: "Audit events waiting to be written.", Samples: []ops.Sample{{Value: float64(queued)}}})
	if s.Replica != nil {
		gauges = append(gauges, s.Replica.Gauges()...)
	}
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return ops.Default.Write(c.Response().BodyWriter(), s.Version, gauges...)
}

// CreateBackup writes an online backup into the backups folder while the
// server keeps serving (POST /api/admin/backups).
func (s *Handlers) CreateBackup(c *fiber.Ctx) error {
	info, err := s.Backups.Run(c.UserContext(), ops.KindManual)
	if errors.Is(err, ops.ErrBusy) {
		return request.Conflict("%s", err.Error())
	}
	if err != nil {
		s.Log.Error("manual backup failed", "err", err)
		return request.Errorf(fiber.StatusInternalServerError, "internal", "the backup failed: %s", err.Error())
	}
	return c.Status(fiber.StatusCreated).JSON(info)
}

func (s *Handlers) ListBackups(c *fiber.Ctx) error {
	list, err := s.Backups.List()
	if err != nil {
		return err
	}
	if list == nil {
		list = []ops.Info{}
	}
	return c.JSON(list)
}

// DownloadBackup streams one backup. The name must be a backup name (no path
// can be smuggled in); anything else is simply not found.
func (s *Handlers) DownloadBackup(c *fiber.Ctx) error {
	p, err := s.Backups.Path(c.Params("name"))
	if err != nil {
		return request.NotFound("backup")
	}
	f, err := os.Open(p)
	if err != nil {
		return request.NotFound("backup")
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
