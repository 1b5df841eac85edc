package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"quire/app/config"
	"quire/app/settings"
	"quire/store"
)

// Status of one doctor check.
type Status int

const (
	OK Status = iota
	Warn
	Fail
	Skip
)

func (s Status) String() string { return [...]string{"ok", "warn", "FAIL", "skip"}[s] }

// Check is one finding of `quire doctor`: what was looked at, what was found,
// and, when it is not ok, what to do about it.
type Check struct {
	Name   string
	Status Status
	Detail string
	Fix    string
}

// DoctorInput is where doctor looks.
type DoctorInput struct {
	DataDir         string
	DBPath          string
	BackupsDir      string
	OllamaURL       string // from the configuration
	OllamaURLSource string // where the configuration set it (config.Config.Source); "" lets the admin's stored URL win
	BackupInterval  time.Duration
	FullIntegrity   bool   // PRAGMA integrity_check instead of quick_check
	WarnFreeBytes   uint64 // warn below this much free disk (default 1 GiB)
	FailFreeBytes   uint64 // fail below this (default 100 MiB)
	// OllamaHosts is the configured pool (config.Config.OllamaHosts; its
	// first host is OllamaURL); without one, the hosts the admin added are checked.
	OllamaHosts []config.OllamaHost
	HTTP        *http.Client
}

const (
	gib = 1 << 30
	mib = 1 << 20
)

// Doctor checks the data dir, the database, migrations, Ollama, disk space and
// backups. It changes nothing (it never migrates) and is safe while Quire runs.
func Doctor(ctx context.Context, in DoctorInput) []Check {
	if in.WarnFreeBytes == 0 {
		in.WarnFreeBytes = gib
	}
	if in.FailFreeBytes == 0 {
		in.FailFreeBytes = 100 * mib
	}
	if in.HTTP == nil {
		in.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	checks := []Check{checkDataDir(in.DataDir)}
	checks = append(checks, checkDisk(in))
	st, err := store.OpenExisting(in.DBPath)
	if err != nil {
		fix := "start `quire serve` once to create it, or `quire restore BACKUP` into an empty data dir"
		return append(checks, Check{"database", Fail, err.Error(), fix})
	}
	defer st.Close()
	checks = append(checks, checkIntegrity(ctx, st, in.FullIntegrity), checkMigrations(st))
	checks = append(checks, checkOllama(ctx, st, in)...)
	return append(checks, checkBackups(in))
}

func checkDataDir(dir string) Check {
	c := Check{Name: "data dir"}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Check{"data dir", Fail, dir + " does not exist", "create it (quire serve creates it on start) or point --data-dir / QUIRE_DATA_DIR at the right folder"}
	case err != nil:
		return Check{"data dir", Fail, err.Error(), "check the path and the permissions of its parent folders"}
	case !fi.IsDir():
		return Check{"data dir", Fail, dir + " is not a folder", "point data_dir at a folder"}
	}
	probe, err := os.CreateTemp(dir, ".doctor-")
	if err != nil {
		return Check{"data dir", Fail, dir + " is not writable: " + err.Error(), fmt.Sprintf("give the user running Quire write access: chown -R <user> %s", dir)}
	}
	probe.Close()
	os.Remove(probe.Name())
	c.Detail = fmt.Sprintf("%s is writable (mode %04o)", dir, fi.Mode().Perm())
	if fi.Mode().Perm()&0o007 != 0 {
		c.Status = Warn
		c.Fix = fmt.Sprintf("other users can reach the database and uploads: chmod 750 %s", dir)
	}
	return c
}

func checkDisk(in DoctorInput) Check {
	free, err := freeBytes(in.DataDir)
	if err != nil {
		return Check{"disk space", Skip, err.Error(), ""}
	}
	detail := fmt.Sprintf("%.1f GiB free on the data dir's filesystem", float64(free)/gib)
	fix := "free space or move data_dir to a larger disk: SQLite fails writes, and Quire with them, when the disk is full"
	switch {
	case free < in.FailFreeBytes:
		return Check{"disk space", Fail, detail, fix}
	case free < in.WarnFreeBytes:
		return Check{"disk space", Warn, detail, fix}
	}
	return Check{"disk space", OK, detail, ""}
}

func checkIntegrity(ctx context.Context, st *store.Store, full bool) Check {
	name := "database integrity (quick_check)"
	if full {
		name = "database integrity (integrity_check)"
	}
	problems, err := st.IntegrityCheck(ctx, !full)
	if err != nil {
		return Check{name, Fail, err.Error(), "the database cannot be read: stop Quire and restore the newest backup with `quire restore`"}
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "…")
		}
		return Check{name, Fail, strings.Join(problems, "; "), "stop Quire, keep a copy of the data dir, and restore the newest backup with `quire restore` into an empty folder"}
	}
	db, wal := st.Sizes()
	return Check{name, OK, fmt.Sprintf("ok (%.1f MiB, WAL %.1f MiB)", float64(db)/mib, float64(wal)/mib), ""}
}

