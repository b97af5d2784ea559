package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/money"
)

// longChallenge is as long as a Hydra v2 consent challenge, about 1 KB.
var longChallenge = strings.Repeat("c", 1000)

func amount(a money.Amount) *money.Amount { return &a }

func count(n int64) *int64 { return &n }

// describe returns g as JSON, which shows the values behind pointers.
func describe(g *access.Grant) string {
	buf, err := json.Marshal(g)
	if err != nil {
		return fmt.Sprintf("%+v", g)
	}
	return string(buf)
}

// newGrant returns a valid new grant with every field of its detail set.
func newGrant(id, subject, clientID, challenge string) *access.Grant {
	return &access.Grant{
		ID:               id,
		Subject:          subject,
		ClientID:         clientID,
		ConsentChallenge: challenge,
		Status:           access.StatusActive,
		Details: []access.Detail{{
			Type:         access.DetailType,
			Provider:     "openai",
			Models:       []string{"gpt-4o", "gpt-4o-mini"},
			Capabilities: []string{"chat", "embeddings"},
			Limits: access.Limits{
				Currency:          "USD",
				DailySpend:        amount(5 * money.Scale),
				MonthlySpend:      amount(100 * money.Scale),
				TotalSpend:        amount(money.Max),
				RequestsPerMinute: count(60),
				RequestsPerDay:    count(10_000),
				TokensPerMinute:   count(100_000),
			},
			Expires: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		}},
		Scopes:    []string{"openid", "ai:openai:gpt-4o:chat"},
		Remember:  true,
		CreatedAt: time.Date(2025, 2, 1, 10, 0, 0, 1, time.UTC),
		UpdatedAt: time.Date(2025, 2, 1, 10, 0, 0, 2, time.UTC),
	}
}

func createGrant(t *testing.T, db *DB, g *access.Grant) {
	t.Helper()
	ensureUser(t, db, g.Subject)
	if err := db.CreateGrant(context.Background(), g); err != nil {
		t.Fatalf("CreateGrant(%s) error = %v", describe(g), err)
	}
}

// ensureUser creates an enabled account for subject unless one exists:
// usage checks refuse grants whose account is missing.
func ensureUser(t testing.TB, db *DB, subject string) {
	t.Helper()
	if _, err := db.FindUserBySubject(context.Background(), subject); err == nil {
		return
	}
	u := newUser(subject, subject)
	if err := db.CreateUser(context.Background(), u); err != nil && !errors.Is(err, account.ErrUserExists) {
		t.Fatalf("CreateUser(%q) error = %v", subject, err)
	}
}

func findGrant(t *testing.T, db *DB, id string) *access.Grant {
	t.Helper()
	g, err := db.FindGrant(context.Background(), id)
	if err != nil {
		t.Fatalf("FindGrant(%q) error = %v", id, err)
	}
	return g
}

func TestGrantRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		change func(g *access.Grant)
	}{
		{"all fields", func(g *access.Grant) {}},
		{"smallest amounts", func(g *access.Grant) {
			g.Details[0].Limits.DailySpend = amount(150_000) // 0.00000015
			g.Details[0].Limits.MonthlySpend = amount(1)     // 0.000000000001
		}},
		{"zero limits", func(g *access.Grant) {
			g.Details[0].Limits = access.Limits{
				Currency:          "EUR",
				DailySpend:        amount(0),
				MonthlySpend:      amount(0),
				TotalSpend:        amount(0),
				RequestsPerMinute: count(0),
				RequestsPerDay:    count(0),
				TokensPerMinute:   count(0),
			}
		}},
		{"nil limits", func(g *access.Grant) {
			g.Details[0].Limits = access.Limits{Currency: "USD"}
		}},
		{"largest integers", func(g *access.Grant) {
			g.Details[0].Limits.TotalSpend = amount(math.MaxInt64)
			g.Details[0].Limits.TokensPerMinute = count(math.MaxInt64)
			g.Details[0].Limits.RequestsPerDay = count(1<<53 + 1) // not exact as float64
		}},
		{"any model", func(g *access.Grant) {
			g.Details[0].AnyModel = true
			g.Details[0].Models = nil
		}},
		{"expires with nanoseconds", func(g *access.Grant) {
			g.Details[0].Expires = time.Date(2030, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
		}},
		{"no expiry", func(g *access.Grant) {
			g.Details[0].Expires = time.Time{}
		}},
		{"several details", func(g *access.Grant) {
			g.Details = append(g.Details, access.Detail{
				Type:         "custom_type",
				Provider:     "anthropic",
				AnyModel:     true,
				Capabilities: []string{"chat"},
				Limits:       access.Limits{Currency: "USD", TotalSpend: amount(1)},
				Expires:      time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
				Reason:       `quotes " and <html> & unicode ü`,
			})
		}},
		{"no details or scopes", func(g *access.Grant) {
			g.Details = nil
			g.Scopes = nil
		}},
		{"paused, not remembered", func(g *access.Grant) {
			g.Status = access.StatusPaused
			g.Remember = false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTestDB(t)
			g := newGrant("grant-1", "subject-1", "client-1", longChallenge)
			tt.change(g)
			createGrant(t, db, g)

			want := newGrant("grant-1", "subject-1", "client-1", "")
			tt.change(want)

			if got := findGrant(t, db, "grant-1"); !reflect.DeepEqual(got, want) {
				t.Errorf("FindGrant(%q) = %s; want %s", "grant-1", describe(got), describe(want))
			}

			live, err := db.FindLiveGrant(context.Background(), "subject-1", "client-1")
			if err != nil || !reflect.DeepEqual(live, want) {
				t.Errorf("FindLiveGrant() = %s, %v; want %s", describe(live), err, describe(want))
			}

			want.ConsentChallenge = longChallenge
			byChallenge, err := db.FindGrantByChallenge(context.Background(), longChallenge)
			if err != nil || !reflect.DeepEqual(byChallenge, want) {
				t.Errorf("FindGrantByChallenge() = %s, %v; want %s", describe(byChallenge), err, describe(want))
			}
		})
	}
}

