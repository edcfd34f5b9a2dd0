package upstream

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// writeHead writes the request line and headers into c's buffer. Nothing is
// flushed; an invalid header name or value is an error (and marks pr fatal).
func (c *conn) writeHead(req *http.Request, pl *plan, pr *progress) error {
	bw := c.bw
	bw.WriteString(pl.method)
	bw.WriteByte(' ')
	writeRequestURI(bw, req, pl)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(pl.host)
	bw.WriteString("\r\n")
	for k, vv := range req.Header {
		if pl.skipHeader(k) {
			continue
		}
		if k == "User-Agent" && (len(vv) == 0 || vv[0] == "") {
			continue // ReverseProxy's way of asking for no User-Agent
		}
		if err := writeField(bw, "header", k, vv); err != nil {
			pr.fatal = true
			return err
		}
	}
	switch {
	case pl.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case pl.length > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(c.scratch[:0], pl.length, 10))
		bw.WriteString("\r\n")
	case pl.method == "POST" || pl.method == "PUT" || pl.method == "PATCH":
		bw.WriteString("Content-Length: 0\r\n")
	}
	if pl.trailers {
		bw.WriteString("Trailer: ")
		first := true
		for k := range req.Trailer {
			if !validToken(k) {
				pr.fatal = true
				return fmt.Errorf("%w: trailer name %q", ErrInvalidRequest, k)
			}
			if !first {
				bw.WriteString(", ")
			}
			first = false
			bw.WriteString(k)
		}
		bw.WriteString("\r\n")
	}
	switch {
	case pl.upgrade != "":
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(pl.upgrade)
		bw.WriteString("\r\n")
	case pl.close:
		bw.WriteString("Connection: close\r\n")
	}
	if pl.teTrail {
		bw.WriteString("Te: trailers\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// writeRequestURI writes the request target as http.Request.Write does.
func writeRequestURI(bw *bufio.Writer, req *http.Request, pl *plan) {
	u := req.URL
	switch {
	case pl.method == "CONNECT" && u.Path == "" && u.Opaque == "":
		bw.WriteString(pl.host)
		return
	case u.Opaque != "":
		if strings.HasPrefix(u.Opaque, "//") {
			bw.WriteString(u.Scheme)
			bw.WriteByte(':')
		}
		bw.WriteString(u.Opaque)
	default:
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		bw.WriteString(p)
	}
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
}

// writeBody copies the request body after the head: exactly pl.length bytes,
// or chunks followed by the trailers. Each read is sent before the next one
// (so a streaming upload streams). Errors reading the body mark pr fatal and keep their type
// (an *http.MaxBytesError stays one).
func (c *conn) writeBody(req *http.Request, body io.Reader, pl *plan, pr *progress) error {
	bufp := c.p.t.getCopyBuf()
	defer c.p.t.putCopyBuf(bufp)
	buf := *bufp
	bw := c.bw
	if !pl.chunked {
		left := pl.length
		for left > 0 {
			chunk := buf
			if int64(len(chunk)) > left {
				chunk = chunk[:left]
			}
			pr.bodyStarted = true
			n, rerr := body.Read(chunk)
			if n > 0 {
				if _, err := bw.Write(chunk[:n]); err != nil {
					return err
				}
				left -= int64(n)
				// More to come: send what we have, so a slow upload streams.
				// A body read at once goes out with the head in one write.
				if left > 0 {
					if err := bw.Flush(); err != nil {
						return err
					}
				}
			}
			switch {
			case rerr == io.EOF && left > 0:
				pr.fatal = true
				return fmt.Errorf("%w: ContentLength=%d with body length %d", ErrInvalidRequest, pl.length, pl.length-left)
			case rerr == io.EOF:
				return nil
			case rerr != nil:
				pr.fatal = true
				return fmt.Errorf("upstream: reading request body: %w", rerr)
			}
		}
		return nil
	}
	for {
		pr.bodyStarted = true
		n, rerr := body.Read(buf)
		if n > 0 {
			bw.Write(strconv.AppendInt(c.scratch[:0], int64(n), 16))
			bw.WriteString("\r\n")
			bw.Write(buf[:n])
			bw.WriteString("\r\n")
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			pr.fatal = true
			return fmt.Errorf("upstream: reading request body: %w", rerr)
		}
	}
	bw.WriteString("0\r\n")
	for k, vv := range req.Trailer {
		if err := writeField(bw, "trailer", k, vv); err != nil {
			pr.fatal = true
			return err
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// writeField writes one header or trailer field, each value on its own
// line, after checking that name and values are valid on the wire.
func writeField(bw *bufio.Writer, what, k string, vv []string) error {
	if !validToken(k) {
		return fmt.Errorf("%w: %s name %q", ErrInvalidRequest, what, k)
	}
	for _, v := range vv {
		if !validValue(v) {
			return fmt.Errorf("%w: value of %s %q", ErrInvalidRequest, what, k)
		}
		bw.WriteString(k)
		bw.WriteString(": ")
		bw.WriteString(v)
		bw.WriteString("\r\n")
	}
	return nil
}
