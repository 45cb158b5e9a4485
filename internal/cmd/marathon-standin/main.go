package main

import (
	"context"
	"os"

	"github.com/bdebundle/bundle/internal/cmd/internal/serve"
	"github.com/bdebundle/bundle/out/marathon/standin"
)

func main() {
	s := standin.New()
	defer s.Close()
	serve.Until(context.Background(), os.Stdout, "MARATHON_URL", s.URL)
}
