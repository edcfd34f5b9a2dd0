package router

import (
	"testing"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(redistest.Main(m), goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait"))
}
