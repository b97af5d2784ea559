package account

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// Throttle policy for failed sign-ins.
const (
	// FreeFailures is the number of failures of a key that cost no wait.
	FreeFailures = 5

	// FailureWindow is how long a key's failures are remembered after its
	// last failure.
	FailureWindow = 15 * time.Minute

	// MaxFailureWait is the longest wait after a failure.
	MaxFailureWait = 15 * time.Minute

	// maxThrottleKeys bounds the memory of a Throttle. When it is full, a
	// new key evicts the key whose last failure is oldest.
	maxThrottleKeys = 100_000

	// maxKeyBytes is the longest key stored as given. Longer keys, which
	// come from unvalidated input, are stored as their SHA-256 so that each
	// entry stays small.
	maxKeyBytes = 128
)

// Throttle slows down repeated failed sign-ins. It counts failures per key,
// such as "user:"+lowercased username and "addr:"+client IP address. The
// first FreeFailures failures of a key cost nothing. After failure n > 5 the
// next attempt must wait 2^(n-5) seconds, at most MaxFailureWait. A key's
// failures are forgotten FailureWindow after its last failure, and on
// Succeed.
//
// TODO: the counts live in the memory of one process, so replicas behind a
// load balancer each allow their own attempts. Several replicas need a
// shared store.
//
// A Throttle is safe for concurrent use.
type Throttle struct {
	now func() time.Time

	mu       sync.Mutex
	maxKeys  int
	failures map[string]*list.Element

	// byLastFailure contains *failureRecord values, the oldest last failure
	// at the front.
	byLastFailure *list.List
}

type failureRecord struct {
	key   string
	count int
	last  time.Time
}

// NewThrottle returns an empty Throttle that reads the time from now, or
// from time.Now when now is nil.
func NewThrottle(now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{
		now:           now,
		maxKeys:       maxThrottleKeys,
		failures:      make(map[string]*list.Element),
		byLastFailure: list.New(),
	}
}

// Wait returns how long the caller must wait before another attempt for any
// of keys is allowed, the longest wait of the keys, or 0 when an attempt is
// allowed now.
func (t *Throttle) Wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()

	now := t.now()
	var longest time.Duration
	for _, key := range keys {
		element, ok := t.failures[storedKey(key)]
		if !ok {
			continue
		}

		record := element.Value.(*failureRecord)
		if now.Sub(record.last) >= FailureWindow {
			continue
		}
		wait := record.last.Add(failureWait(record.count)).Sub(now)
		longest = max(longest, wait)
	}
	return longest
}

// Fail records a failed attempt for each of keys.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()

	now := t.now()
	t.pruneExpired(now)
	for _, key := range keys {
		t.fail(storedKey(key), now)
	}
}

func (t *Throttle) fail(key string, now time.Time) {
	element, ok := t.failures[key]
	if !ok {
		for len(t.failures) >= t.maxKeys {
			t.remove(t.byLastFailure.Front())
		}
		element = t.byLastFailure.PushBack(&failureRecord{key: key})
		t.failures[key] = element
	}

	record := element.Value.(*failureRecord)
	if now.Sub(record.last) >= FailureWindow {
		record.count = 0
	}
	record.count++
	record.last = now
	t.byLastFailure.MoveToBack(element)
}

// Succeed deletes the failures recorded for each of keys.
func (t *Throttle) Succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()

	for _, key := range keys {
		if element, ok := t.failures[storedKey(key)]; ok {
			t.remove(element)
		}
	}
}

// pruneExpired removes the records whose last failure is FailureWindow or
// more before now. They sit at the front of byLastFailure, unless the clock
// went back.
func (t *Throttle) pruneExpired(now time.Time) {
	for element := t.byLastFailure.Front(); element != nil; element = t.byLastFailure.Front() {
		if now.Sub(element.Value.(*failureRecord).last) < FailureWindow {
			return
		}
		t.remove(element)
	}
}

func (t *Throttle) remove(element *list.Element) {
	record := t.byLastFailure.Remove(element).(*failureRecord)
	delete(t.failures, record.key)
}

// failureWait returns the wait after the count-th failure of a key.
func failureWait(count int) time.Duration {
	if count <= FreeFailures {
		return 0
	}

	// 2^10 s already exceeds MaxFailureWait, which also keeps the shift small.
	exponent := min(count-FreeFailures, 10)
	return min(time.Duration(1<<exponent)*time.Second, MaxFailureWait)
}

func storedKey(key string) string {
	if len(key) <= maxKeyBytes {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}
