// Package auth manages cueprint's API keys: a key ring kept in a file
// beside the store, holding each key's role, tenant and a SHA-256 of its
// secret, never the secret itself.
//
// # Keys
//
// A key reads "cpk_" + 12 hex digits of ID + "_" + 43 characters of
// base64url secret (32 random bytes). The ID finds the record; the secret
// is checked against its hash in constant time. Secrets are random with
// 256 bits of entropy, so a plain SHA-256 is enough: a slow password hash
// protects guessable passwords, and there is nothing to guess here.
//
// # File
//
// keys.json in the store directory: {"version":1,"keys":[...]}. Writers
// (`cueprint keys` and the daemon's /v1/keys) take an exclusive flock on
// keys.lock, write keys.json.tmp, fsync it, rename it over keys.json and
// fsync the directory, so a crash leaves the old or the new ring, never a
// mix. Readers reload the file when its size or modification time
// changes, which lets `cueprint keys create` add a key while the daemon
// runs (the store itself is locked by the daemon).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cueprint/cueprint/server/internal/atomicfile"
)

// Role is what a key may do.
type Role string

// The roles.
const (
	// Admin may do everything, for every tenant, and manage keys.
	Admin Role = "admin"
	// Registrar registers, replaces, deletes and reads its own tenant's
	// works, and matches.
	Registrar Role = "registrar"
	// Matcher only matches (a platform or an aggregator).
	Matcher Role = "matcher"
	// Monitor only reads /metrics.
	Monitor Role = "monitor"
)

// Roles lists the valid roles.
func Roles() []Role { return []Role{Admin, Registrar, Matcher, Monitor} }

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// Errors.
var (
	// ErrNoKey: the request carries no key, or one that is malformed,
	// unknown, wrong or revoked. Callers answer 401 without saying which.
	ErrNoKey = errors.New("auth: missing or invalid API key")
	// ErrNotFound: no key with that ID.
	ErrNotFound = errors.New("auth: no such key")
	// ErrInvalid: a bad role or tenant.
	ErrInvalid = errors.New("auth: invalid key request")
)

