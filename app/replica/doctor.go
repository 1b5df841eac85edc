package replica

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	"github.com/superfly/ltx"

	"quire/app/ops"
)

// LagAlert is how many sync intervals the replica may trail before `quire
// doctor` fails: one slow round is normal, ten in a row is an outage.
const LagAlert = 10

// Doctor checks the replica from outside the server (safe while it runs):
// the target answers, and it holds every change the local replication state
// has recorded. Lag is the age of the oldest recorded change the target
// lacks; it fails beyond LagAlert sync intervals.
func Doctor(ctx context.Context, opt Options) []ops.Check {
	const name = "replica"
	if opt.URL == "" {
		return []ops.Check{{Name: name, Status: ops.Skip, Detail: "continuous replication is off",
			Fix: "set [replica] url (file:///mnt/nas/quire, sftp://user@host/path or s3://bucket/prefix) so a lost disk loses seconds, not a day"}}
	}
	dbClient, files, err := opt.clients()
	if err != nil {
		return []ops.Check{{Name: name, Status: ops.Fail, Detail: err.Error(), Fix: "fix [replica] url"}}
	}
	defer files.close()
	ctx, cancel := context.WithTimeout(ctx, dialTimeout+5*time.Second)
	defer cancel()
	fix := "check that the target is mounted / the SFTP or S3 server answers and accepts the key; the server retries by itself"
	if err := dbClient.Init(ctx); err != nil {
		return []ops.Check{{Name: name, Status: ops.Fail, Detail: fmt.Sprintf("%s is unreachable: %v", opt.Target, err), Fix: fix}}
	}
	remote, remoteAt, err := newest(ctx, dbClient)
	if err != nil {
		return []ops.Check{{Name: name, Status: ops.Fail, Detail: fmt.Sprintf("%s cannot be listed: %v", opt.Target, explainS3(err)), Fix: fix}}
	}
	local := file.NewReplicaClient(metaDir(opt.DBPath))
	behind, err := oldestAfter(ctx, local, remote)
	if err != nil {
		return []ops.Check{{Name: name, Status: ops.Warn, Detail: "cannot read the local replication state: " + err.Error(), Fix: "start `quire serve` with [replica] url set"}}
	}
	out := make([]ops.Check, 0, 2)
	c := ops.Check{Name: name, Status: ops.OK}
	switch {
	case remote == 0:
		c.Status, c.Detail, c.Fix = ops.Fail, fmt.Sprintf("%s holds no database yet", opt.Target), "start `quire serve` with [replica] url set and wait one sync interval"
	case behind.IsZero():
		c.Detail = fmt.Sprintf("%s holds every recorded change (transaction %s, newest written %s ago); lag 0s", opt.Target, remote, time.Since(remoteAt).Round(time.Second))
	default:
		lag := time.Since(behind).Round(time.Second)
		c.Detail = fmt.Sprintf("%s trails: lag %s (replica at transaction %s)", opt.Target, lag, remote)
		if lag > LagAlert*opt.SyncInterval {
			c.Status, c.Fix = ops.Fail, fmt.Sprintf("the replica is more than %d sync intervals behind: look for \"replica\" in the server log; %s", LagAlert, fix)
		}
	}
	out = append(out, c)

	here, err := dirBlobs{root: opt.FilesDir}.list(ctx)
	if err == nil {
		var there map[string]int64
		if there, err = files.list(ctx); err == nil {
			missing := 0
			for rel, size := range here {
				if got, ok := there[rel]; !ok || got != size {
					missing++
				}
			}
			fc := ops.Check{Name: "replica files", Status: ops.OK, Detail: fmt.Sprintf("%d of %d originals on the replica", len(here)-missing, len(here))}
			if missing > 0 {
				fc.Status, fc.Fix = ops.Warn, "new uploads are copied every sync interval; if the count stays, look for \"replica\" in the server log"
			}
			return append(out, fc)
		}
	}
	return append(out, ops.Check{Name: "replica files", Status: ops.Warn, Detail: "cannot compare the files folder: " + err.Error(), Fix: fix})
}

// metaDir is where Litestream keeps its local state next to the database.
func metaDir(dbPath string) string {
	dir, base := filepath.Split(dbPath)
	return filepath.Join(dir, "."+base+litestream.MetaDirSuffix)
}

// newest is the last transaction the target holds, at any level, and when it was written.
func newest(ctx context.Context, c litestream.ReplicaClient) (ltx.TXID, time.Time, error) {
	var txid ltx.TXID
	var at time.Time
	for _, level := range []int{0, 1, 2, 3, litestream.SnapshotLevel} {
		itr, err := c.LTXFiles(ctx, level, 0, false)
		if err != nil {
			return 0, at, err
		}
		for itr.Next() {
			if info := itr.Item(); info.MaxTXID > txid {
				txid, at = info.MaxTXID, info.CreatedAt
			}
		}
		if err := itr.Close(); err != nil {
			return 0, at, err
		}
	}
	return txid, at, nil
}

// oldestAfter is when the oldest local change after txid was recorded (zero
// when the local state holds nothing newer).
func oldestAfter(ctx context.Context, local *file.ReplicaClient, txid ltx.TXID) (time.Time, error) {
	itr, err := local.LTXFiles(ctx, 0, 0, false)
	if err != nil {
		return time.Time{}, err
	}
	defer itr.Close()
	var oldest time.Time
	for itr.Next() {
		info := itr.Item()
		if info.MaxTXID > txid && (oldest.IsZero() || info.CreatedAt.Before(oldest)) {
			oldest = info.CreatedAt
		}
	}
	return oldest, itr.Err()
}
