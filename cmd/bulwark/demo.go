package main

import (
	"context"
	"errors"
	"io"

	"github.com/bulwark-router/bulwark/router"
)

func runDemo(ctx context.Context, stdout, stderr io.Writer, info router.BuildInfo) error {
	return errors.New("demo: not wired yet")
}
