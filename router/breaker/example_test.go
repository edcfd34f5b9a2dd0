package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
)

func Example() {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	b := breaker.New(breaker.Config{
		ConsecutiveFailures: 2,
		MinRequests:         1,
		OpenFor:             5 * time.Second,
		HalfOpenRequests:    1,
	},
		breaker.WithClock(func() time.Time { return now }),
		breaker.OnStateChange(func(from, to breaker.State) { fmt.Println(from, "->", to) }),
	)
	for range 2 {
		tok, _ := b.Allow()
		b.Done(tok, breaker.Failure) // e.g. connect refused
	}
	_, err := b.Allow()
	var oe *breaker.OpenError
	if errors.As(err, &oe) {
		fmt.Println("refused, retry after", oe.RetryAfter)
	}
	now = now.Add(5 * time.Second)
	tok, err := b.Allow() // the half-open probe
	fmt.Println("probe admitted:", err == nil)
	b.Done(tok, breaker.Success)
	// Output:
	// closed -> open
	// refused, retry after 5s
	// open -> half-open
	// probe admitted: true
	// half-open -> closed
}
