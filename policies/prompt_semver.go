package policies

import (
	"strconv"
	"strings"
)

// versionKey orders prompt versions the way semver orders releases: numerically by up to
// three parts (3 is 3.0.0), a pre-release (-rc.1) before its release, build metadata
// (+build) ignored. Two versions with equal keys may not coexist under one ID.
type versionKey struct {
	nums [3]uint64
	pre  string
}

func parseVersionKey(s string) versionKey {
	var k versionKey
	s, _, _ = strings.Cut(s, "+")
	s, k.pre, _ = strings.Cut(s, "-")
	for i, p := range strings.SplitN(s, ".", 3) {
		k.nums[i], _ = strconv.ParseUint(p, 10, 64)
	}
	return k
}

// compare returns -1, 0 or +1 as k orders before, with or after o.
func (k versionKey) compare(o versionKey) int {
	for i := range k.nums {
		if k.nums[i] != o.nums[i] {
			if k.nums[i] < o.nums[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case k.pre == o.pre:
		return 0
	case k.pre == "":
		return 1
	case o.pre == "":
		return -1
	}
	return comparePre(k.pre, o.pre)
}

// comparePre compares pre-release strings by dot-separated identifiers: numeric ones
// numerically and before alphanumeric ones, others as text, a shorter prefix first.
func comparePre(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		an, aerr := strconv.ParseUint(as[i], 10, 64)
		bn, berr := strconv.ParseUint(bs[i], 10, 64)
		switch {
		case aerr == nil && berr == nil:
			if an != bn {
				if an < bn {
					return -1
				}
				return 1
			}
		case aerr == nil:
			return -1
		case berr == nil:
			return 1
		default:
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(as) < len(bs):
		return -1
	case len(as) > len(bs):
		return 1
	}
	return 0
}
