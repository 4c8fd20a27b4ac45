#include "http/web_config.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "redis/tls.h"
#include "util/duration.h"

namespace redis_ha::http {

namespace fs = std::filesystem;

bool TlsServerConfig::enabled() const {
  return !cert_file.empty() || !cert.empty() || !key_file.empty() || !key.empty() ||
         !client_ca_file.empty() || !client_ca.empty() ||
         client_auth != ClientAuth::kNoClientCert;
}

// ---- bcrypt ----

bool IsBcryptHash(std::string_view hash, int* cost) {
  // $2b$10$ + 22 salt characters + 31 hash characters
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' ||
      hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  int c = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (c < 4 || c > 31) return false;
  for (char ch : hash.substr(7)) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '/';
    if (!ok) return false;
  }
  if (cost != nullptr) *cost = c;
  return true;
}

namespace {

// crypt_rn() into a zeroed crypt_data (about 32 KiB, so on the heap). "" on failure.
std::string Crypt(std::string_view password, const std::string& setting) {
  if (password.find('\0') != std::string_view::npos) return "";  // C strings end there
  auto data = std::make_unique<crypt_data>();
  std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(phrase.data(), phrase.size());
  std::string result = out == nullptr || out[0] == '*' ? "" : out;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

}  // namespace

Result<std::string> BcryptHash(std::string_view password, int cost) {
  if (cost < 4 || cost > 31) return MakeError(ErrorKind::kConfig, "bcrypt cost must be 4..31");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                       sizeof(setting)) == nullptr) {
    return MakeError(ErrorKind::kIo, "crypt_gensalt: no bcrypt support in libcrypt");
  }
  std::string hash = Crypt(password, setting);
  if (hash.empty()) return MakeError(ErrorKind::kIo, "crypt: bcrypt failed");
  return hash;
}

bool BcryptMatches(std::string_view password, const std::string& hash) {
  if (!IsBcryptHash(hash)) return false;
  std::string computed = Crypt(password, hash);
  // Both are 60 characters when crypt succeeded; the length is not secret.
  return computed.size() == hash.size() &&
         CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = Base64Value(c)) < 0) {
        return false;
      }
    }
    uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                 uint32_t(v[3]);
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

}  // namespace

bool ParseBasicAuthorization(std::string_view header, std::string* user,
                             std::string* password) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) {
    header.remove_prefix(1);
  }
  if (header.size() < 6) return false;
  std::string scheme(header.substr(0, 6));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  if (scheme != "basic ") return false;
  header.remove_prefix(6);
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) {
    header.remove_suffix(1);
  }
  std::string decoded;
  if (!Base64Decode(header, &decoded)) return false;
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return true;
}

// ---- BasicAuth ----

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  int cost = 4;
  for (const auto& [u, h] : users_) {
    int c = 0;
    if (IsBcryptHash(h, &c)) cost = std::max(cost, c);
  }
  // Unknown users are checked against this so that they cost what a known one does.
  unsigned char random[16];
  RAND_bytes(random, sizeof(random));
  std::string dummy(reinterpret_cast<const char*>(random), sizeof(random));
  for (char& ch : dummy) ch = static_cast<char>('a' + (static_cast<unsigned char>(ch) % 26));
  auto hash = BcryptHash(dummy, cost);
  dummy_hash_ = hash ? *hash : "";
}

bool BasicAuth::Check(const std::string& user, const std::string& password) {
  auto it = users_.find(user);
  const bool known = it != users_.end();
  const std::string& hash = known ? it->second : dummy_hash_;

  // The cache key is a digest of user, hash and password together.
  std::string material = user;
  material.push_back('\0');
  material += hash;
  material.push_back('\0');
  material += password;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(material.data(), material.size(), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(material.data(), material.size());
  std::string key(reinterpret_cast<const char*>(digest), digest_len);
  if (known) {
    std::lock_guard lock(cache_mu_);
    if (cache_.count(key) != 0) return true;
  }

  bool ok;
  {
    std::lock_guard lock(bcrypt_mu_);
    ok = BcryptMatches(password, hash);
  }
  ok = ok && known;
  if (ok) {
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_.insert(std::move(key));
  }
  return ok;
}

// ---- RateLimiter ----

RateLimiter::RateLimiter(std::chrono::milliseconds interval, int burst)
    : interval_(interval),
      burst_(burst),
      tokens_(burst),
      last_(std::chrono::steady_clock::now()) {}

bool RateLimiter::Allow() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_) /
                                           std::chrono::duration<double>(interval_));
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

