package main

import (
	"context"
	"os"

	"github.com/bdebundle/bundle/internal/cmd/internal/serve"
	"github.com/bdebundle/bundle/out/chronos/standin"
)

func main() {
	s := standin.New()
	defer s.Close()
	serve.Until(context.Background(), os.Stdout, "CHRONOS_URL", s.URL)
}
