package testutil

import (
	"io"
	"net"
	"net/http"
	"testing"
)

// FreeAddr returns a loopback host:port nobody listens on: a port the
// kernel just handed out and that was closed again at once. A dial to it is
// refused (a dead backend); a listen on it most likely succeeds.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// GetAs sends n GETs to url through c as client (its X-Forwarded-For; the
// router must trust the peer) and counts the status codes seen.
func GetAs(t testing.TB, c *http.Client, url, client string, n int) map[int]int {
	t.Helper()
	codes := map[int]int{}
	for range n {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	return codes
}

// BrowserFields are the header fields of a browser's request, 11 of them,
// each line ending in CRLF.
const BrowserFields = "Host: login.persona.org\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: application/json, text/javascript, */*; q=0.01\r\nAccept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\nX-Requested-With: XMLHttpRequest\r\nConnection: keep-alive\r\n" +
	"Referer: https://login.persona.org/sign_in\r\nCookie: browserid_state=abcdefghijklmnopqrstuvwxyz0123456789\r\n" +
	"X-Forwarded-For: 203.0.113.7\r\n"
