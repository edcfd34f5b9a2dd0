package router

import "net/http"

// requestIDHeader carries the request id on every answer to a client,
// the router's own and the backends' alike.
const requestIDHeader = "X-Request-Id"

// setAnswerID puts the request id on the client's answer, replacing one a
// backend sent: the client's id is the one in the access log. The value
// lives in st and net/http copies the header when the answer's head is
// written, which the router does before ServeHTTP returns.
func (st *requestState) setAnswerID(h http.Header) {
	st.ridValue[0] = st.id()
	h[requestIDHeader] = st.ridValue[:]
}
