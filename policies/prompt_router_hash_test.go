package policies

import "hash/fnv"

// routerStickyUnit is router.StickyUnit verbatim (router/weighted.go), for the test that
// keeps the copy in prompt_pins.go in step with it.
func routerStickyUnit(key string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
