package cache

import "math/bits"

// dot is the inner product of two equal-length vectors, unrolled by eight so the
// compiler keeps independent accumulators in registers.
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}

// signCode appends the sign bits of v (1 for positive) to dst, 64 per word.
func signCode(dst []uint64, v []float32) []uint64 {
	for i := 0; i < len(v); i += 64 {
		var w uint64
		for j := i; j < min(i+64, len(v)); j++ {
			if v[j] > 0 {
				w |= 1 << uint(j-i)
			}
		}
		dst = append(dst, w)
	}
	return dst
}

// hamming counts the differing bits of two equal-length codes.
func hamming(a, b []uint64) int {
	b = b[:len(a)]
	n := 0
	for i := range a {
		n += bits.OnesCount64(a[i] ^ b[i])
	}
	return n
}
