package sqlite

import (
	"context"
	"errors"
	"testing"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/usage"
)

func TestFindGrantForToken(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()

	if err := db.CreateUser(ctx, newUser("usr_enabled", "enabled")); err != nil {
		t.Fatal(err)
	}
	disabled := newUser("usr_disabled", "disabled")
	disabled.Disabled = true
	if err := db.CreateUser(ctx, disabled); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*access.Grant{
		newGrant("gr_enabled", "usr_enabled", "app", "c1"),
		newGrant("gr_disabled", "usr_disabled", "app", "c2"),
		newGrant("gr_nouser", "usr_missing", "app", "c3"),
	} {
		if err := db.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		id          string
		wantEnabled bool
	}{
		{"gr_enabled", true},
		{"gr_disabled", false},
		{"gr_nouser", false},
	}
	for _, tt := range tests {
		g, enabled, err := db.FindGrantForToken(ctx, tt.id)
		if err != nil || g.ID != tt.id || enabled != tt.wantEnabled {
			t.Errorf("FindGrantForToken(%q) = %v, %v, %v; want the grant, %v, nil", tt.id, g, enabled, err, tt.wantEnabled)
		}
	}

	if _, _, err := db.FindGrantForToken(ctx, "gr_unknown"); !errors.Is(err, access.ErrGrantNotFound) {
		t.Errorf("FindGrantForToken(unknown) error = %v; want %v", err, access.ErrGrantNotFound)
	}
}

// TestUsageRefusesDisabledAccount checks that a disabled account's grant
// can neither reserve nor pass introspection, like its token refreshes.
func TestUsageRefusesDisabledAccount(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	g := usageGrant("gr_owner", access.Limits{})
	createGrant(t, db, g)
	store := db.UsageStore(usage.Calendar{})

	if _, err := store.Reserve(ctx, hold(g.ID, 1000)); err != nil {
		t.Fatalf("Reserve while enabled: %v", err)
	}
	if err := db.SetUserDisabled(ctx, g.Subject, true); err != nil {
		t.Fatal(err)
	}

	_, err := store.Reserve(ctx, hold(g.ID, 1000))
	var refusal *usage.Refusal
	if !errors.As(err, &refusal) || refusal.Reason != usage.ReasonGrantRevoked {
		t.Errorf("Reserve while disabled = %v; want a %q refusal", err, usage.ReasonGrantRevoked)
	}
	report, err := store.Report(ctx, g.ID)
	if err != nil || !report.OwnerDisabled {
		t.Errorf("Report while disabled = %+v, %v; want OwnerDisabled", report, err)
	}
}
