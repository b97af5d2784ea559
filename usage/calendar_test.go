package usage

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) Calendar {
	t.Helper()
	cal, err := LoadCalendar(name)
	if err != nil {
		t.Fatalf("LoadCalendar(%q) error = %v", name, err)
	}
	return cal
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestCalendarPeriods(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		period     Period
		at         string
		start, end string
	}{
		{"UTC day", "", PeriodDaily, "2025-03-31T12:00:00Z", "2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"},
		{"UTC day last nanosecond", "", PeriodDaily, "2025-03-31T23:59:59.999999999Z", "2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"},
		{"UTC day first instant", "", PeriodDaily, "2025-04-01T00:00:00Z", "2025-04-01T00:00:00Z", "2025-04-02T00:00:00Z"},
		{"UTC month last nanosecond", "", PeriodMonthly, "2025-03-31T23:59:59.999999999Z", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"},
		{"UTC month first instant", "", PeriodMonthly, "2025-04-01T00:00:00Z", "2025-04-01T00:00:00Z", "2025-05-01T00:00:00Z"},
		{"UTC month of December", "", PeriodMonthly, "2025-12-15T08:00:00Z", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"UTC leap February", "", PeriodMonthly, "2024-02-29T23:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"input in other zone", "", PeriodDaily, "2025-04-01T01:00:00+02:00", "2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"},
		{"Berlin day after local midnight", "Europe/Berlin", PeriodDaily, "2025-03-31T22:30:00Z", "2025-03-31T22:00:00Z", "2025-04-01T22:00:00Z"},
		{"Berlin month after local midnight", "Europe/Berlin", PeriodMonthly, "2025-03-31T22:30:00Z", "2025-03-31T22:00:00Z", "2025-04-30T22:00:00Z"},
		{"Berlin month before local midnight", "Europe/Berlin", PeriodMonthly, "2025-03-31T21:59:59Z", "2025-02-28T23:00:00Z", "2025-03-31T22:00:00Z"},
		{"Berlin 23-hour day", "Europe/Berlin", PeriodDaily, "2025-03-30T12:00:00Z", "2025-03-29T23:00:00Z", "2025-03-30T22:00:00Z"},
		{"New York day", "America/New_York", PeriodDaily, "2025-01-15T03:00:00Z", "2025-01-14T05:00:00Z", "2025-01-15T05:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := mustLoad(t, tt.zone)
			at, _ := time.Parse(time.RFC3339Nano, tt.at)
			if got := cal.Start(tt.period, at); !got.Equal(utc(tt.start)) {
				t.Errorf("Calendar(%q).Start(%s, %s) = %s; want %s", tt.zone, tt.period, tt.at, got.UTC().Format(time.RFC3339), tt.start)
			}
			if got := cal.End(tt.period, at); !got.Equal(utc(tt.end)) {
				t.Errorf("Calendar(%q).End(%s, %s) = %s; want %s", tt.zone, tt.period, tt.at, got.UTC().Format(time.RFC3339), tt.end)
			}
		})
	}
}

func TestCalendarTotalHasNoBounds(t *testing.T) {
	cal := mustLoad(t, "Europe/Berlin")
	at := utc("2025-03-31T22:30:00Z")
	if got := cal.Start(PeriodTotal, at); !got.IsZero() {
		t.Errorf("Start(total, %s) = %s; want the zero time", at, got)
	}
	if got := cal.End(PeriodTotal, at); !got.IsZero() {
		t.Errorf("End(total, %s) = %s; want the zero time", at, got)
	}
}

func TestLoadCalendarUnknownZone(t *testing.T) {
	if _, err := LoadCalendar("Mars/Olympus_Mons"); err == nil {
		t.Errorf(`LoadCalendar("Mars/Olympus_Mons") error = nil; want an error`)
	}
}

func TestCalendarDayStart(t *testing.T) {
	cal := Calendar{}
	at := utc("2025-03-02T10:00:00Z")
	tests := []struct {
		days int
		want string
	}{
		{0, "2025-03-02T00:00:00Z"},
		{1, "2025-03-01T00:00:00Z"},
		{2, "2025-02-28T00:00:00Z"},
		{-1, "2025-03-03T00:00:00Z"},
	}
	for _, tt := range tests {
		if got := cal.DayStart(at, tt.days); !got.Equal(utc(tt.want)) {
			t.Errorf("DayStart(%s, %d) = %s; want %s", at.Format(time.RFC3339), tt.days, got.Format(time.RFC3339), tt.want)
		}
	}
}

func TestCalendarWindows(t *testing.T) {
	tests := []struct {
		name       string
		zone       string
		window     Window
		at         string
		start, end string
	}{
		{"minute", "", WindowMinute, "2025-03-31T12:34:56.7Z", "2025-03-31T12:34:00Z", "2025-03-31T12:35:00Z"},
		{"minute first instant", "", WindowMinute, "2025-03-31T12:34:00Z", "2025-03-31T12:34:00Z", "2025-03-31T12:35:00Z"},
		{"minute in UTC for Kathmandu", "Asia/Kathmandu", WindowMinute, "2025-03-31T12:34:56Z", "2025-03-31T12:34:00Z", "2025-03-31T12:35:00Z"},
		{"day", "", WindowDay, "2025-03-31T12:34:56Z", "2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"},
		{"day follows calendar", "Europe/Berlin", WindowDay, "2025-03-31T22:30:00Z", "2025-03-31T22:00:00Z", "2025-04-01T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := mustLoad(t, tt.zone)
			at := utc(tt.at)
			if got := cal.WindowStart(tt.window, at); !got.Equal(utc(tt.start)) {
				t.Errorf("Calendar(%q).WindowStart(%s, %s) = %s; want %s", tt.zone, tt.window, tt.at, got.UTC().Format(time.RFC3339Nano), tt.start)
			}
			if got := cal.WindowEnd(tt.window, at); !got.Equal(utc(tt.end)) {
				t.Errorf("Calendar(%q).WindowEnd(%s, %s) = %s; want %s", tt.zone, tt.window, tt.at, got.UTC().Format(time.RFC3339Nano), tt.end)
			}
		})
	}
}

func TestRateLimitWindow(t *testing.T) {
	tests := []struct {
		limit RateLimit
		want  Window
	}{
		{RequestsPerMinute, WindowMinute},
		{TokensPerMinute, WindowMinute},
		{RequestsPerDay, WindowDay},
	}
	for _, tt := range tests {
		if got := tt.limit.Window(); got != tt.want {
			t.Errorf("%s.Window() = %s; want %s", tt.limit, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := utc("2025-03-31T12:34:00Z")
	tests := []struct {
		name string
		end  time.Time
		want time.Duration
	}{
		{"whole seconds", now.Add(30 * time.Second), 30 * time.Second},
		{"rounds up", now.Add(30*time.Second + time.Nanosecond), 31 * time.Second},
		{"below one second", now.Add(200 * time.Millisecond), time.Second},
		{"already past", now.Add(-time.Second), time.Second},
	}
	for _, tt := range tests {
		if got := RetryAfter(now, tt.end); got != tt.want {
			t.Errorf("%s: RetryAfter(now, now%+v) = %v; want %v", tt.name, tt.end.Sub(now), got, tt.want)
		}
	}
}
