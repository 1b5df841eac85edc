// Command ollama-dev runs a real Ollama server on 127.0.0.1 with Quire's tiny
// synthetic models, so Quire can be run and tried without real models:
//
//	scripts/build-ollama.sh            # once: builds the ollama binary
//	go run ./tools/ollama-dev -port 11435
//
// The chat model (quire-tiny-chat) always answers the same sentence; the
// embedding model (quire-tiny-embed) gives similar vectors to texts that share
// words. Stop with Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"quire/app/llm/ollamatest"
)

func main() {
	port := flag.Int("port", 0, "loopback port to listen on (0: a free one)")
	dir := flag.String("dir", "", "state directory to keep (default: a temp dir removed on exit)")
	dim := flag.Int("embed-dim", ollamatest.EmbedDim, "embedding dimension (a multiple of 64)")
	verbose := flag.Bool("v", false, "copy the server log to stderr")
	flag.Parse()
	log.SetFlags(0)

	var serverLog io.Writer
	if *verbose {
		serverLog = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	began := time.Now()
	s, err := ollamatest.Launch(ctx, ollamatest.Config{Port: *port, Dir: *dir, Log: serverLog, EmbedDim: *dim})
	cancel()
	if err != nil {
		log.Fatalf("ollama-dev: %v", err)
	}
	fmt.Printf("Ollama %s ready in %v\n", s.URL, time.Since(began).Round(time.Millisecond))
	fmt.Printf("  chat model:  %s (always answers %q)\n", s.ChatModel, s.ChatSentence)
	fmt.Printf("  embed model: %s (%d dims)\n", s.EmbedModel, s.EmbedDim)
	fmt.Printf("  log:         %s\n", s.LogPath())
	fmt.Printf("  try: OLLAMA_HOST=%s ollama run %s hello\n", s.URL, s.ChatModel)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if err := s.Stop(); err != nil {
		log.Fatalf("ollama-dev: stop: %v", err)
	}
}
