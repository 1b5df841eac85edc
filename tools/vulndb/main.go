// Command vulndb lets an offline site check Quire for known vulnerabilities
// without reaching vuln.go.dev.
//
// It builds a govulncheck database (the v1 layout: index/db.json,
// index/modules.json, ID/<id>.json) from the OSV reports that the
// golang.org/x/vulndb module carries in data/osv, a module the Go proxy serves:
//
//	go run ./tools/vulndb -src "$(go mod download -json golang.org/x/vulndb@latest | ...Dir)/data/osv" -out /tmp/vulndb
//
// and, with -gate, reads `govulncheck -format json` and fails when Quire's code
// reaches a vulnerability that has a fixed version (something we can act on);
// advisories without a fix are listed, not fatal:
//
//	govulncheck -db file:///tmp/vulndb -format json ./... | go run ./tools/vulndb -gate
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/mod/semver"
)

// entry is the part of an OSV report the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Events []struct {
				Fixed string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	src := flag.String("src", "", "folder of OSV reports (data/osv of golang.org/x/vulndb)")
	out := flag.String("out", "vulndb", "folder to write the database to")
	gateMode := flag.Bool("gate", false, "read govulncheck -format json on stdin; exit 1 on a reachable, fixable vulnerability")
	flag.Parse()
	if *gateMode {
		if err := gate(os.Stdin); err != nil {
			fmt.Fprintln(os.Stderr, "vulncheck:", err)
			os.Exit(1)
		}
		return
	}
	if err := build(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func build(src, out string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no OSV reports in %q", src)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return err
		}
	}
	modules := map[string][]moduleVuln{}
	var newest time.Time
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return err
		}
		for _, a := range e.Affected {
			fixed := ""
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if ev.Fixed != "" && (fixed == "" || semver.Compare("v"+ev.Fixed, "v"+fixed) > 0) {
						fixed = ev.Fixed
					}
				}
			}
			modules[a.Package.Name] = append(modules[a.Package.Name], moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: fixed})
		}
	}
	index := make([]module, 0, len(modules))
	for path, vulns := range modules {
		sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
		index = append(index, module{path, vulns})
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Path < index[j].Path })
	if newest.IsZero() {
		newest = time.Now().UTC()
	}
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), index); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "index", "db.json"), map[string]time.Time{"modified": newest}); err != nil {
		return err
	}
	fmt.Printf("vulndb: %d reports for %d modules in %s\n", len(files), len(index), out)
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// finding is the part of govulncheck's JSON output the gate needs.
type finding struct {
	OSV          string `json:"osv"`
	FixedVersion string `json:"fixed_version"`
	Trace        []struct {
		Module   string `json:"module"`
		Version  string `json:"version"`
		Package  string `json:"package"`
		Function string `json:"function"`
	} `json:"trace"`
}

// gate fails on vulnerabilities that Quire's code calls and that a newer
// version fixes; it lists the rest (e.g. server-side Ollama advisories with no
// fix, which the api client package Quire uses does not reach in practice).
func gate(r io.Reader) error {
	dec := json.NewDecoder(r)
	fixable, unfixable := map[string]string{}, map[string]string{}
	for {
		var msg struct {
			Finding *finding `json:"finding"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("reading govulncheck output: %w", err)
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue // imported or required but not called
		}
		where := f.Trace[0].Module + "@" + f.Trace[0].Version
		if f.FixedVersion != "" {
			fixable[f.OSV] = where + " (fixed in " + f.FixedVersion + ")"
		} else {
			unfixable[f.OSV] = where
		}
	}
	for id, where := range unfixable {
		fmt.Printf("reachable, no fix published: %s in %s\n", id, where)
	}
	for id, where := range fixable {
		fmt.Printf("REACHABLE AND FIXABLE: %s in %s\n", id, where)
	}
	if len(fixable) > 0 {
		return fmt.Errorf("%d reachable vulnerabilities have fixes: upgrade", len(fixable))
	}
	fmt.Printf("vulncheck: no reachable vulnerability with a fix (%d without a published fix listed above)\n", len(unfixable))
	return nil
}
