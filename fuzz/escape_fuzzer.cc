// Escaping of untrusted text (group names, addresses, server messages) in what the exporter
// serves: a JSON string of any bytes is valid JSON (strict UTF-8) and never contains '<'
// (JSON is embedded in the HTML page); escaped HTML contains none of < > " ' & raw.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "util/json.h"
#include "util/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  std::string js = text::JsonString(in);
  if (!fuzz::JsonIsValid(js)) {
    std::fprintf(stderr, "invalid JSON string for %zu input bytes: %s\n", size, js.c_str());
    FUZZ_CHECK(false);
  }
  FUZZ_CHECK(js.find('<') == std::string::npos);

  JsonWriter w;
  w.BeginObject().Field(in, in).Key("list").BeginArray().String(in).EndArray().EndObject();
  FUZZ_CHECK(fuzz::JsonIsValid(w.str()));

  std::string html = text::EscapeHtml(in);
  FUZZ_CHECK(html.find_first_of("<>\"'") == std::string::npos);
  for (size_t i = html.find('&'); i != std::string::npos; i = html.find('&', i + 1)) {
    std::string_view rest = std::string_view(html).substr(i);
    FUZZ_CHECK(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
               rest.starts_with("&quot;") || rest.starts_with("&#39;"));
  }
  return 0;
}
