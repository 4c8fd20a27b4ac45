// Sentinel pub/sub events: the input is "<channel>\n<payload>" (no newline: all channel).
// ParseSentinelEvent directly, and as the subscriber sees it: a pmessage reply through
// ParsePubSubMessage first. Seeds: every event of tests/testdata/sentinel7_events_*.resp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string channel(in.substr(0, nl));
  std::string payload(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));

  auto ev = parse::ParseSentinelEvent(channel, payload);
  if (ev) {
    FUZZ_CHECK(ev->event == channel);
    FUZZ_CHECK(!channel.empty() && (channel[0] == '+' || channel[0] == '-'));
    for (int p : {ev->port, ev->primary_port, ev->old_port, ev->new_port}) {
      FUZZ_CHECK(p >= 0 && p <= 65535);
    }
    // Whatever the instance parsing found comes from the payload.
    for (const std::string* s : {&ev->name, &ev->ip, &ev->group, &ev->primary_ip, &ev->old_ip,
                                 &ev->new_ip, &ev->note}) {
      FUZZ_CHECK(s->size() <= payload.size());
    }
  } else {
    FUZZ_CHECK(channel.empty() || (channel[0] != '+' && channel[0] != '-'));
  }

  using redis::Reply;
  Reply pmessage = Reply::Array({Reply::String("pmessage"), Reply::String("*"),
                                 Reply::String(channel), Reply::String(payload)});
  auto msg = parse::ParsePubSubMessage(pmessage);
  FUZZ_CHECK(msg && msg->kind == parse::PubSubMessage::Kind::kPMessage);
  FUZZ_CHECK(msg->channel == channel && msg->payload == payload && msg->pattern == "*");
  auto again = parse::ParseSentinelEvent(msg->channel, msg->payload);
  FUZZ_CHECK(again.has_value() == ev.has_value());
  Reply message = Reply::Array({Reply::String("message"), Reply::String(channel),
                                Reply::String(payload)});
  fuzz::ExerciseReply(message);
  return 0;
}
