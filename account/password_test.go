package account

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

const newHashPrefix = "$argon2id$v=19$m=19456,t=2,p=1$"

func TestHashPasswordFormat(t *testing.T) {
	encoded, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatalf("HashPassword() error = %v", err)
	}

	if !strings.HasPrefix(encoded, newHashPrefix) {
		t.Fatalf("HashPassword() = %q; want prefix %q", encoded, newHashPrefix)
	}
	parts := strings.Split(strings.TrimPrefix(encoded, newHashPrefix), "$")
	if len(parts) != 2 {
		t.Fatalf("HashPassword() = %q; want salt and hash after the parameters", encoded)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[0])
	if err != nil || len(salt) != 16 {
		t.Errorf("salt %q decodes to %d bytes, error %v; want 16 bytes", parts[0], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[1])
	if err != nil || len(key) != 32 {
		t.Errorf("hash %q decodes to %d bytes, error %v; want 32 bytes", parts[1], len(key), err)
	}
}

func TestHashPasswordRandomSalt(t *testing.T) {
	first, err := HashPassword("same password")
	if err != nil {
		t.Fatalf("HashPassword() error = %v", err)
	}
	second, err := HashPassword("same password")
	if err != nil {
		t.Fatalf("HashPassword() error = %v", err)
	}

	if first == second {
		t.Errorf("HashPassword twice = %q both times; want different salts", first)
	}
}

func TestCheckPassword(t *testing.T) {
	const password = "Tr0ub4dor&3 ünïcödé"
	encoded, err := HashPassword(password)
	if err != nil {
		t.Fatalf("HashPassword(%q) error = %v", password, err)
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"same password", password, true},
		{"other password", "Tr0ub4dor&4 ünïcödé", false},
		{"different case", strings.ToUpper(password), false},
		{"prefix only", password[:8], false},
		{"trailing space", password + " ", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckPassword(encoded, tt.password)
			if err != nil {
				t.Fatalf("CheckPassword(hash, %q) error = %v", tt.password, err)
			}
			if got != tt.want {
				t.Errorf("CheckPassword(hash, %q) = %v; want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestCheckPasswordReadsParameters(t *testing.T) {
	const password = "older parameters"
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 8*1024, 2, 24)
	encoded := encodeHash(argonParams{memoryKiB: 8 * 1024, time: 1, threads: 2}, salt, key)

	got, err := CheckPassword(encoded, password)
	if err != nil {
		t.Fatalf("CheckPassword(%q, %q) error = %v", encoded, password, err)
	}
	if !got {
		t.Errorf("CheckPassword(%q, %q) = false; want true", encoded, password)
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	const salt = "MDEyMzQ1Njc4OWFiY2RlZg"                     // 16 bytes
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" // 32 bytes

	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"missing leading dollar", "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"missing parameter", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key},
		{"parameters out of order", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"zero iterations", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"too much memory", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key},
		{"too many iterations", "$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key},
		{"too many threads", "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key},
		{"negative memory", "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ$" + key},
		{"short hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$MDEyMzQ1Njc"},
		{"hash not base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$!!!!"},
		{"extra field", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const password = "secret-password-123"
			got, err := CheckPassword(tt.encoded, password)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("CheckPassword(%q, password) = %v, %v; want error %v", tt.encoded, got, err, ErrMalformedHash)
			}
			if got {
				t.Errorf("CheckPassword(%q, password) = true; want false", tt.encoded)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), key) {
				t.Errorf("CheckPassword(%q, password) error %q contains the password or the hash", tt.encoded, err)
			}
		})
	}
}

// The dummy hash must cost what a real one costs, or the time of a sign-in
// would reveal whether the username exists.
func TestDummyHashMatchesNewHashes(t *testing.T) {
	if !strings.HasPrefix(dummyHash, newHashPrefix) {
		t.Errorf("dummyHash = %q; want prefix %q, the parameters of HashPassword", dummyHash, newHashPrefix)
	}

	_, salt, key, err := decodeHash(dummyHash)
	if err != nil {
		t.Fatalf("decodeHash(dummyHash) error = %v", err)
	}
	if len(salt) != argonSaltLen || len(key) != argonKeyLen {
		t.Errorf("dummyHash salt and hash lengths = %d, %d; want %d, %d", len(salt), len(key), argonSaltLen, argonKeyLen)
	}

	got, err := CheckPassword(dummyHash, "password")
	if err != nil || got {
		t.Errorf("CheckPassword(dummyHash, %q) = %v, %v; want false, nil", "password", got, err)
	}
	CheckDummyPassword("password")
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{"eight ASCII characters", "abcdefgh", nil},
		{"seven ASCII characters", "abcdefg", ErrPasswordTooShort},
		{"empty", "", ErrPasswordTooShort},
		{"eight multibyte characters", "ääääääää", nil},
		{"seven multibyte characters", "äääääää", ErrPasswordTooShort},
		{"256 bytes", strings.Repeat("a", 256), nil},
		{"257 bytes", strings.Repeat("a", 257), ErrPasswordTooLong},
		{"130 two-byte characters", strings.Repeat("ä", 130), ErrPasswordTooLong},
		{"invalid UTF-8", "abcdefg\xff", ErrPasswordEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidatePassword(tt.password); !errors.Is(got, tt.want) {
				t.Errorf("ValidatePassword(%q) = %v; want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestValidatePasswordMessageStatesRule(t *testing.T) {
	tests := []struct {
		password string
		want     string
	}{
		{"short", "at least 8 characters"},
		{strings.Repeat("a", 300), "at most 256 bytes"},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.password)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidatePassword(%q) = %v; want a message containing %q", tt.password, err, tt.want)
		}
	}
}

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name     string
		username string
		want     error
	}{
		{"letters", "alice", nil},
		{"mixed case", "Alice", nil},
		{"all allowed characters", "a.b_c-d@example.com9", nil},
		{"one character", "a", nil},
		{"64 characters", strings.Repeat("a", 64), nil},
		{"empty", "", ErrUsernameInvalid},
		{"65 characters", strings.Repeat("a", 65), ErrUsernameInvalid},
		{"space", "alice smith", ErrUsernameInvalid},
		{"non-ASCII letter", "alicé", ErrUsernameInvalid},
		{"Kelvin sign", "\u212aelvin", ErrUsernameInvalid},
		{"slash", "alice/bob", ErrUsernameInvalid},
		{"colon", "user:alice", ErrUsernameInvalid},
		{"NUL byte", "alice\x00", ErrUsernameInvalid},
		{"newline", "alice\n", ErrUsernameInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateUsername(tt.username); !errors.Is(got, tt.want) {
				t.Errorf("ValidateUsername(%q) = %v; want %v", tt.username, got, tt.want)
			}
		})
	}
}

func TestValidateUsernameMessageStatesRule(t *testing.T) {
	err := ValidateUsername("bad name")
	const want = "1 to 64 characters"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ValidateUsername(%q) = %v; want a message containing %q", "bad name", err, want)
	}
}
