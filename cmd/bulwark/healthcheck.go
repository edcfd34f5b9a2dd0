package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/bulwark-router/bulwark/config"
)

// healthcheckTimeout bounds -healthcheck's request.
const healthcheckTimeout = 5 * time.Second

// healthcheck is -healthcheck [URL]: nil when url answers 200. An empty
// url is the config's own /__lbheartbeat__ (cfgPath's listener, or
// :8080 without a config), over https when the config has tls. A static
// image has no curl; this is its HEALTHCHECK.
func healthcheck(url, cfgPath string, stdout, stderr io.Writer) error {
	if url == "" {
		listen, secure := ":8080", false
		// A config named but absent (an image's $BULWARK_CONFIG when it
		// runs -demo) leaves the default listener.
		if _, err := os.Stat(cfgPath); cfgPath != "" && !errors.Is(err, fs.ErrNotExist) {
			cfg, err := config.LoadFile(cfgPath)
			if err != nil {
				fmt.Fprintf(stderr, "%s:\n%v\n", cfgPath, err)
				return errReported
			}
			listen, secure = cfg.Listen, cfg.TLS != nil
		}
		url = heartbeatURL(listen, secure)
	}
	c := &http.Client{Timeout: healthcheckTimeout, Transport: &http.Transport{
		Proxy: nil,
		// The router's own listener, on this host: its certificate need
		// not name the address asked.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: healthcheck %s: %v\n", url, err)
		return errReported
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "bulwark: healthcheck %s: %s\n", url, resp.Status)
		return errReported
	}
	fmt.Fprintf(stdout, "ok %s\n", url)
	return nil
}

// heartbeatURL is /__lbheartbeat__ on the listener listen, asked on
// loopback when it binds every address.
func heartbeatURL(listen string, secure bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = "", "8080"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/__lbheartbeat__"
}
