package serve

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Until prints "env=url" to w, then blocks until ctx ends or the process
// gets SIGINT or SIGTERM.
func Until(ctx context.Context, w io.Writer, env, url string) {
	fmt.Fprintf(w, "%s=%s\n", env, url)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
