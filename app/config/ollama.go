package config

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// OllamaHost is one Ollama server of the pool: `[[ollama]]` in TOML.
type OllamaHost struct {
	URL string `toml:"url" json:"url"`
	// Weight breaks ties between hosts with as many calls in flight (1 to
	// 100; 0 means 1).
	Weight int    `toml:"weight" json:"weight"`
	Label  string `toml:"label" json:"label"`
}

// MaxOllamaHosts bounds the pool (each host is health-checked periodically).
const MaxOllamaHosts = 100

// OllamaHosts is the pool the configuration sets: ollama_urls first, then the
// [[ollama]] entries; none when it sets only ollama_url (a pool of one).
func (c *Config) OllamaHosts() []OllamaHost {
	var out []OllamaHost
	for _, u := range c.OllamaURLs {
		out = append(out, OllamaHost{URL: u})
	}
	return append(out, c.Ollama...)
}

// usePool makes the first configured host the Ollama URL, locked as the
// whole pool is (the admin cannot change a part of it at run time).
func (c *Config) usePool() error {
	hosts := c.OllamaHosts()
	if len(hosts) == 0 {
		return nil
	}
	if src := c.Source("ollama_url"); src != "" {
		return fmt.Errorf("invalid configuration:\n  ollama_url is %s as well as a pool of Ollama hosts: list every host in ollama_urls or [[ollama]] instead", sourceText(src))
	}
	c.OllamaURL = strings.TrimRight(strings.TrimSpace(hosts[0].URL), "/")
	c.setSource("ollama_url", cmp.Or(c.Source("ollama_urls"), "config file"))
	return nil
}

func sourceText(src string) string {
	if src == "config file" {
		return "set in the config file"
	}
	return "set by " + src
}

// checkOllamaHost says what is wrong with one host, "" when nothing.
func checkOllamaHost(h OllamaHost) string {
	raw := strings.TrimRight(strings.TrimSpace(h.URL), "/")
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q: want an http(s) URL such as http://127.0.0.1:11434", h.URL)
	case h.Weight < 0 || h.Weight > 100:
		return fmt.Sprintf("%s: weight %d, want 1 to 100 (0 means 1)", raw, h.Weight)
	case len(h.Label) > 64 || strings.IndexFunc(h.Label, unicode.IsControl) >= 0:
		return fmt.Sprintf("%s: the label must be at most 64 characters, without control characters", raw)
	}
	return ""
}

func (c *Config) validateOllamaHosts() []error {
	hosts := c.OllamaHosts()
	var errs []error
	if len(hosts) > MaxOllamaHosts {
		errs = append(errs, fmt.Errorf("ollama hosts: %d listed, at most %d", len(hosts), MaxOllamaHosts))
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if msg := checkOllamaHost(h); msg != "" {
			errs = append(errs, fmt.Errorf("ollama host %s", msg))
			continue
		}
		u := strings.TrimRight(strings.TrimSpace(h.URL), "/")
		if seen[u] {
			errs = append(errs, fmt.Errorf("ollama host %s is listed twice", u))
		}
		seen[u] = true
	}
	return errs
}
