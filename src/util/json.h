// JsonWriter: a minimal streaming JSON writer (commas and escaping handled).
// Thread-safety: none; one writer per document.
#ifndef REDIS_HA_UTIL_JSON_H_
#define REDIS_HA_UTIL_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redis_ha {

class JsonWriter {
 public:
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view v);
  JsonWriter& Number(double v);
  JsonWriter& Int(int64_t v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  template <typename T>
  JsonWriter& Optional(const std::optional<T>& v) {
    if (!v) return Null();
    if constexpr (std::is_same_v<T, bool>) return Bool(*v);
    else if constexpr (std::is_same_v<T, std::string>) return String(*v);
    else if constexpr (std::is_floating_point_v<T>) return Number(*v);
    else return Int(static_cast<int64_t>(*v));
  }
  // Key + value shorthands.
  template <typename T>
  JsonWriter& Field(std::string_view key, const T& v) {
    Key(key);
    if constexpr (std::is_same_v<T, bool>) return Bool(v);
    else if constexpr (std::is_convertible_v<T, std::string_view>) return String(v);
    else if constexpr (std::is_floating_point_v<T>) return Number(v);
    else if constexpr (std::is_integral_v<T>) return Int(static_cast<int64_t>(v));
    else return Optional(v);
  }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);
  void Separate();

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_JSON_H_
