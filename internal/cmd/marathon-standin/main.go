package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/bdebundle/bundle/out/marathon/standin"
)

func main() {
	s := standin.New()
	defer s.Close()
	fmt.Printf("MARATHON_URL=%s\n", s.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