// ---- Parsing ----

namespace {

std::string Where(const std::string& name, const YAML::Node& node, const std::string& key) {
  std::ostringstream s;
  s << name << ":" << node.Mark().line + 1 << ": " << key;
  return s.str();
}

Error WebError(const std::string& where, const std::string& what) {
  return MakeError(ErrorKind::kConfig, where + ": " + what);
}

Status Scalar(const YAML::Node& v, const std::string& where, std::string* out) {
  if (!v.IsScalar()) return WebError(where, "must be a single value");
  *out = v.as<std::string>();
  return Status::Ok();
}

Status Bool(const YAML::Node& v, const std::string& where, bool* out) {
  std::string s;
  if (Status st = Scalar(v, where, &s); !st) return st;
  if (s == "true") *out = true;
  else if (s == "false") *out = false;
  else return WebError(where, "'" + s + "' is not true or false");
  return Status::Ok();
}

Status List(const YAML::Node& v, const std::string& where, std::vector<std::string>* out) {
  if (v.IsNull()) return Status::Ok();
  if (!v.IsSequence()) return WebError(where, "must be a list");
  for (const auto& item : v) {
    if (!item.IsScalar()) return WebError(where, "must be a list of strings");
    out->push_back(item.as<std::string>());
  }
  return Status::Ok();
}

Status TlsVersion(const YAML::Node& v, const std::string& where, int* out) {
  std::string s;
  if (Status st = Scalar(v, where, &s); !st) return st;
  constexpr std::pair<std::string_view, int> kVersions[] = {{"TLS10", TLS1_VERSION},
                                                            {"TLS11", TLS1_1_VERSION},
                                                            {"TLS12", TLS1_2_VERSION},
                                                            {"TLS13", TLS1_3_VERSION}};
  for (const auto& [name, version] : kVersions) {
    if (s == name) {
      *out = version;
      return Status::Ok();
    }
  }
  return WebError(where, "'" + s + "' is not one of TLS10, TLS11, TLS12, TLS13");
}

std::string Resolve(const std::string& dir, const std::string& file) {
  if (file.empty() || fs::path(file).is_absolute() || dir.empty()) return file;
  return (fs::path(dir) / file).lexically_normal().string();
}

const std::map<std::string, ClientAuth>& ClientAuthNames() {
  static const auto* names = new std::map<std::string, ClientAuth>{
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  return *names;
}

const std::map<std::string, std::string>& CurveNames() {
  static const auto* names = new std::map<std::string, std::string>{
      {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"},
      {"X25519", "X25519"}};
  return *names;
}

bool IsTls13Suite(const std::string& name) {
  return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
         name == "TLS_CHACHA20_POLY1305_SHA256";
}

Status ParseTls(const YAML::Node& node, const std::string& name, TlsServerConfig& t) {
  const std::string prefix = "tls_server_config";
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return WebError(Where(name, node, prefix), "must be a map");
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    const std::string where = Where(name, kv.first, prefix + "." + k);
    const YAML::Node& v = kv.second;
    Status s;
    if (k == "cert_file") s = Scalar(v, where, &t.cert_file);
    else if (k == "key_file") s = Scalar(v, where, &t.key_file);
    else if (k == "client_ca_file") s = Scalar(v, where, &t.client_ca_file);
    else if (k == "cert") s = Scalar(v, where, &t.cert);
    else if (k == "key") s = Scalar(v, where, &t.key);
    else if (k == "client_ca") s = Scalar(v, where, &t.client_ca);
    else if (k == "client_auth_type") {
      std::string a;
      s = Scalar(v, where, &a);
      if (s) {
        auto it = ClientAuthNames().find(a);
        if (it == ClientAuthNames().end()) {
          return WebError(where, "'" + a + "' is not one of NoClientCert, RequestClientCert, "
                                           "RequireAnyClientCert, VerifyClientCertIfGiven, "
                                           "RequireAndVerifyClientCert");
        }
        t.client_auth = it->second;
      }
    } else if (k == "client_allowed_sans") {
      s = List(v, where, &t.client_allowed_sans);
    } else if (k == "min_version") {
      s = TlsVersion(v, where, &t.min_version);
    } else if (k == "max_version") {
      s = TlsVersion(v, where, &t.max_version);
    } else if (k == "cipher_suites") {
      s = List(v, where, &t.cipher_suites);
      for (const auto& c : t.cipher_suites) {
        if (!s) break;
        const char* openssl_name = OPENSSL_cipher_name(c.c_str());
        if (!IsTls13Suite(c) &&
            (openssl_name == nullptr || std::string(openssl_name) == "(NONE)")) {
          return WebError(where, "unknown cipher suite '" + c + "'");
        }
      }
    } else if (k == "curve_preferences") {
      s = List(v, where, &t.curve_preferences);
      for (const auto& c : t.curve_preferences) {
        if (s && CurveNames().count(c) == 0) {
          return WebError(where, "unknown curve '" + c +
                                     "' (CurveP256, CurveP384, CurveP521, X25519)");
        }
      }
    } else if (k == "prefer_server_cipher_suites") {
      s = Bool(v, where, &t.prefer_server_cipher_suites);
    } else {
      return WebError(where, "unknown key");
    }
    if (!s) return s;
  }
  const std::string where = Where(name, node, prefix);
  if (!t.enabled()) return Status::Ok();
  if (!t.cert.empty() && !t.cert_file.empty()) {
    return WebError(where + ".cert", "cert and cert_file are mutually exclusive");
  }
  if (!t.key.empty() && !t.key_file.empty()) {
    return WebError(where + ".key", "key and key_file are mutually exclusive");
  }
  if (!t.client_ca.empty() && !t.client_ca_file.empty()) {
    return WebError(where + ".client_ca", "client_ca and client_ca_file are mutually exclusive");
  }
  if (t.cert.empty() && t.cert_file.empty()) {
    return WebError(where + ".cert_file", "missing one of cert or cert_file");
  }
  if (t.key.empty() && t.key_file.empty()) {
    return WebError(where + ".key_file", "missing one of key or key_file");
  }
  const bool has_ca = !t.client_ca.empty() || !t.client_ca_file.empty();
  if (has_ca && t.client_auth == ClientAuth::kNoClientCert) {
    return WebError(where + ".client_ca_file",
                    "a client CA is configured without a client_auth_type");
  }
  if (!has_ca && (t.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                  t.client_auth == ClientAuth::kRequireAndVerifyClientCert)) {
    return WebError(where + ".client_ca_file",
                    "needed to verify client certificates (client_auth_type)");
  }
  if (!t.client_allowed_sans.empty() && t.client_auth != ClientAuth::kRequireAnyClientCert &&
      t.client_auth != ClientAuth::kRequireAndVerifyClientCert) {
    return WebError(where + ".client_allowed_sans",
                    "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert");
  }
  if (t.min_version > t.max_version) {
    return WebError(where + ".min_version", "is above max_version");
  }
  return Status::Ok();
}

Status ParseHeaders(const YAML::Node& node, const std::string& name, const std::string& prefix,
                    WebConfig& c) {
  // Each configurable header, and the values it may take (empty: any one-line value).
  struct Allowed {
    std::string_view header;
    std::array<std::string_view, 2> values;  // unused slots empty
  };
  static constexpr Allowed kAllowed[] = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return WebError(Where(name, node, prefix), "must be a map");
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    const std::string where = Where(name, kv.first, prefix + "." + k);
    std::string v;
    if (Status s = Scalar(kv.second, where, &v); !s) return s;
    const auto* it = std::find_if(std::begin(kAllowed), std::end(kAllowed),
                                  [&](const Allowed& a) { return a.header == k; });
    if (it == std::end(kAllowed)) return WebError(where, "this header cannot be configured");
    const bool listed =
        !v.empty() && std::find(it->values.begin(), it->values.end(), v) != it->values.end();
    if (!it->values[0].empty() && !listed) {
      std::string allowed;
      for (std::string_view a : it->values) {
        if (a.empty()) continue;
        if (!allowed.empty()) allowed += ", ";
        allowed += a;
      }
      return WebError(where, "'" + v + "' is not one of " + allowed);
    }
    if (v.find_first_of("\r\n") != std::string::npos) {
      return WebError(where, "must be one line");
    }
    if (!v.empty()) c.headers.emplace_back(k, v);
  }
  return Status::Ok();
}

}  // namespace

Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& name,
                                 const std::string& dir) {
  WebConfig c;
  c.path = name;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorKind::kConfig,
                     name + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) return c;
  if (!root.IsMap()) return WebError(name, "the top level must be a map");
  try {
    for (const auto& kv : root) {
      const std::string k = kv.first.as<std::string>();
      const std::string where = Where(name, kv.first, k);
      const YAML::Node& v = kv.second;
      if (k == "tls_server_config") {
        if (Status s = ParseTls(v, name, c.tls); !s) return s.error();
      } else if (k == "http_server_config") {
        if (v.IsNull()) continue;
        if (!v.IsMap()) return WebError(where, "must be a map");
        for (const auto& hkv : v) {
          const std::string hk = hkv.first.as<std::string>();
          const std::string hw = Where(name, hkv.first, k + "." + hk);
          if (hk == "http2") {
            if (Status s = Bool(hkv.second, hw, &c.http2); !s) return s.error();
          } else if (hk == "headers") {
            if (Status s = ParseHeaders(hkv.second, name, k + "." + hk, c); !s) return s.error();
          } else {
            return WebError(hw, "unknown key");
          }
        }
      } else if (k == "basic_auth_users") {
        if (v.IsNull()) continue;
        if (!v.IsMap()) return WebError(where, "must be a map of user: bcrypt hash");
        for (const auto& ukv : v) {
          const std::string user = ukv.first.as<std::string>();
          const std::string uw = Where(name, ukv.first, k + "." + user);
          std::string hash;
          if (Status s = Scalar(ukv.second, uw, &hash); !s) return s.error();
          if (user.empty() || user.find(':') != std::string::npos) {
            return WebError(uw, "a user name must be non-empty and have no ':'");
          }
          if (!IsBcryptHash(hash)) {
            // The value is a secret of sorts: never echo it.
            return WebError(uw, "not a bcrypt hash ($2y$, $2b$ or $2a$, cost 4-31)");
          }
          c.users[user] = hash;
        }
      } else if (k == "auth_excluded_paths") {
        if (Status s = List(v, where, &c.auth_excluded_paths); !s) return s.error();
        for (const auto& p : c.auth_excluded_paths) {
          if (p.empty() || p[0] != '/') return WebError(where, "'" + p + "' is not a path");
        }
      } else if (k == "rate_limit") {
        if (v.IsNull()) continue;
        if (!v.IsMap()) return WebError(where, "must be a map");
        for (const auto& rkv : v) {
          const std::string rk = rkv.first.as<std::string>();
          const std::string rw = Where(name, rkv.first, k + "." + rk);
          std::string s;
          if (Status st = Scalar(rkv.second, rw, &s); !st) return st.error();
          if (rk == "interval") {
            if (s == "0") {
              c.rate_limit_interval = std::chrono::milliseconds(0);
              continue;
            }
            auto d = ParseDuration(s);
            if (!d || d->count() < 0) return WebError(rw, "'" + s + "' is not a duration");
            c.rate_limit_interval = *d;
          } else if (rk == "burst") {
            int n = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
            if (ec != std::errc() || p != s.data() + s.size() || n < 0) {
              return WebError(rw, "'" + s + "' is not a count >= 0");
            }
            c.rate_limit_burst = n;
          } else {
            return WebError(rw, "unknown key");
          }
        }
        if (c.rate_limit_interval.count() > 0 && c.rate_limit_burst < 1) {
          return WebError(where + ".burst", "must be at least 1 when interval is set");
        }
      } else {
        return WebError(where, "unknown key");
      }
    }
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorKind::kConfig,
                     name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  c.tls.cert_file = Resolve(dir, c.tls.cert_file);
  c.tls.key_file = Resolve(dir, c.tls.key_file);
  c.tls.client_ca_file = Resolve(dir, c.tls.client_ca_file);
  return c;
}

