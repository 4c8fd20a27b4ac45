// KeyTable: a fixed set of keys, laid out at compile time, that tells which of them a string
// is with one hash and, usually, one comparison (open addressing with linear probing over a
// power-of-two table at most a quarter full; the hash reads the length and the first and last
// eight bytes). The parsers use it for the field names of INFO and of the SENTINEL tables,
// which they look up on every line of every reply.
//
//   constexpr KeyTable<3> kTable({"role", "run_id", "tcp_port"});
//   kTable.Find("run_id") == 1;  kTable.Find("x") == kTable.kNotFound;
//
// A key listed twice does not compile (the constructor is consteval).
// Thread-safety: an immutable value; Find may be called from any thread.
#ifndef REDIS_HA_UTIL_KEY_TABLE_H_
#define REDIS_HA_UTIL_KEY_TABLE_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace redis_ha {

template <size_t N>
class KeyTable {
 public:
  static constexpr size_t kNotFound = N;

  consteval explicit KeyTable(const std::array<std::string_view, N>& keys) : keys_(keys) {
    for (size_t i = 0; i < N; ++i) {
      size_t slot = Hash(keys[i]) & (kSlots - 1);
      while (slots_[slot] != 0) {
        if (keys_[slots_[slot] - 1] == keys[i]) throw "KeyTable: a key is listed twice";
        slot = (slot + 1) & (kSlots - 1);
      }
      slots_[slot] = static_cast<uint16_t>(i + 1);
    }
  }

  // The index of `key` in the list the table was made from, or kNotFound.
  constexpr size_t Find(std::string_view key) const {
    for (size_t slot = Hash(key) & (kSlots - 1); slots_[slot] != 0;
         slot = (slot + 1) & (kSlots - 1)) {
      const size_t i = slots_[slot] - 1u;
      if (keys_[i] == key) return i;
    }
    return kNotFound;
  }

  constexpr std::string_view key(size_t i) const { return keys_[i]; }
  static constexpr size_t size() { return N; }

 private:
  static constexpr size_t SlotCount() {
    size_t n = 16;
    while (n < 4 * N) n *= 2;
    return n;
  }
  static constexpr size_t kSlots = SlotCount();
  static_assert(N < 65535, "slots hold 16-bit indices");

  // The length and the first and last eight bytes, mixed: two loads for the ~20-byte field
  // names of INFO and SENTINEL replies, where FNV-1a took a multiply per byte. Same value at
  // compile time and at run time (bytes read little-endian either way).
  static constexpr uint64_t Load8(const char* p) {
    if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
      uint64_t v;
      std::memcpy(&v, p, sizeof v);
      return v;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
  }
  static constexpr uint32_t Hash(std::string_view key) {
    const size_t n = key.size();
    uint64_t head = 0;
    uint64_t tail = 0;
    if (n >= 8) {
      head = Load8(key.data());
      tail = Load8(key.data() + n - 8);
    } else {
      for (size_t i = 0; i < n; ++i) {
        head |= uint64_t{static_cast<unsigned char>(key[i])} << (8 * i);
      }
    }
    uint64_t h = (head ^ (tail >> 1) ^ n) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    return static_cast<uint32_t>(h ^ (h >> 32));
  }

  std::array<std::string_view, N> keys_{};
  std::array<uint16_t, kSlots> slots_{};  // index + 1; 0 = empty
};

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_KEY_TABLE_H_
