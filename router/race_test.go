//go:build race

package router

// The race detector adds allocations of its own; allocation counts are
// checked only without it.
const raceEnabled = true
