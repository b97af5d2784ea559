package usage

import (
	"fmt"
	"time"
)

// Period is a kind of spend period. Its value is the name resource servers
// see in refusals and reports.
type Period string

// Spend periods, one per spend cap of access.Limits.
const (
	PeriodDaily   Period = "daily"
	PeriodMonthly Period = "monthly"
	PeriodTotal   Period = "total"
)

// Periods lists every Period, longest first: the order in which caps are
// checked, so that a refusal names the cap that stays exhausted longest.
var Periods = []Period{PeriodTotal, PeriodMonthly, PeriodDaily}

// Window is a kind of rate window.
type Window string

// Rate windows. Requests and tokens are counted in both.
const (
	// WindowMinute is a UTC clock minute.
	WindowMinute Window = "minute"

	// WindowDay is a calendar day of the Calendar, the same day as
	// PeriodDaily.
	WindowDay Window = "day"
)

// Windows lists every Window.
var Windows = []Window{WindowMinute, WindowDay}

// RateLimit names a rate limit of access.Limits by its JSON name.
type RateLimit string

// Rate limits.
const (
	RequestsPerMinute RateLimit = "requests_per_minute"
	RequestsPerDay    RateLimit = "requests_per_day"
	TokensPerMinute   RateLimit = "tokens_per_minute"
)

// RateLimits lists every RateLimit in the order in which they are checked.
var RateLimits = []RateLimit{RequestsPerDay, RequestsPerMinute, TokensPerMinute}

// Window returns the window in which l counts.
func (l RateLimit) Window() Window {
	if l == RequestsPerDay {
		return WindowDay
	}
	return WindowMinute
}

// countsTokens reports whether l counts tokens rather than requests.
func (l RateLimit) countsTokens() bool {
	return l == TokensPerMinute
}

// Calendar places instants in periods and windows.
type Calendar struct {
	// Location is the time zone whose midnight starts each day and month.
	// Nil means UTC.
	// Changing it in a running deployment starts new daily and monthly
	// periods, because periods are identified by their first instant.
	Location *time.Location
}

// LoadCalendar returns the Calendar of the IANA time zone name, such as
// "Europe/Berlin"; an empty name means UTC.
func LoadCalendar(name string) (Calendar, error) {
	if name == "" {
		return Calendar{}, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Calendar{}, fmt.Errorf("time zone %q is unknown; use an IANA name such as \"Europe/Berlin\" or leave it empty for UTC: %w", name, err)
	}
	return Calendar{Location: loc}, nil
}

func (c Calendar) location() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// Start returns the first instant of the period of kind p that contains t.
// For PeriodTotal it returns the zero time.
func (c Calendar) Start(p Period, t time.Time) time.Time {
	local := t.In(c.location())
	switch p {
	case PeriodDaily:
		return time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	case PeriodMonthly:
		return time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, local.Location())
	}
	return time.Time{}
}

// End returns the first instant after the period of kind p that contains
// t, which is when the period resets. For PeriodTotal it returns the zero
// time: the total never resets.
func (c Calendar) End(p Period, t time.Time) time.Time {
	start := c.Start(p, t)
	switch p {
	case PeriodDaily:
		return time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, start.Location())
	case PeriodMonthly:
		return time.Date(start.Year(), start.Month()+1, 1, 0, 0, 0, 0, start.Location())
	}
	return time.Time{}
}

// DayStart returns the first instant of the day that lies days days before
// the day that contains t; days may be negative.
func (c Calendar) DayStart(t time.Time, days int) time.Time {
	start := c.Start(PeriodDaily, t)
	return time.Date(start.Year(), start.Month(), start.Day()-days, 0, 0, 0, 0, start.Location())
}

// WindowStart returns the first instant of the window of kind w that
// contains t.
func (c Calendar) WindowStart(w Window, t time.Time) time.Time {
	if w == WindowDay {
		return c.Start(PeriodDaily, t)
	}
	return t.UTC().Truncate(time.Minute)
}

// WindowEnd returns the first instant after the window of kind w that
// contains t.
func (c Calendar) WindowEnd(w Window, t time.Time) time.Time {
	if w == WindowDay {
		return c.End(PeriodDaily, t)
	}
	return c.WindowStart(w, t).Add(time.Minute)
}

// RetryAfter returns the wait from now until end in whole seconds, rounded
// up and at least one second, as the Retry-After header carries it.
func RetryAfter(now, end time.Time) time.Duration {
	wait := end.Sub(now)
	if wait <= time.Second {
		return time.Second
	}
	return (wait + time.Second - 1).Truncate(time.Second)
}
