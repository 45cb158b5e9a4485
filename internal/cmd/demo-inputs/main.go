package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/bdebundle/bundle/internal/demoinputs"
)

func main() {
	dir := flag.String("dir", "examples/mesos-site", "example directory to write into")
	flag.Parse()
	files, err := demoinputs.Write(context.Background(), *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-inputs:", err)
		os.Exit(1)
	}
	fmt.Printf("demo-inputs: %d stand-in inputs under %s\n", len(files), *dir)
}
