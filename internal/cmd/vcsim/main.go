package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // REST and content library endpoints
)

func main() {
	port := flag.Int("port", 0, "port to listen on (0: any free port)")
	flag.Parse()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		log.Fatal(err)
	}
	defer m.Remove()
	m.Service.Listen = &url.URL{Host: fmt.Sprintf("127.0.0.1:%d", *port)}
	m.Service.RegisterEndpoints = true
	s := m.Service.NewServer()
	defer s.Close()
	fmt.Printf("GOVC_URL=%s\n", s.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
