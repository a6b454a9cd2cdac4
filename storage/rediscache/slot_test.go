package rediscache

import "testing"

// The hash slots Redis Cluster gives these keys (CLUSTER KEYSLOT on Redis 7.0, and the CRC16
// check value of the Redis Cluster specification).
func TestKeySlot(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#x, want 0x31c3", got)
	}
	for _, tc := range []struct {
		key  string
		slot int
	}{
		{"foo", 12182},
		{"somekey", 11058},
		{"foo{hash_tag}", 2515},
		{"{hash_tag}bar", 2515},
		{"hub:busy:epoch", 16138},
		{"foo{}{hash_tag}", 10378}, // an empty tag: the whole key
		{"foo{{hash_tag}}", 9907},  // the tag is "{hash_tag"
		{"{}", 15257},
		{"a{b}c{d}", 3300}, // the first tag
		{"hub:busy:epoch:server:{0}", 13907},
	} {
		if got := keySlot(tc.key); got != tc.slot {
			t.Errorf("keySlot(%q) = %d, want %d", tc.key, got, tc.slot)
		}
	}
}