// ---- The TLS server context ----

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Accepts whatever certificate the client sends (RequestClientCert, RequireAnyClientCert).
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

Result<std::shared_ptr<SSL_CTX>> BuildServerContext(const TlsServerConfig& t,
                                                    const std::string& name) {
  auto fail = [&](const std::string& key, const std::string& what) -> Error {
    return MakeError(ErrorKind::kConfig, name + ": tls_server_config." + key + ": " + what);
  };
  ERR_clear_error();
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail("cert_file", tls::DrainErrors("cannot create a TLS context"));
  SSL_CTX_set_min_proto_version(ctx.get(), t.min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), t.max_version);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (t.prefer_server_cipher_suites) {
    SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  }

  // Certificate and key, from files or inline.
  std::string cert_pem = t.cert, key_pem = t.key;
  if (!t.cert_file.empty() && !ReadFile(t.cert_file, &cert_pem)) {
    return fail("cert_file", "cannot read '" + t.cert_file + "'");
  }
  if (!t.key_file.empty() && !ReadFile(t.key_file, &key_pem)) {
    return fail("key_file", "cannot read '" + t.key_file + "'");
  }
  const std::string cert_key = t.cert_file.empty() ? "cert" : "cert_file";
  const std::string key_key = t.key_file.empty() ? "key" : "key_file";
  {
    tls::BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    tls::X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
    if (!leaf || SSL_CTX_use_certificate(ctx.get(), leaf.get()) != 1) {
      return fail(cert_key, "no usable PEM certificate: " + tls::DrainErrors());
    }
    for (;;) {  // the rest of the file is the chain
      X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (extra == nullptr) break;
      if (SSL_CTX_add0_chain_cert(ctx.get(), extra) != 1) {
        X509_free(extra);
        return fail(cert_key, "cannot add a chain certificate: " + tls::DrainErrors());
      }
    }
    ERR_clear_error();
  }
  {
    tls::BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (pkey == nullptr) return fail(key_key, "no usable PEM private key: " + tls::DrainErrors());
    int rc = SSL_CTX_use_PrivateKey(ctx.get(), pkey);
    EVP_PKEY_free(pkey);
    if (rc != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
      return fail(key_key, "does not match the certificate: " + tls::DrainErrors());
    }
  }

  // Client certificates.
  std::string ca_pem = t.client_ca;
  if (!t.client_ca_file.empty() && !ReadFile(t.client_ca_file, &ca_pem)) {
    return fail("client_ca_file", "cannot read '" + t.client_ca_file + "'");
  }
  const std::string ca_key = t.client_ca_file.empty() ? "client_ca" : "client_ca_file";
  if (!ca_pem.empty()) {
    std::string error;
    if (!tls::AddPemCertificates(SSL_CTX_get_cert_store(ctx.get()), ca_pem, &error)) {
      return fail(ca_key, error);
    }
    // Tell clients which CAs we accept.
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    tls::BioPtr bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
    for (;;) {
      tls::X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!ca) break;
      X509_NAME* n = X509_NAME_dup(X509_get_subject_name(ca.get()));
      if (n != nullptr) sk_X509_NAME_push(names, n);
    }
    ERR_clear_error();
    SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
  }
  switch (t.client_auth) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }

  // Ciphers (TLS 1.2 and below, and TLS 1.3 suites) and curves.
  std::string list12, list13;
  for (const auto& c : t.cipher_suites) {
    if (IsTls13Suite(c)) {
      list13 += (list13.empty() ? "" : ":") + c;
    } else {
      list12 += (list12.empty() ? "" : ":") + std::string(OPENSSL_cipher_name(c.c_str()));
    }
  }
  if (!list12.empty() && SSL_CTX_set_cipher_list(ctx.get(), list12.c_str()) != 1) {
    return fail("cipher_suites", "OpenSSL accepts none of them: " + tls::DrainErrors());
  }
  if (!list13.empty() && SSL_CTX_set_ciphersuites(ctx.get(), list13.c_str()) != 1) {
    return fail("cipher_suites", "OpenSSL accepts none of them: " + tls::DrainErrors());
  }
  if (!t.curve_preferences.empty()) {
    std::string groups;
    for (const auto& c : t.curve_preferences) {
      groups += (groups.empty() ? "" : ":") + CurveNames().at(c);
    }
    if (SSL_CTX_set1_groups_list(ctx.get(), groups.c_str()) != 1) {
      return fail("curve_preferences", tls::DrainErrors());
    }
  }
  return std::shared_ptr<SSL_CTX>(ctx.release(), SSL_CTX_free);
}

}  // namespace