// Key is a stored key record.
type Key struct {
	ID        string     `json:"id"`
	Role      Role       `json:"role"`
	Tenant    string     `json:"tenant"`
	Name      string     `json:"name,omitempty"`
	Hash      string     `json:"sha256"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Revoked reports whether the key has been revoked.
func (k Key) Revoked() bool { return k.RevokedAt != nil }

type file struct {
	Version int   `json:"version"`
	Keys    []Key `json:"keys"`
}

const fileVersion = 1

// Ring is the key ring of one store directory. It is safe for concurrent
// use, also by several processes.
type Ring struct {
	path, lock string

	mu    sync.Mutex
	keys  map[string]Key
	stamp fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
	ok   bool
}

// Open returns the ring kept in dir (created empty if absent).
func Open(dir string) (*Ring, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open key ring %s: %w", dir, err)
	}
	r := &Ring{path: filepath.Join(dir, "keys.json"), lock: filepath.Join(dir, "keys.lock")}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(); err != nil {
		return nil, err
	}
	return r, nil
}

// reloadLocked rereads the file if it changed.
func (r *Ring) reloadLocked() error {
	fi, err := os.Stat(r.path)
	if errors.Is(err, os.ErrNotExist) {
		r.keys, r.stamp = map[string]Key{}, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read key ring %s: %w", r.path, err)
	}
	st := fileStamp{size: fi.Size(), mod: fi.ModTime(), ok: true}
	if st == r.stamp && r.keys != nil {
		return nil
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		return fmt.Errorf("read key ring %s: %w", r.path, err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("read key ring %s: %w", r.path, err)
	}
	if f.Version != fileVersion {
		return fmt.Errorf("read key ring %s: version %d, want %d", r.path, f.Version, fileVersion)
	}
	keys := make(map[string]Key, len(f.Keys))
	for _, k := range f.Keys {
		keys[k.ID] = k
	}
	r.keys, r.stamp = keys, st
	return nil
}

// update runs fn on the current keys under the file lock and writes the
// result durably.
func (r *Ring) update(fn func(keys map[string]Key) error) error {
	lf, err := os.OpenFile(r.lock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock key ring %s: %w", r.lock, err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock key ring %s: %w", r.lock, err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway

	r.mu.Lock()
	defer r.mu.Unlock()
	r.stamp = fileStamp{} // another process may have written: reread
	if err := r.reloadLocked(); err != nil {
		return err
	}
	keys := maps(r.keys)
	if err := fn(keys); err != nil {
		return err
	}
	f := file{Version: fileVersion}
	for _, k := range keys {
		f.Keys = append(f.Keys, k)
	}
	slices.SortFunc(f.Keys, func(a, b Key) int { return strings.Compare(a.ID, b.ID) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(r.path, b, 0o600); err != nil {
		return fmt.Errorf("write key ring %s: %w", r.path, err)
	}
	r.stamp = fileStamp{}
	return r.reloadLocked()
}

func maps(m map[string]Key) map[string]Key {
	c := make(map[string]Key, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

var tenantRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidTenant reports whether t is a usable tenant name: 1 to 64 letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func ValidTenant(t string) bool { return tenantRe.MatchString(t) }

// Create makes a new key and returns its record and the secret key
// string, which is shown once and never stored.
func (r *Ring) Create(role Role, tenant, name string) (Key, string, error) {
	if !role.Valid() {
		return Key{}, "", fmt.Errorf("%w: role %q (want one of %v)", ErrInvalid, role, Roles())
	}
	if !ValidTenant(tenant) {
		return Key{}, "", fmt.Errorf("%w: tenant %q (1-64 letters, digits, '.', '_', '-')", ErrInvalid, tenant)
	}
	if len(name) > 200 {
		return Key{}, "", fmt.Errorf("%w: name longer than 200 bytes", ErrInvalid)
	}
	var idb [6]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return Key{}, "", err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Key{}, "", err
	}
	id := hex.EncodeToString(idb[:])
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	k := Key{ID: id, Role: role, Tenant: tenant, Name: name, Hash: hashSecret(sec), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	err := r.update(func(keys map[string]Key) error {
		if _, dup := keys[id]; dup {
			return fmt.Errorf("create key: ID %s collides; retry", id)
		}
		keys[id] = k
		return nil
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, "cpk_" + id + "_" + sec, nil
}

// Revoke revokes the key with the given ID. Revoking twice is not an
// error.
func (r *Ring) Revoke(id string) (Key, error) {
	var out Key
	err := r.update(func(keys map[string]Key) error {
		k, ok := keys[id]
		if !ok {
			return fmt.Errorf("revoke key %q: %w", id, ErrNotFound)
		}
		if k.RevokedAt == nil {
			now := time.Now().UTC().Truncate(time.Second)
			k.RevokedAt = &now
			keys[id] = k
		}
		out = k
		return nil
	})
	return out, err
}

// List returns every key (revoked ones too), by creation time.
func (r *Ring) List() ([]Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(); err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(r.keys))
	for _, k := range r.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Get returns the key with the given ID.
func (r *Ring) Get(id string) (Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reloadLocked(); err != nil {
		return Key{}, err
	}
	k, ok := r.keys[id]
	if !ok {
		return Key{}, fmt.Errorf("key %q: %w", id, ErrNotFound)
	}
	return k, nil
}

// Verify returns the live key a presented secret belongs to, or ErrNoKey.
func (r *Ring) Verify(presented string) (Key, error) {
	rest, ok := strings.CutPrefix(presented, "cpk_")
	if !ok || len(rest) != 12+1+43 || rest[12] != '_' {
		return Key{}, ErrNoKey
	}
	id, sec := rest[:12], rest[13:]
	r.mu.Lock()
	if err := r.reloadLocked(); err != nil {
		r.mu.Unlock()
		return Key{}, err
	}
	k, ok := r.keys[id]
	r.mu.Unlock()
	want, err := hex.DecodeString(k.Hash)
	got := sha256.Sum256([]byte(sec))
	if !ok || err != nil || subtle.ConstantTimeCompare(want, got[:]) != 1 || k.Revoked() {
		return Key{}, ErrNoKey
	}
	return k, nil
}

func hashSecret(sec string) string {
	h := sha256.Sum256([]byte(sec))
	return hex.EncodeToString(h[:])
}
