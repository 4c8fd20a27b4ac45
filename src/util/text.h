// Escaping for the places values from servers end up: JSON, HTML, Prometheus labels.
// Group names, addresses and versions come from servers and are untrusted.
// Thread-safety: pure functions.
#ifndef REDIS_HA_UTIL_TEXT_H_
#define REDIS_HA_UTIL_TEXT_H_

#include <string>
#include <string_view>

namespace redis_ha::text {

// JSON string body (without the quotes); control characters as \u00XX, invalid UTF-8
// bytes replaced by U+FFFD so the output is always valid JSON.
std::string EscapeJsonString(std::string_view s);
// Strict UTF-8 (RFC 3629: no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s);
// `s` with every byte that is not part of a valid sequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);
// "s" with quotes.
std::string JsonString(std::string_view s);
// HTML text and attribute values.
std::string EscapeHtml(std::string_view s);
// A number as JSON (NaN and infinities become null).
std::string JsonNumber(double v);

}  // namespace redis_ha::text

#endif  // REDIS_HA_UTIL_TEXT_H_
