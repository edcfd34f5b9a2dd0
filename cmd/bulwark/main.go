// Command bulwark is a front router for HTTP services. See README.md.
package main

import (
	"context"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		os.Exit(1)
	}
}