Result<std::shared_ptr<const WebConfig>> LoadWebConfig(const std::string& path) {
  std::string text;
  if (!ReadFile(path, &text)) {
    return MakeError(ErrorKind::kConfig, "cannot read '" + path + "'");
  }
  auto parsed = ParseWebConfig(text, path, fs::path(path).parent_path().string());
  if (!parsed) return parsed.error();
  auto c = std::make_shared<WebConfig>(std::move(*parsed));
  c->files.push_back(path);
  if (c->tls.enabled()) {
    auto ctx = BuildServerContext(c->tls, path);
    if (!ctx) return ctx.error();
    c->ssl_ctx = std::move(*ctx);
    for (const auto* f : {&c->tls.cert_file, &c->tls.key_file, &c->tls.client_ca_file}) {
      if (!f->empty()) c->files.push_back(*f);
    }
  }
  return std::shared_ptr<const WebConfig>(std::move(c));
}

bool ClientCertificateAllowed(SSL* ssl, const TlsServerConfig& t, std::string* why) {
  if (t.client_allowed_sans.empty()) return true;
  tls::X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) {
    *why = "no client certificate to match against client_allowed_sans";
    return false;
  }
  struct NamesDeleter {
    void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
  };
  std::unique_ptr<GENERAL_NAMES, NamesDeleter> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> values;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    switch (n->type) {
      case GEN_DNS:
      case GEN_EMAIL:
      case GEN_URI: {
        const ASN1_IA5STRING* s = n->d.ia5;
        values.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                            static_cast<size_t>(ASN1_STRING_length(s)));
        break;
      }
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* s = n->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {0};
        int len = ASN1_STRING_length(s);
        const unsigned char* data = ASN1_STRING_get0_data(s);
        if (len == 4) inet_ntop(AF_INET, data, text, sizeof(text));
        else if (len == 16) inet_ntop(AF_INET6, data, text, sizeof(text));
        if (text[0] != '\0') values.emplace_back(text);
        break;
      }
      default: break;
    }
  }
  for (const auto& v : values) {
    if (std::find(t.client_allowed_sans.begin(), t.client_allowed_sans.end(), v) !=
        t.client_allowed_sans.end()) {
      return true;
    }
  }
  *why = "the client certificate has none of client_allowed_sans";
  return false;
}

}  // namespace redis_ha::http
