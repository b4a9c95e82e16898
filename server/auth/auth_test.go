package auth_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/server/auth"
)

func TestCreateVerifyRevoke(t *testing.T) {
	dir := t.TempDir()
	r, err := auth.Open(dir)
	require.NoError(t, err)
	k, secret, err := r.Create(auth.Registrar, "label-a", "ingest")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(secret, "cpk_"+k.ID+"_"))
	assert.NotContains(t, k.Hash, secret[17:], "only a hash is kept")

	got, err := r.Verify(secret)
	require.NoError(t, err)
	assert.Equal(t, auth.Registrar, got.Role)
	assert.Equal(t, "label-a", got.Tenant)

	// A second ring on the same directory (another process) sees the key.
	r2, err := auth.Open(dir)
	require.NoError(t, err)
	_, err = r2.Verify(secret)
	require.NoError(t, err)

	_, err = r2.Revoke(k.ID)
	require.NoError(t, err)
	_, err = r.Verify(secret)
	assert.ErrorIs(t, err, auth.ErrNoKey, "revocation by another ring is seen")
	_, err = r.Revoke("nope")
	assert.ErrorIs(t, err, auth.ErrNotFound)
}

func TestVerifyRejects(t *testing.T) {
	r, err := auth.Open(t.TempDir())
	require.NoError(t, err)
	_, secret, err := r.Create(auth.Admin, "ops", "")
	require.NoError(t, err)
	for _, tc := range []struct{ name, key string }{
		{"empty", ""},
		{"no prefix", secret[4:]},
		{"wrong secret", secret[:len(secret)-1] + "A"},
		{"unknown id", "cpk_000000000000_" + secret[17:]},
		{"truncated", secret[:20]},
		{"padded", secret + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.key == secret {
				t.Skip("mutation produced the same key")
			}
			_, err := r.Verify(tc.key)
			assert.ErrorIs(t, err, auth.ErrNoKey)
		})
	}
}

func TestCreateValidates(t *testing.T) {
	r, err := auth.Open(t.TempDir())
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		role   auth.Role
		tenant string
	}{
		{"bad role", "root", "a"},
		{"empty tenant", auth.Admin, ""},
		{"tenant with space", auth.Admin, "a b"},
		{"tenant too long", auth.Admin, strings.Repeat("a", 65)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := r.Create(tc.role, tc.tenant, "")
			assert.ErrorIs(t, err, auth.ErrInvalid)
		})
	}
}

func TestConcurrentCreatesKeepEveryKey(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	secrets := make([]string, 16)
	for i := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := auth.Open(dir) // a ring each, as separate processes would
			if !assert.NoError(t, err) {
				return
			}
			_, secrets[i], err = r.Create(auth.Matcher, "p", "")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	r, err := auth.Open(dir)
	require.NoError(t, err)
	keys, err := r.List()
	require.NoError(t, err)
	assert.Len(t, keys, len(secrets))
	for _, s := range secrets {
		_, err := r.Verify(s)
		assert.NoError(t, err)
	}
}
