// Package sticky maps keys (a user, a session) to stable positions in [0,1), so that
// weighted splits keep each key on one arm: the router's A/B routes and the prompt
// registry's rollouts both use it.
package sticky

const (
	offset64 = 14695981039346656037
	prime64  = 1099511628211
)

// Unit maps key to a uniform number in [0,1) that depends only on the key: FNV-1a,
// then the splitmix64 finaliser, which spreads similar keys ("user-1", "user-2") evenly.
func Unit(key string) float64 {
	x := uint64(offset64)
	for i := 0; i < len(key); i++ {
		x = (x ^ uint64(key[i])) * prime64
	}
	return finish(x)
}

// Salted is Unit(salt + "\x00" + key) without building the string: one split per salt
// (a prompt id, say) is independent of another's for the same key.
func Salted(salt, key string) float64 {
	x := uint64(offset64)
	for i := 0; i < len(salt); i++ {
		x = (x ^ uint64(salt[i])) * prime64
	}
	x *= prime64 // the separator byte, 0
	for i := 0; i < len(key); i++ {
		x = (x ^ uint64(key[i])) * prime64
	}
	return finish(x)
}

func finish(x uint64) float64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