func checkMigrations(st *store.Store) Check {
	latest := store.LatestSchemaVersion()
	v, dirty, err := st.SchemaVersion()
	switch {
	case err != nil:
		return Check{"migrations", Fail, err.Error(), "run `quire migrate version` for details"}
	case dirty:
		return Check{"migrations", Fail, fmt.Sprintf("schema version %d is dirty: a migration failed half-way", v),
			"restore the pre-upgrade backup in the backups folder with `quire restore` (into an empty data dir)"}
	case v > latest:
		return Check{"migrations", Fail, fmt.Sprintf("schema version %d is newer than this binary knows (%d)", v, latest), "run the newer Quire binary that migrated this database"}
	case v < latest:
		return Check{"migrations", Warn, fmt.Sprintf("schema version %d, this binary brings %d", v, latest),
			"`quire serve` backs up and migrates at start; or run `quire backup FILE` then `quire migrate`"}
	}
	return Check{"migrations", OK, fmt.Sprintf("schema version %d (latest), not dirty", v), ""}
}

func checkOllama(ctx context.Context, st *store.Store, in DoctorInput) []Check {
	// The URL in effect, decided as the server decides it: explicit configuration
	// wins over the admin's stored URL, which wins over the default.
	cur, err := settings.Load(ctx, settings.Config{Store: st, OllamaURL: in.OllamaURL, OllamaURLSource: in.OllamaURLSource})
	if err != nil {
		return []Check{{"ollama", Fail, "cannot read the instance settings: " + err.Error(), "run `quire doctor` again; if it persists the database needs attention"}}
	}
	set := cur.Get()
	url := strings.TrimRight(set.OllamaURL, "/")
	where := "set in Administration → Settings"
	if in.OllamaURLSource != "" {
		where = settings.SourceText(in.OllamaURLSource)
	} else if url == strings.TrimRight(in.OllamaURL, "/") {
		where = "the default"
	}
	fixURL := "set the right URL in Administration → Settings"
	if in.OllamaURLSource != "" {
		fixURL = "fix the URL " + where + " (it wins over Administration → Settings)"
	}
	var models [][2]string // role, name
	for _, m := range [][2]string{{"chat", set.DefaultChatModel}, {"embedding", set.DefaultEmbeddingModel}} {
		if m[1] != "" {
			models = append(models, m)
		}
	}
	tags, err := ollamaModels(ctx, in.HTTP, url)
	hosts, poolTags, reachable := checkOllamaHosts(ctx, st, in, url)
	var out []Check
	if err != nil {
		c := Check{"ollama", Warn, fmt.Sprintf("%s (%s) is unreachable: %v", url, where, err),
			"start Ollama (`ollama serve`) or " + fixURL + "; accounts, uploads and keyword search work without it"}
		if reachable > 0 {
			c.Fix = "start Ollama there or " + fixURL + "; meanwhile the other hosts of the pool serve"
		} else {
			if len(models) > 0 {
				c.Status = Fail
				c.Fix = "start Ollama (`ollama serve`) or " + fixURL + ": chat and embeddings need it"
			}
			return append([]Check{c}, hosts...)
		}
		out = append([]Check{c}, hosts...)
	} else {
		out = append([]Check{{"ollama", OK, fmt.Sprintf("%s (%s) answers with %d models", url, where, len(tags)), ""}}, hosts...)
	}
	if len(models) == 0 {
		out[0].Status, out[0].Fix = max(out[0].Status, Warn), "choose default chat and embedding models in Administration → Settings"
	}
	for _, m := range models {
		if hasModel(tags, m[1]) || hasModel(poolTags, m[1]) {
			out = append(out, Check{m[0] + " model", OK, m[1] + " is installed", ""})
		} else {
			out = append(out, Check{m[0] + " model", Fail, m[1] + " is not installed on " + url, "run `ollama pull " + m[1] + "`, or choose an installed model in Administration → Settings"})
		}
	}
	return out
}

func ollamaModels(ctx context.Context, hc *http.Client, url string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/tags", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/tags: HTTP %d", resp.StatusCode)
	}
	var body struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET /api/tags: %w", err)
	}
	names := make([]string, len(body.Models))
	for i, m := range body.Models {
		names[i] = m.Name
	}
	return names, nil
}

// hasModel matches Ollama's naming: "llama3" means "llama3:latest".
func hasModel(tags []string, want string) bool {
	norm := func(s string) string {
		if !strings.Contains(s, ":") {
			return s + ":latest"
		}
		return s
	}
	for _, t := range tags {
		if norm(t) == norm(want) {
			return true
		}
	}
	return false
}

func checkBackups(in DoctorInput) Check {
	b := &Backups{Dir: in.BackupsDir}
	all, err := b.List()
	if err != nil {
		return Check{"backups", Warn, err.Error(), "check the permissions of " + in.BackupsDir}
	}
	if len(all) == 0 {
		return Check{"backups", Warn, "no backups in " + in.BackupsDir, "set backup_interval (e.g. \"24h\") or run `quire backup FILE`, and copy backups off this machine"}
	}
	age := time.Since(all[0].CreatedAt).Round(time.Minute)
	c := Check{"backups", OK, fmt.Sprintf("%d backups; newest %s, %s old", len(all), all[0].Name, age), ""}
	if in.BackupInterval > 0 && age > 2*in.BackupInterval {
		c.Status, c.Fix = Warn, "scheduled backups are late: look for \"scheduled backup failed\" in the log"
	}
	return c
}

// Report prints the checks and reports whether any failed.
func Report(w io.Writer, checks []Check) (failed bool) {
	for _, c := range checks {
		fmt.Fprintf(w, "%-5s %-36s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "      fix: %s\n", c.Fix)
		}
		failed = failed || c.Status == Fail
	}
	if failed {
		fmt.Fprintln(w, "\nquire doctor found problems: fix the FAIL lines above, then run it again.")
	} else {
		fmt.Fprintln(w, "\nno failures.")
	}
	return failed
}
