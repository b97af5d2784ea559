package account

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when a test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func failTimes(throttle *Throttle, n int, keys ...string) {
	for range n {
		throttle.Fail(keys...)
	}
}

func TestThrottleWaitAfterFailures(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{1, 0},
		{5, 0},
		{6, 2 * time.Second},
		{7, 4 * time.Second},
		{8, 8 * time.Second},
		{14, 512 * time.Second},
		{15, 15 * time.Minute},
		{16, 15 * time.Minute},
		{100, 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d failures", tt.failures), func(t *testing.T) {
			throttle := NewThrottle(newFakeClock().Now)
			failTimes(throttle, tt.failures, "user:alice")

			if got := throttle.Wait("user:alice"); got != tt.want {
				t.Errorf("Wait after %d failures = %v; want %v", tt.failures, got, tt.want)
			}
		})
	}
}

func TestThrottleWaitShrinksWithTime(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		want    time.Duration
	}{
		{0, 8 * time.Second},
		{3 * time.Second, 5 * time.Second},
		{7500 * time.Millisecond, 500 * time.Millisecond},
		{8 * time.Second, 0},
		{time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.elapsed.String(), func(t *testing.T) {
			clock := newFakeClock()
			throttle := NewThrottle(clock.Now)
			failTimes(throttle, 8, "user:alice")
			clock.Advance(tt.elapsed)

			if got := throttle.Wait("user:alice"); got != tt.want {
				t.Errorf("Wait %v after 8 failures = %v; want %v", tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestThrottleForgetsAfterWindow(t *testing.T) {
	tests := []struct {
		name      string
		pause     time.Duration
		wantAfter time.Duration // Wait after 5 more failures
	}{
		{"pause shorter than window", FailureWindow - time.Second, 15 * time.Minute},
		{"pause equal to window", FailureWindow, 0},
		{"pause longer than window", 2 * FailureWindow, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			throttle := NewThrottle(clock.Now)
			failTimes(throttle, 10, "user:alice")
			clock.Advance(tt.pause)
			failTimes(throttle, 5, "user:alice")

			if got := throttle.Wait("user:alice"); got != tt.wantAfter {
				t.Errorf("Wait after 10 failures, %v pause, 5 failures = %v; want %v", tt.pause, got, tt.wantAfter)
			}
		})
	}
}

func TestThrottleWaitZeroAfterWindow(t *testing.T) {
	clock := newFakeClock()
	throttle := NewThrottle(clock.Now)
	failTimes(throttle, 50, "user:alice")
	clock.Advance(FailureWindow)

	if got := throttle.Wait("user:alice"); got != 0 {
		t.Errorf("Wait %v after 50 failures = %v; want 0", FailureWindow, got)
	}
}

// A wall clock set back leaves records out of time order, so a record past
// FailureWindow may survive pruning behind a newer one.
func TestThrottleForgetsAfterClockSetBack(t *testing.T) {
	clock := newFakeClock()
	throttle := NewThrottle(clock.Now)
	failTimes(throttle, 10, "user:alice")
	clock.Advance(-30 * time.Minute)
	failTimes(throttle, 10, "user:bob")
	clock.Advance(35 * time.Minute)
	failTimes(throttle, 5, "user:bob")

	if got := throttle.Wait("user:bob"); got != 0 {
		t.Errorf("Wait(bob) after 10 failures, 35 min pause, 5 failures = %v; want 0", got)
	}
	if got := len(throttle.failures); got != 2 {
		t.Errorf("keys stored = %d; want 2, alice's failures are 5 min old", got)
	}
}

func TestThrottleSucceedClears(t *testing.T) {
	throttle := NewThrottle(newFakeClock().Now)
	failTimes(throttle, 10, "user:alice", "addr:192.0.2.1")
	throttle.Succeed("user:alice", "addr:192.0.2.1")

	if got := throttle.Wait("user:alice", "addr:192.0.2.1"); got != 0 {
		t.Errorf("Wait after Succeed = %v; want 0", got)
	}

	failTimes(throttle, 5, "user:alice")
	if got := throttle.Wait("user:alice"); got != 0 {
		t.Errorf("Wait after Succeed and 5 failures = %v; want 0, the count restarted", got)
	}
	failTimes(throttle, 1, "user:alice")
	if got := throttle.Wait("user:alice"); got != 2*time.Second {
		t.Errorf("Wait after Succeed and 6 failures = %v; want 2s", got)
	}
}

func TestThrottleKeysAreSeparate(t *testing.T) {
	throttle := NewThrottle(newFakeClock().Now)
	failTimes(throttle, 6, "user:alice", "addr:192.0.2.1")
	failTimes(throttle, 2, "addr:192.0.2.1")

	tests := []struct {
		keys []string
		want time.Duration
	}{
		{[]string{"user:alice"}, 2 * time.Second},
		{[]string{"addr:192.0.2.1"}, 8 * time.Second},
		{[]string{"user:alice", "addr:192.0.2.1"}, 8 * time.Second},
		{[]string{"user:bob"}, 0},
		{[]string{"user:bob", "addr:192.0.2.2"}, 0},
		{[]string{"user:bob", "addr:192.0.2.1"}, 8 * time.Second},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := throttle.Wait(tt.keys...); got != tt.want {
			t.Errorf("Wait(%q) = %v; want %v", tt.keys, got, tt.want)
		}
	}
}

func TestThrottleEvictsOldestWhenFull(t *testing.T) {
	clock := newFakeClock()
	throttle := NewThrottle(clock.Now)
	throttle.maxKeys = 3
	for _, key := range []string{"a", "b", "c"} {
		failTimes(throttle, 6, key)
		clock.Advance(time.Second)
	}
	failTimes(throttle, 6, "a") // a is now the newest
	throttle.Fail("d")

	if got := len(throttle.failures); got != 3 {
		t.Errorf("keys stored = %d; want 3", got)
	}
	if got := throttle.Wait("b"); got != 0 {
		t.Errorf("Wait(%q), the oldest key = %v; want 0 (evicted)", "b", got)
	}
	for _, key := range []string{"a", "c"} {
		if got := throttle.Wait(key); got == 0 {
			t.Errorf("Wait(%q) = 0; want a wait (kept)", key)
		}
	}
}

func TestThrottleDefaultKeyBound(t *testing.T) {
	throttle := NewThrottle(newFakeClock().Now)
	for i := range maxThrottleKeys + 10 {
		throttle.Fail(fmt.Sprintf("addr:%d", i))
	}

	if got := len(throttle.failures); got != maxThrottleKeys {
		t.Errorf("keys stored after %d keys = %d; want %d", maxThrottleKeys+10, got, maxThrottleKeys)
	}
	if got := throttle.byLastFailure.Len(); got != maxThrottleKeys {
		t.Errorf("list length after %d keys = %d; want %d", maxThrottleKeys+10, got, maxThrottleKeys)
	}
}

func TestThrottlePrunesExpiredKeys(t *testing.T) {
	clock := newFakeClock()
	throttle := NewThrottle(clock.Now)
	throttle.Fail("a", "b")
	clock.Advance(FailureWindow)
	throttle.Fail("c")

	if got := len(throttle.failures); got != 1 {
		t.Errorf("keys stored after a and b expired = %d; want 1", got)
	}
}

func TestThrottleLongKeysStaySmall(t *testing.T) {
	throttle := NewThrottle(newFakeClock().Now)
	long := "user:" + strings.Repeat("x", 1<<20)
	other := long[:len(long)-1] + "y"
	failTimes(throttle, 6, long)

	if got := throttle.Wait(long); got != 2*time.Second {
		t.Errorf("Wait(long key) = %v; want 2s", got)
	}
	if got := throttle.Wait(other); got != 0 {
		t.Errorf("Wait(other long key) = %v; want 0", got)
	}
	for key := range throttle.failures {
		if len(key) > maxKeyBytes {
			t.Errorf("stored key has %d bytes; want at most %d", len(key), maxKeyBytes)
		}
	}
}

func TestThrottleConcurrentUse(t *testing.T) {
	throttle := NewThrottle(newFakeClock().Now)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("user:%d", i%2)
			for range 100 {
				throttle.Fail(key, "addr:192.0.2.1")
				throttle.Wait(key, "addr:192.0.2.1")
			}
			throttle.Succeed(key)
		})
	}
	wg.Wait()

	if got := throttle.Wait("addr:192.0.2.1"); got != MaxFailureWait {
		t.Errorf("Wait(addr) after 800 failures = %v; want %v", got, MaxFailureWait)
	}
	if got := throttle.Wait("user:0", "user:1"); got != 0 {
		t.Errorf("Wait(users) after Succeed = %v; want 0", got)
	}
}
