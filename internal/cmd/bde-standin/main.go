package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bdebundle/bundle/out/bde/standin"
)

type clusters map[string]*standin.Cluster

func (c clusters) String() string { return "" }
func (c clusters) Set(v string) error {
	name, distro, ok := strings.Cut(v, "=")
	if !ok || name == "" || distro == "" {
		return fmt.Errorf("want NAME=DISTRO, got %q", v)
	}
	c[name] = &standin.Cluster{Distro: distro}
	return nil
}

func main() {
	cs := clusters{}
	flag.Var(cs, "cluster", "a running cluster NAME=DISTRO (repeatable)")
	flag.Parse()
	pw := os.Getenv("BDE_PASSWORD")
	if pw == "" {
		pw = os.Getenv("BUNDLE_BDE_PASSWORD")
	}
	if pw == "" {
		fmt.Fprintln(os.Stderr, "bde-standin: set BDE_PASSWORD")
		os.Exit(2)
	}
	s := standin.New(map[string]string{"admin": pw}, cs)
	s.Polls = 0 // a task completes at its first poll: the demo does not wait
	defer s.Close()
	fmt.Printf("BDE_URL=%s\n", s.BaseURL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
