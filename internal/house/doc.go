// Package house holds the repository's house rules as a test (house_test.go):
// no non-test Go file over MaxFileLines lines, no function over
// MaxFuncLines lines unless its doc comment carries a "//house:long WHY"
// line saying why, and every Go file gofmt-clean. scripts/house.sh runs it
// with go vet.
package house

// The limits house_test.go holds the tree to.
const (
	MaxFileLines = 500
	MaxFuncLines = 80
)
