package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for new hashes: the minimum configuration that the
// OWASP Password Storage Cheat Sheet recommends (2024 text,
// https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html),
// 19 MiB of memory, 2 iterations and 1 degree of parallelism. CheckPassword reads the parameters from each
// hash, so raising them later keeps old hashes valid.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Bounds that CheckPassword accepts in a stored hash. They keep a damaged or
// planted hash from costing gigabytes of memory or minutes of CPU.
const (
	maxArgonMemoryKiB = 1024 * 1024
	maxArgonTime      = 16
	minArgonSaltLen   = 8
	minArgonKeyLen    = 16
	maxArgonKeyLen    = 64
)

// Password and username rules.
const (
	MinPasswordRunes = 8
	MaxPasswordBytes = 256
	MaxUsernameRunes = 64
)

// Errors returned by the password and username functions. Their messages
// state the rule and may be shown to the person.
var (
	ErrPasswordTooShort = fmt.Errorf("password must be at least %d characters long", MinPasswordRunes)
	ErrPasswordTooLong  = fmt.Errorf("password must be at most %d bytes long", MaxPasswordBytes)
	ErrPasswordEncoding = errors.New("password must be valid UTF-8 text")
	ErrUsernameInvalid  = fmt.Errorf("username must be 1 to %d characters, each an ASCII letter, a digit, '.', '_', '-' or '@'", MaxUsernameRunes)
	ErrMalformedHash    = errors.New("malformed argon2id password hash")
)

// dummyHash is the argon2id hash, with the parameters of new hashes, of a
// random password that was thrown away. CheckDummyPassword checks against
// it.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$Xmc6gxqBgblC/lzPKw08BQ$UzxTkhA9Y1O8gB1MjBFF7cQixlSMPdmW7CE/OIAwOQA"

// HashPassword returns the argon2id hash of password with a random 16-byte
// salt, encoded as $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, the PHC
// string format with unpadded standard base64. It does not check the
// password against the rules of ValidatePassword.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read random salt: %w", err)
	}

	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return encodeHash(argonParams{memoryKiB: argonMemoryKiB, time: argonTime, threads: argonThreads}, salt, key), nil
}

// CheckPassword reports whether password matches encoded, a hash made by
// HashPassword, comparing in constant time. It returns an error only when
// encoded is malformed. The error never contains the salt, the hash or the
// password.
func CheckPassword(encoded, password string) (bool, error) {
	params, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}

	got := argon2.IDKey([]byte(password), salt, params.time, params.memoryKiB, params.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// CheckDummyPassword does the work of CheckPassword against a fixed hash and
// ignores the result. Call it when the user does not exist, so that the
// response time does not reveal which usernames exist.
func CheckDummyPassword(password string) {
	CheckPassword(dummyHash, password)
}

// ValidatePassword returns an error stating the rule that password breaks:
// at least 8 characters (Unicode code points) and at most 256 bytes of
// UTF-8.
func ValidatePassword(password string) error {
	switch {
	case !utf8.ValidString(password):
		return ErrPasswordEncoding
	case len(password) > MaxPasswordBytes:
		return ErrPasswordTooLong
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		return ErrPasswordTooShort
	}
	return nil
}

// ValidateUsername returns ErrUsernameInvalid unless name has 1 to 64
// characters, each an ASCII letter, a digit, '.', '_', '-' or '@'. Letters
// are limited to ASCII so that lowercasing, which makes usernames compare
// case-insensitively, is unambiguous and no two names look alike.
func ValidateUsername(name string) error {
	if name == "" || len(name) > MaxUsernameRunes {
		return ErrUsernameInvalid
	}
	for i := 0; i < len(name); i++ {
		if !isUsernameByte(name[i]) {
			return ErrUsernameInvalid
		}
	}
	return nil
}

func isUsernameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '.', c == '_', c == '-', c == '@':
		return true
	}
	return false
}

// argonParams are the cost parameters of one argon2id hash.
type argonParams struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
}

func encodeHash(p argonParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memoryKiB, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// decodeHash parses a hash in the format HashPassword writes and checks its
// parameters against the bounds above.
func decodeHash(encoded string) (argonParams, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonParams{}, nil, nil, fmt.Errorf("%w: expected $argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return argonParams{}, nil, nil, fmt.Errorf("%w: version must be v=%d", ErrMalformedHash, argon2.Version)
	}

	params, err := parseParams(parts[3])
	if err != nil {
		return argonParams{}, nil, nil, err
	}

	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minArgonSaltLen {
		return argonParams{}, nil, nil, fmt.Errorf("%w: salt must be unpadded base64 of at least %d bytes", ErrMalformedHash, minArgonSaltLen)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minArgonKeyLen || len(key) > maxArgonKeyLen {
		return argonParams{}, nil, nil, fmt.Errorf("%w: hash must be unpadded base64 of %d to %d bytes", ErrMalformedHash, minArgonKeyLen, maxArgonKeyLen)
	}
	return params, salt, key, nil
}

// parseParams parses "m=<KiB>,t=<iterations>,p=<threads>" in that order.
func parseParams(s string) (argonParams, error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return argonParams{}, fmt.Errorf("%w: parameters must be m=<KiB>,t=<iterations>,p=<threads>", ErrMalformedHash)
	}

	memory, errM := parseParam(fields[0], "m", maxArgonMemoryKiB)
	iterations, errT := parseParam(fields[1], "t", maxArgonTime)
	threads, errP := parseParam(fields[2], "p", 255)
	if err := errors.Join(errM, errT, errP); err != nil {
		return argonParams{}, err
	}
	return argonParams{memoryKiB: memory, time: iterations, threads: uint8(threads)}, nil
}

// parseParam parses "<name>=<n>" with n from 1 to limit.
func parseParam(field, name string, limit uint32) (uint32, error) {
	value, ok := strings.CutPrefix(field, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: expected parameter %q", ErrMalformedHash, name)
	}

	n, err := strconv.ParseUint(value, 10, 32)
	if err != nil || n < 1 || n > uint64(limit) {
		return 0, fmt.Errorf("%w: parameter %s must be an integer from 1 to %d", ErrMalformedHash, name, limit)
	}
	return uint32(n), nil
}
