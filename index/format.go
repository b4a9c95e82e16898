package index

import "encoding/binary"

// Key families; see FORMAT.md.
const (
	prefixMeta     = 'm' // FORMAT.md#meta
	prefixCounter  = 'c' // FORMAT.md#counter
	prefixWork     = 'w' // FORMAT.md#work
	prefixNum      = 'n' // FORMAT.md#num
	prefixForward  = 'f' // FORMAT.md#forward
	prefixPostings = 'p' // FORMAT.md#postings
	prefixPending  = 'x' // FORMAT.md#pending
	prefixVideo    = 'v' // FORMAT.md#video
)

// Format versions. Numbers are never reused.
const (
	// FormatV1 is the first format: audio only, a 16-byte meta record.
	FormatV1 uint32 = 1
	// FormatV2 adds video: the `v` forward prints, video keys in the
	// postings (FORMAT.md#postings) and the video parameters' hash in the
	// meta record (24 bytes). A V1 store is upgraded in place when opened.
	FormatV2 uint32 = 2
	// FormatV3 adds the short postings form (FORMAT.md#postings): a list
	// of a few works names them by delta-coded numbers rather than by a
	// Roaring bitmap, whose 16-byte header was most of a short list. A V2
	// store is a V3 store as it is, once its meta record says so (done
	// when it is opened), so that no older binary misreads a short list.
	FormatV3 uint32 = 3
	// FormatV4 adds the motion section of video prints (FORMAT.md#video):
	// one byte a frame, by which a clip of a still shot is placed. Prints
	// of a V3 store have none and stay valid (their motion is unknown); the
	// store is a V4 store once its meta record says so (done when it is
	// opened), so that no older binary refuses a print that has one.
	FormatV4 uint32 = 4
	// FormatV5 scopes work IDs by tenant (FORMAT.md#work): the work key of
	// a work registered into a tenant holds the tenant's name and a zero
	// byte before the ID, so tenants have separate namespaces. A V4 store
	// is migrated in place when it is opened read-write: each tenant's
	// work keys and `n` values are rewritten, then the meta record.
	FormatV5 uint32 = 5
	// FormatV6 adds the triplet keys (FORMAT.md#postings,
	// fingerprint.RefTriplets) to the postings, by which a query whose
	// speed, tempo or pitch was changed is found. Older stores lack them
	// and are refused with ErrNeedsMigration until Migrate (`cueprint
	// migrate`) has added them from the stored forward prints.
	FormatV6 uint32 = 6
	// FormatCurrent is what this binary writes.
	FormatCurrent = FormatV6
)

// magic opens the meta record.
var magic = [4]byte{'C', 'U', 'E', 'P'}

// Postings value encodings (FORMAT.md#postings).
const (
	postingsSingle = 0x01
	postingsList   = 0x02
	postingsShort  = 0x03 // FormatV3
)

// Pending operations (FORMAT.md#pending).
const (
	pendingRegister = 1
	pendingDelete   = 2
)

func metaKey() []byte { return []byte{prefixMeta} }

// metaRecord is the FormatCurrent meta value (FORMAT.md#meta).
func metaRecord(audioHash, videoHash uint64) []byte {
	v := make([]byte, 24)
	copy(v, magic[:])
	binary.BigEndian.PutUint32(v[4:], FormatCurrent)
	binary.BigEndian.PutUint64(v[8:], audioHash)
	binary.BigEndian.PutUint64(v[16:], videoHash)
	return v
}
func counterKey() []byte { return []byte{prefixCounter} }

// workName is what names a work in its `w` key and `n` value: the ID for
// a work of no tenant, else tenant, a zero byte, ID (FORMAT.md#work). IDs
// and tenant names hold no zero byte, so names never collide.
func workName(tenant, id string) []byte {
	if tenant == "" {
		return []byte(id)
	}
	b := make([]byte, 0, len(tenant)+1+len(id))
	return append(append(append(b, tenant...), 0), id...)
}

// splitWorkName is workName's inverse.
func splitWorkName(name []byte) (tenant, id string) {
	for i, c := range name {
		if c == 0 {
			return string(name[:i]), string(name[i+1:])
		}
	}
	return "", string(name)
}

func workKey(tenant, id string) []byte {
	return append([]byte{prefixWork}, workName(tenant, id)...)
}
func numKey(prefix byte, num uint32) []byte {
	k := make([]byte, 5)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], num)
	return k
}
func postingsKey(hash uint32) []byte { return numKey(prefixPostings, hash) }
