// Command standin runs the integration tests' stand-in internet in a
// container: HTTPS on :443, HTTP on :80, DNS on :53 (UDP and TCP), every
// received byte recorded as JSON lines on stdout.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/standin"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

func main() {
	name := flag.String("name", "standin", "server name used in answers and records")
	caDir := flag.String("ca-dir", "", "directory with ca.pem and ca-key.pem (the throwaway CA)")
	dns := flag.Bool("dns", false, "also serve DNS on :53")
	quiet := flag.Bool("quiet", false, "record nothing (benchmarks)")
	flag.Parse()
	if err := run(*name, *caDir, *dns, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}

func run(name, caDir string, dns, quiet bool) error {
	rc := standin.NewRecorder(os.Stdout)
	if quiet {
		rc = standin.NewRecorder(io.Discard)
	}
	h := standin.HTTPHandler(name, rc)
	errc := make(chan error, 4)
	serve := func(l net.Listener, cfg *tls.Config) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: cfg}
		if cfg != nil {
			errc <- srv.ServeTLS(l, "", "")
			return
		}
		errc <- srv.Serve(l)
	}
	plain, err := net.Listen("tcp", ":80") //nolint:gosec // G102: the stand-in serves its container network
	if err != nil {
		return err
	}
	go serve(plain, nil)
	if caDir != "" {
		ca, err := tlsca.LoadDir(caDir)
		if err != nil {
			return err
		}
		cfg, err := standin.TLSConfig(name, ca, rc)
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", ":443") //nolint:gosec // G102: the stand-in serves its container network
		if err != nil {
			return err
		}
		go serve(l, cfg)
	}
	if dns {
		pc, err := net.ListenPacket("udp", ":53")
		if err != nil {
			return err
		}
		go func() { errc <- standin.ServeDNSUDP(name, pc, rc) }()
		l, err := net.Listen("tcp", ":53") //nolint:gosec // G102: the stand-in serves its container network
		if err != nil {
			return err
		}
		go func() { errc <- standin.ServeDNSTCP(name, l, rc) }()
	}
	fmt.Fprintf(os.Stderr, "standin %s listening\n", name)
	return <-errc
}
