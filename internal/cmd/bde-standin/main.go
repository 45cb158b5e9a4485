package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/bdebundle/bundle/internal/cmd/internal/serve"
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

// distros are the distros BDE knows (its manifest), NAME=VENDOR:VERSION.
type distros map[string]standin.Distro

func (d distros) String() string { return "" }
func (d distros) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	vendor, version, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || name == "" || vendor == "" || version == "" {
		return fmt.Errorf("want NAME=VENDOR:VERSION, got %q", v)
	}
	d[name] = standin.Distro{Vendor: vendor, Version: version}
	return nil
}

func main() {
	cs := clusters{}
	ds := distros{}
	flag.Var(cs, "cluster", "a running cluster NAME=DISTRO (repeatable)")
	flag.Var(ds, "distro", "a distro BDE knows NAME=VENDOR:VERSION (repeatable; default mesos=MESOS:0.22.0, the example's)")
	flag.Parse()
	if len(ds) == 0 {
		ds["mesos"] = standin.Distro{Vendor: "MESOS", Version: "0.22.0"}
	}
	pw := os.Getenv("BDE_PASSWORD")
	if pw == "" {
		pw = os.Getenv("BUNDLE_BDE_PASSWORD")
	}
	if pw == "" {
		fmt.Fprintln(os.Stderr, "bde-standin: set BDE_PASSWORD")
		os.Exit(2)
	}
	s := standin.New(map[string]string{"admin": pw}, cs)
	for name, d := range ds {
		s.SetDistro(name, d.Vendor, d.Version)
	}
	s.Polls = 0 // a task completes at its first poll: the demo does not wait
	defer s.Close()
	serve.Until(context.Background(), os.Stdout, "BDE_URL", s.BaseURL())
}
