package sticky

import (
	"hash/fnv"
	"testing"
)

func TestUnitIsFNV1aWithTheSplitmixFinaliser(t *testing.T) {
	for _, key := range []string{"", "user-1", "a fairly long session identifier"} {
		h := fnv.New64a()
		_, _ = h.Write([]byte(key))
		if got, want := Unit(key), finish(h.Sum64()); got != want {
			t.Fatalf("Unit(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestSaltedIsUnitOfTheJoinedKey(t *testing.T) {
	tests := []struct{ salt, key string }{{"p", "user-1"}, {"support-reply", "u"}, {"", ""}}
	for _, tt := range tests {
		t.Run(tt.salt+"/"+tt.key, func(t *testing.T) {
			if got, want := Salted(tt.salt, tt.key), Unit(tt.salt+"\x00"+tt.key); got != want {
				t.Fatalf("Salted = %v, Unit of the joined key = %v", got, want)
			}
		})
	}
}

func TestUnitStaysInTheUnitInterval(t *testing.T) {
	for i := range 10000 {
		if u := Unit(string(rune(i))); u < 0 || u >= 1 {
			t.Fatalf("Unit = %v", u)
		}
	}
}
