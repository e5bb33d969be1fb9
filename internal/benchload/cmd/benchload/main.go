// Command benchload is the load generator of `mage bench` (see package
// benchload): "load" prints a JSON LoadResult, "startup" the milliseconds
// from exec to the first accepted connection.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchload load|mixed|startup ...")
		os.Exit(2)
	}
	ctx := context.Background()
	switch os.Args[1] {
	case "load":
		fs := flag.NewFlagSet("load", flag.ExitOnError)
		var o benchload.LoadOptions
		fs.StringVar(&o.URL, "url", "", "URL to request")
		fs.StringVar(&o.Proxy, "proxy", "", "proxy URL (empty: direct)")
		fs.StringVar(&o.CACert, "cacert", "", "PEM roots to trust")
		fs.IntVar(&o.Requests, "n", 1000, "requests")
		fs.IntVar(&o.Conc, "c", 1, "concurrency")
		fs.IntVar(&o.UploadBytes, "upload", 0, "POST this many bytes per request")
		fs.DurationVar(&o.MaxTime, "max-time", 0, "start no request after this long (0: no limit)")
		fs.StringVar(&o.BodyClass, "class", "", "body class of the uploads (text, code, json, base64, base64-wrapped, hex, binary, gzip, multipart, form, mixed)")
		_ = fs.Parse(os.Args[2:])
		res, err := benchload.Load(ctx, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchload:", err)
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(res)
	case "mixed":
		fs := flag.NewFlagSet("mixed", flag.ExitOnError)
		var o benchload.MixedOptions
		var blocked string
		fs.StringVar(&o.Allowed, "allowed", "", "URL that must pass")
		fs.StringVar(&blocked, "blocked", "", "space-separated URLs that must be refused")
		fs.StringVar(&o.Proxy, "proxy", "", "proxy URL")
		fs.StringVar(&o.CACert, "cacert", "", "PEM roots to trust")
		fs.IntVar(&o.Conc, "c", 16, "concurrency")
		fs.DurationVar(&o.Duration, "d", 10*time.Second, "duration")
		_ = fs.Parse(os.Args[2:])
		o.Blocked = strings.Fields(blocked)
		res, err := benchload.Mixed(ctx, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchload:", err)
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(res)
	case "startup":
		fs := flag.NewFlagSet("startup", flag.ExitOnError)
		addr := fs.String("addr", "", "address the daemon listens on")
		_ = fs.Parse(os.Args[2:])
		r, err := benchload.Startup(ctx, *addr, fs.Args())
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchload:", err)
			os.Exit(1)
		}
		fmt.Printf("{\"accept_ms\": %.2f, \"first_answer_ms\": %.2f}\n", float64(r.Accept.Microseconds())/1000, float64(r.FirstAnswer.Microseconds())/1000)
	default:
		fmt.Fprintln(os.Stderr, "usage: benchload load|mixed|startup ...")
		os.Exit(2)
	}
}