func TestCreateGrantSetsZeroTimes(t *testing.T) {
	db, clock := openTestDB(t)
	g := newGrant("grant-1", "subject-1", "client-1", "challenge-1")
	g.CreatedAt = time.Time{}
	g.UpdatedAt = time.Time{}
	createGrant(t, db, g)

	want := clock.Now()
	if !g.CreatedAt.Equal(want) || !g.UpdatedAt.Equal(want) {
		t.Errorf("after CreateGrant g.CreatedAt, g.UpdatedAt = %v, %v; want %v", g.CreatedAt, g.UpdatedAt, want)
	}
	got := findGrant(t, db, "grant-1")
	if !got.CreatedAt.Equal(want) || !got.UpdatedAt.Equal(want) {
		t.Errorf("FindGrant() CreatedAt, UpdatedAt = %v, %v; want %v", got.CreatedAt, got.UpdatedAt, want)
	}
}

func TestCreateGrantChallengeUsed(t *testing.T) {
	tests := []struct {
		name     string
		subject  string
		clientID string
	}{
		{"same subject and client", "subject-1", "client-1"},
		{"other client", "subject-1", "client-2"},
		{"other subject", "subject-2", "client-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTestDB(t)
			first := newGrant("grant-1", "subject-1", "client-1", longChallenge)
			createGrant(t, db, first)

			second := newGrant("grant-2", tt.subject, tt.clientID, longChallenge)
			err := db.CreateGrant(context.Background(), second)
			if !errors.Is(err, access.ErrChallengeUsed) {
				t.Fatalf("CreateGrant(reused challenge) error = %v; want %v", err, access.ErrChallengeUsed)
			}

			if n := countRows(t, db, "grants", "1 = 1"); n != 1 {
				t.Errorf("grants after reused challenge = %d rows; want 1", n)
			}
			if got := findGrant(t, db, "grant-1"); got.Status != access.StatusActive {
				t.Errorf("first grant status after reused challenge = %q; want %q", got.Status, access.StatusActive)
			}
		})
	}
}

func TestCreateGrantReplacesLiveGrant(t *testing.T) {
	for _, status := range []access.Status{access.StatusActive, access.StatusPaused} {
		t.Run(string(status), func(t *testing.T) {
			db, clock := openTestDB(t)
			first := newGrant("grant-1", "subject-1", "client-1", "challenge-1")
			first.Status = status
			createGrant(t, db, first)

			clock.Advance(time.Hour)
			second := newGrant("grant-2", "subject-1", "client-1", "challenge-2")
			createGrant(t, db, second)

			old := findGrant(t, db, "grant-1")
			if old.Status != access.StatusReplaced {
				t.Errorf("first grant status = %q; want %q", old.Status, access.StatusReplaced)
			}
			if !old.UpdatedAt.Equal(clock.Now()) {
				t.Errorf("first grant UpdatedAt = %v; want %v", old.UpdatedAt, clock.Now())
			}
			if !old.CreatedAt.Equal(first.CreatedAt) {
				t.Errorf("first grant CreatedAt = %v; want %v, unchanged", old.CreatedAt, first.CreatedAt)
			}

			live, err := db.FindLiveGrant(context.Background(), "subject-1", "client-1")
			if err != nil || live.ID != "grant-2" {
				t.Errorf("FindLiveGrant() = %s, %v; want grant-2", describe(live), err)
			}
		})
	}
}

