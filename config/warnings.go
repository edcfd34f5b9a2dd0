package config

import "fmt"

// Warnings returns what in c is valid but probably not what was meant,
// sorted by line: bulwark runs with it, -check prints it and the router
// logs it at start and on reload.
func (c *Config) Warnings() Errors {
	v := &validator{c: c}
	af := c.Abuse.AuthFailures
	for i, r := range c.Routes {
		if r.Abuse != "auth" {
			continue
		}
		p := fmt.Sprintf("routes[%d].abuse", i)
		if af.Max == 0 {
			v.fail(p, "auth failures are not counted: abuse.auth_failures.max is 0 (off)")
			continue
		}
		lp := c.Limits[r.Limit]
		if lp == nil || lp.DryRun {
			continue
		}
		if lp.Burst <= af.Max {
			fix := fmt.Sprintf("raise the burst above %d", af.Max)
			if lp.Burst > 1 {
				fix += fmt.Sprintf(", or lower auth_failures.max below %d", lp.Burst)
			}
			v.fail(p, "limits.%s.burst (%d) is not above abuse.auth_failures.max (%d): a client trying passwords "+
				"is refused with 429 before its %d%s failure can ban it for abuse.ban.duration (%v); %s",
				r.Limit, lp.Burst, af.Max, af.Max+1, ordinal(af.Max+1), c.Abuse.Ban.Duration, fix)
		}
	}
	sortErrors(v.errs)
	return v.errs
}

// ordinal returns the English suffix of n: "st", "nd", "rd" or "th".
func ordinal(n int) string {
	if n%100 >= 11 && n%100 <= 13 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}
