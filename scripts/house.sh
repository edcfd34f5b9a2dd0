#!/bin/sh
# house.sh checks the house rules: gofmt, go vet, and the sizes of files and
# functions (internal/house: no non-test Go file over 500 lines, no function
# over 80 lines unless its doc comment says why with a //house:long line).
set -eu
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -count=1 ./internal/house
