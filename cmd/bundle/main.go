// Command bundle compiles an HCL site definition into a self-contained,
// versioned, verifiable offline bundle for VMware BDE sites running Mesos,
// Marathon, Chronos, ZooKeeper, Docker and HAProxy, and deploys it to vCenter.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bdebundle/bundle/cmd/bundle/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