func TestCreateGrantOtherClientsUnaffected(t *testing.T) {
	db, _ := openTestDB(t)
	grants := []*access.Grant{
		newGrant("grant-a", "subject-1", "client-1", "challenge-a"),
		newGrant("grant-b", "subject-1", "client-2", "challenge-b"),
		newGrant("grant-c", "subject-2", "client-1", "challenge-c"),
	}
	for _, g := range grants {
		createGrant(t, db, g)
	}

	for _, g := range grants {
		live, err := db.FindLiveGrant(context.Background(), g.Subject, g.ClientID)
		if err != nil || live.ID != g.ID || live.Status != access.StatusActive {
			t.Errorf("FindLiveGrant(%q, %q) = %s, %v; want active %q", g.Subject, g.ClientID, describe(live), err, g.ID)
		}
	}
}

func TestCreateGrantRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(g *access.Grant)
		want   string
	}{
		{"empty id", func(g *access.Grant) { g.ID = "" }, "id is empty"},
		{"empty subject", func(g *access.Grant) { g.Subject = "" }, "subject is empty"},
		{"empty client", func(g *access.Grant) { g.ClientID = "" }, "client id is empty"},
		{"empty challenge", func(g *access.Grant) { g.ConsentChallenge = "" }, "consent challenge is empty"},
		{"empty status", func(g *access.Grant) { g.Status = "" }, `status "" is invalid`},
		{"revoked", func(g *access.Grant) { g.Status = access.StatusRevoked }, `status "revoked" is invalid`},
		{"replaced", func(g *access.Grant) { g.Status = access.StatusReplaced }, `status "replaced" is invalid`},
		{"unknown status", func(g *access.Grant) { g.Status = "Active" }, `status "Active" is invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTestDB(t)
			live := newGrant("grant-0", "subject-1", "client-1", "challenge-0")
			createGrant(t, db, live)

			g := newGrant("grant-1", "subject-1", "client-1", "challenge-1")
			tt.change(g)
			err := db.CreateGrant(context.Background(), g)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CreateGrant(%s) error = %v; want an error containing %q", describe(g), err, tt.want)
			}

			if n := countRows(t, db, "grants", "1 = 1"); n != 1 {
				t.Errorf("grants after rejected CreateGrant = %d rows; want 1", n)
			}
			if got := findGrant(t, db, "grant-0"); got.Status != access.StatusActive {
				t.Errorf("live grant status after rejected CreateGrant = %q; want %q", got.Status, access.StatusActive)
			}
		})
	}
}

func TestCreateGrantDuplicateID(t *testing.T) {
	db, _ := openTestDB(t)
	createGrant(t, db, newGrant("grant-1", "subject-1", "client-1", "challenge-1"))

	err := db.CreateGrant(context.Background(), newGrant("grant-1", "subject-1", "client-1", "challenge-2"))
	if err == nil || errors.Is(err, access.ErrChallengeUsed) || !strings.Contains(err.Error(), "id exists") {
		t.Fatalf("CreateGrant(duplicate id) error = %v; want an error about the id", err)
	}
	if got := findGrant(t, db, "grant-1"); got.Status != access.StatusActive {
		t.Errorf("first grant status after duplicate id = %q; want %q", got.Status, access.StatusActive)
	}
}

func TestFindGrantNotFound(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	createGrant(t, db, newGrant("grant-1", "subject-1", "client-1", "challenge-1"))
	createGrant(t, db, newGrant("grant-2", "subject-2", "client-1", "challenge-2"))
	if _, err := db.db.Exec(`UPDATE grants SET status = 'revoked' WHERE id = 'grant-2'`); err != nil {
		t.Fatalf("revoke grant-2: %v", err)
	}

	tests := []struct {
		name string
		find func() (*access.Grant, error)
	}{
		{"FindGrant unknown id", func() (*access.Grant, error) { return db.FindGrant(ctx, "grant-9") }},
		{"FindGrant empty id", func() (*access.Grant, error) { return db.FindGrant(ctx, "") }},
		{"FindGrantByChallenge unknown", func() (*access.Grant, error) { return db.FindGrantByChallenge(ctx, "challenge-9") }},
		{"FindGrantByChallenge hash of challenge", func() (*access.Grant, error) {
			return db.FindGrantByChallenge(ctx, hashChallenge("challenge-1"))
		}},
		{"FindLiveGrant unknown client", func() (*access.Grant, error) { return db.FindLiveGrant(ctx, "subject-1", "client-9") }},
		{"FindLiveGrant unknown subject", func() (*access.Grant, error) { return db.FindLiveGrant(ctx, "subject-9", "client-1") }},
		{"FindLiveGrant revoked only", func() (*access.Grant, error) { return db.FindLiveGrant(ctx, "subject-2", "client-1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := tt.find()
			if !errors.Is(err, access.ErrGrantNotFound) || g != nil {
				t.Errorf("%s = %s, %v; want nil, %v", tt.name, describe(g), err, access.ErrGrantNotFound)
			}
		})
	}
}

func TestChallengeStoredOnlyAsHash(t *testing.T) {
	db, _ := openTestDB(t)
	createGrant(t, db, newGrant("grant-1", "subject-1", "client-1", longChallenge))

	sum := sha256.Sum256([]byte(longChallenge))
	want := hex.EncodeToString(sum[:])
	if n := countRows(t, db, "grants", "challenge_hash = ?", want); n != 1 {
		t.Errorf("grants with challenge_hash %q = %d; want 1", want, n)
	}

	var row string
	err := db.db.QueryRow(`SELECT id || subject || client_id || challenge_hash || status || details || scopes FROM grants`).Scan(&row)
	if err != nil {
		t.Fatalf("read grant row: %v", err)
	}
	if strings.Contains(row, longChallenge[:64]) {
		t.Errorf("stored grant row contains the consent challenge; want only its hash")
	}
}

func TestCreateGrantConcurrent(t *testing.T) {
	db, _ := openTestDB(t)

	const writers = 20
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			g := newGrant(fmt.Sprintf("grant-%d", i), "subject-1", "client-1", fmt.Sprintf("challenge-%d", i))
			errs[i] = db.CreateGrant(context.Background(), g)
		})
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateGrant(grant-%d) error = %v; want nil", i, err)
		}
	}
	checkStatusCounts(t, db, writers)
}

// checkStatusCounts checks that total grants of subject-1 and client-1 exist,
// exactly one of them live and the others replaced.
func checkStatusCounts(t *testing.T, db *DB, total int) {
	t.Helper()
	where := "subject = 'subject-1' AND client_id = 'client-1' AND status = ?"
	if n := countRows(t, db, "grants", where, access.StatusActive); n != 1 {
		t.Errorf("active grants = %d; want 1", n)
	}
	if n := countRows(t, db, "grants", where, access.StatusReplaced); n != total-1 {
		t.Errorf("replaced grants = %d; want %d", n, total-1)
	}
}

func TestTwoHandlesShareDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	first, _ := openTestDBAt(t, path)
	second, _ := openTestDBAt(t, path)
	ctx := context.Background()

	createGrant(t, first, newGrant("grant-1", "subject-1", "client-1", "challenge-1"))
	if got, err := second.FindGrantByChallenge(ctx, "challenge-1"); err != nil || got.ID != "grant-1" {
		t.Fatalf("second handle FindGrantByChallenge() = %s, %v; want grant-1", describe(got), err)
	}

	err := second.CreateGrant(ctx, newGrant("grant-2", "subject-1", "client-1", "challenge-1"))
	if !errors.Is(err, access.ErrChallengeUsed) {
		t.Errorf("second handle CreateGrant(reused challenge) error = %v; want %v", err, access.ErrChallengeUsed)
	}

	createGrant(t, second, newGrant("grant-2", "subject-1", "client-1", "challenge-2"))
	if got := findGrant(t, first, "grant-1"); got.Status != access.StatusReplaced {
		t.Errorf("first handle grant-1 status = %q; want %q", got.Status, access.StatusReplaced)
	}
}

func TestTwoHandlesConcurrentWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	first, _ := openTestDBAt(t, path)
	second, _ := openTestDBAt(t, path)
	handles := []*DB{first, second}

	const writers = 20
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			g := newGrant(fmt.Sprintf("grant-%d", i), "subject-1", "client-1", fmt.Sprintf("challenge-%d", i))
			errs[i] = handles[i%2].CreateGrant(context.Background(), g)
			if errs[i] == nil {
				_, errs[i] = handles[(i+1)%2].FindGrant(context.Background(), g.ID)
			}
		})
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("grant-%d on handle %d error = %v; want nil", i, i%2+1, err)
		}
	}
	checkStatusCounts(t, first, writers)
}
