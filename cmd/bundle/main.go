package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bdebundle/bundle/cmd/bundle/cli"
)

// grace is how long a command has to clean up after SIGINT or SIGTERM
// before the process exits anyway; a second signal exits at once. Builds
// leave only staging leftovers, which the next build removes.
const grace = 900 * time.Millisecond

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cancel()
		select {
		case <-sigs:
		case <-time.After(grace):
		}
		fmt.Fprintf(os.Stderr, "Error: interrupted (%v)\n", s)
		os.Exit(cli.ExitEnv)
	}()
	code := cli.Execute(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
