#include "util/status.h"

namespace redis_ha {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnect: return "connect";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kAuth: return "auth";
    case ErrorKind::kProtocol: return "protocol";
    case ErrorKind::kReply: return "reply";
    case ErrorKind::kConfig: return "config";
    case ErrorKind::kIo: return "io";
  }
  return "unknown";
}

}  // namespace redis_ha
