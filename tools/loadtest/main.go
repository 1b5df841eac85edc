// Command loadtest drives a real Quire binary on loopback with many concurrent
// users and reports throughput and latency. It fails (exit 1) on any 5xx, any
// transport error, or any "database is locked" in the server's log.
//
//	go build -o /tmp/quire . && go run ./tools/loadtest -binary /tmp/quire              # 200 users, 60 s
//	go run ./tools/loadtest -binary /tmp/quire -users 50 -duration 15s                   # the CI run
//	go run ./tools/loadtest -binary /tmp/quire -soak 30m                                 # soak: progress every minute
//	go run ./tools/loadtest -url http://127.0.0.1:8080 -log quire.log                    # a server you started
//	go run ./tools/loadtest -binary /tmp/quire -ollama http://127.0.0.1:11434 -model M   # with chat turns
//
// With -binary it starts `quire serve` itself on a free loopback port over a
// fresh temporary data dir and reads its log. Only loopback addresses are
// accepted: this is a load generator, not a tool to point at other machines.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

type options struct {
	binary, url, logPath string
	users, accounts      int
	duration, soak       time.Duration
	ollamaURL, model     string
	think                time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "", "quire binary to start on loopback (else -url)")
	flag.StringVar(&o.url, "url", "", "base URL of a running Quire on loopback")
	flag.StringVar(&o.logPath, "log", "", "with -url: the server's log file, searched for \"database is locked\"")
	flag.IntVar(&o.users, "users", 200, "concurrent users")
	flag.IntVar(&o.accounts, "accounts", 20, "accounts the users share (signups are deliberately slow: argon2id)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to drive load")
	flag.DurationVar(&o.soak, "soak", 0, "soak run of this length (overrides -duration; prints progress every minute)")
	flag.StringVar(&o.ollamaURL, "ollama", "", "Ollama URL: include chat turns (needs -model)")
	flag.StringVar(&o.model, "model", "", "chat model for -ollama")
	flag.DurationVar(&o.think, "think", 0, "pause between one user's requests (0 = back to back)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.soak > 0 {
		o.duration = o.soak
	}
	if o.users < 1 || o.accounts < 1 || o.duration <= 0 {
		return fmt.Errorf("-users, -accounts and -duration must be positive")
	}
	if o.ollamaURL != "" && o.model == "" {
		return fmt.Errorf("-ollama needs -model (a chat model installed there)")
	}
	var srv *server
	switch {
	case o.binary != "":
		var err error
		if srv, err = startServer(o.binary, o.ollamaURL); err != nil {
			return err
		}
		defer srv.stop()
		o.url, o.logPath = srv.url, srv.logPath
	case o.url != "":
		if err := loopbackOnly(o.url); err != nil {
			return err
		}
	default:
		return fmt.Errorf("give -binary PATH (started here) or -url URL (already running)")
	}
	c := newClient(o.url, o.users)
	fmt.Printf("setting up %d accounts on %s…\n", o.accounts, o.url)
	accts, features, err := setup(c, o)
	if err != nil {
		return err
	}
	fmt.Printf("driving %d users for %s (uploads: %v, chat turns: %v)\n", o.users, o.duration, features.uploads, features.chat)
	res := drive(c, accts, features, o)
	locked, err := countLocked(o.logPath)
	if err != nil {
		fmt.Println("warning: server log not searched:", err)
	}
	return res.report(os.Stdout, locked)
}

// loopbackOnly refuses any target that is not this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: loadtest only targets 127.0.0.1/::1/localhost", host)
}

func newClient(base string, users int) *client {
	return &client{base: base, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: users, MaxIdleConnsPerHost: users, MaxConnsPerHost: users, IdleConnTimeout: time.Minute,
	}}}
}
