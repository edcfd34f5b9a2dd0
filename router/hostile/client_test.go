package hostile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// answerWait bounds the wait for one answer of the router. It is long:
// the suite runs many cases at once on a shared machine, and only a case
// that fails waits this long.
const answerWait = 10 * time.Second

// rawClient is one client connection that writes bytes as they are given
// and reads answers with net/http's parser, keeping every byte it read.
type rawClient struct {
	conn net.Conn
	got  bytes.Buffer // every byte read from the connection
	br   *bufio.Reader
}

func dialRouter(addr string) (*rawClient, error) {
	c, err := net.DialTimeout("tcp", addr, answerWait)
	if err != nil {
		return nil, err
	}
	rc := &rawClient{conn: c}
	rc.br = bufio.NewReaderSize(io.TeeReader(c, &rc.got), 64<<10)
	return rc, nil
}

func (c *rawClient) close() { c.conn.Close() }

func (c *rawClient) write(s string) error {
	c.conn.SetWriteDeadline(time.Now().Add(answerWait))
	_, err := io.WriteString(c.conn, s)
	return err
}

// answer is one final answer as the client read it.
type answer struct {
	code    int
	header  http.Header
	trailer http.Header
	body    string
	bodyErr error // the body broke off
	interim []int // 1xx answers before it
}

func (a *answer) String() string {
	if a == nil {
		return "no answer"
	}
	s := fmt.Sprintf("%d %q", a.code, truncate(a.body, 80))
	if a.bodyErr != nil {
		s += fmt.Sprintf(" (body broke: %v)", a.bodyErr)
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// errHygiene marks an answer of the router that holds what no well-formed
// answer holds.
var errHygiene = errors.New("malformed answer")

// read reads the next final answer to a request with method, collecting
// 1xx answers on the way. A 101 is final.
func (c *rawClient) read(method string) (*answer, error) {
	c.conn.SetReadDeadline(time.Now().Add(answerWait))
	a := &answer{}
	for n := 0; ; n++ {
		resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
		if err != nil {
			return nil, err
		}
		if err := answerHygiene(resp); err != nil {
			resp.Body.Close()
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			a.interim = append(a.interim, resp.StatusCode)
			if n > 1000 {
				return nil, fmt.Errorf("%w: more than 1000 interim answers", errHygiene)
			}
			continue
		}
		a.code, a.header = resp.StatusCode, resp.Header
		if resp.StatusCode != http.StatusSwitchingProtocols {
			b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
			a.body, a.bodyErr = string(b), err
			a.trailer = resp.Trailer
		}
		resp.Body.Close()
		return a, nil
	}
}

// readInterim reads until a 100 Continue arrives; a final answer instead
// is returned.
func (c *rawClient) readInterim(method string) (*answer, error) {
	c.conn.SetReadDeadline(time.Now().Add(answerWait))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusContinue {
		return nil, nil
	}
	a := &answer{code: resp.StatusCode, header: resp.Header}
	b, err := io.ReadAll(resp.Body)
	a.body, a.bodyErr = string(b), err
	resp.Body.Close()
	return a, nil
}

// closed reports whether the router closed the connection: the next read
// ends (EOF or reset) without a byte.
func (c *rawClient) closed() (bool, string) {
	c.conn.SetReadDeadline(time.Now().Add(answerWait))
	b, err := c.br.Peek(1)
	if len(b) > 0 {
		rest, _ := c.br.Peek(c.br.Buffered())
		return false, fmt.Sprintf("more bytes: %q", truncate(string(rest), 120))
	}
	if isTimeout(err) {
		return false, "still open"
	}
	return true, ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// answerHygiene checks an answer's head for what the router must never
// send: control bytes in names or values, fields that concern one hop of
// the backend's, and a 1xx or 204 with a body length.
func answerHygiene(resp *http.Response) error {
	for k, vv := range resp.Header {
		if !validToken(k) {
			return fmt.Errorf("%w: field name %q", errHygiene, k)
		}
		for _, v := range vv {
			for _, b := range []byte(v) {
				if b < ' ' && b != '\t' || b == 0x7f {
					return fmt.Errorf("%w: %s: %q", errHygiene, k, v)
				}
			}
		}
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("%w: status %d", errHygiene, resp.StatusCode)
	}
	return nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// exchange sends one request on a new connection and reads its answer.
func exchange(addr, req, method string) (*answer, error) {
	c, err := dialRouter(addr)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := c.write(req); err != nil {
		return nil, err
	}
	return c.read(method)
}
