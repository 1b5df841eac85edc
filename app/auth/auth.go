// Package auth holds Quire's credential primitives: argon2id password hashes,
// random tokens stored only as hashes, and CSRF tokens bound to a session.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id costs. Defaults follow RFC 9106's second recommended option
// scaled to a small appliance: 64 MiB, 1 pass, 2 lanes (about 50 ms on one core).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams are used for new hashes. Tests may lower them; existing hashes
// carry their own parameters, so verification is unaffected.
var DefaultParams = Params{Memory: 64 * 1024, Time: 1, Threads: 2}

const saltLen, keyLen = 16, 32

var b64 = base64.RawStdEncoding

// HashPassword returns a PHC-format argon2id hash.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := DefaultParams
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("unrecognised password hash")

// CheckPassword reports whether password matches the hash, in constant time.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var p Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash lets a login for an unknown email cost as much as a real one, so
// response timing does not reveal which addresses have accounts. Made on first
// use: hashing costs 64 MiB, which an idle server should not hold from start.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("quire-timing-equaliser")
	return h
})

// BurnPasswordCheck spends the time of one password check.
func BurnPasswordCheck(password string) { _, _ = CheckPassword(dummyHash(), password) }

// NewToken returns a random secret with a readable prefix (e.g. "qk_" for API
// keys) and the SHA-256 hash under which it is stored. 256 bits of entropy make
// a slow hash unnecessary.
func NewToken(prefix string) (secret string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashToken(secret)
}

// HashToken is how a presented token is looked up.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CSRFToken derives the anti-CSRF token for a session: an HMAC of the session's
// token hash under the instance secret. Stateless, and useless for another session.
func CSRFToken(key, sessionHash []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csrf:"))
	m.Write(sessionHash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF compares a presented CSRF token with the expected one in constant time.
func CheckCSRF(key, sessionHash []byte, presented string) bool {
	want := CSRFToken(key, sessionHash)
	return presented != "" && subtle.ConstantTimeCompare([]byte(want), []byte(presented)) == 1
}
