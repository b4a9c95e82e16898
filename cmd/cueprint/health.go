package main

import (
	"context"
	"fmt"
	"net"
	"time"
)

// runHealth asks a daemon whether it is alive (or, with --ready, ready
// for work): exit 0 if so, 1 if not. It is the container image's health
// check, so it needs no curl in the image.
func runHealth(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "health", "health [--server URL] [--ready] [--timeout D]")
	server := fs.String("server", "", "the daemon's `URL` (default: http://127.0.0.1 on the port of $CUEPRINT_LISTEN, else :8080)")
	ready := fs.Bool("ready", false, "ask /readyz (store writable, postings loaded) rather than /healthz (alive)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	pos, err := e.parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: health takes no arguments", errUsage)
	}
	if *server == "" {
		*server = "http://" + localAddr(e)
	}
	cl, err := remoteClient(e, *server, "")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *ready {
		h, err := cl.Ready(ctx)
		if err != nil {
			return fmt.Errorf("%s: not ready: %w", *server, err)
		}
		fmt.Fprintln(e.stdout, h.Status)
		return nil
	}
	h, err := cl.Health(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", *server, err)
	}
	fmt.Fprintln(e.stdout, h.Status)
	return nil
}

// localAddr is where a daemon configured by $CUEPRINT_LISTEN answers on
// this host: a wildcard host becomes the loopback address.
func localAddr(e *env) string {
	listen, _ := e.lookupEnv(envName("listen"))
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" {
		return "127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
