#include "poll/subscriber.h"

#include <poll.h>
#include <pthread.h>

#include <algorithm>

#include "parse/sentinel.h"
#include "poll/observe.h"
#include "util/log.h"

namespace redis_ha::poll {

namespace {
using SteadyClock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// How often a connection waiting for its host name is checked (the resolver's notify_fd
// belongs to the poll loop, which drains it). Otherwise the thread sleeps in poll(2) until
// a subscription has data, a reconnect is due, the Sentinels change or Stop is called.
constexpr std::chrono::milliseconds kResolveTick{100};
constexpr std::chrono::milliseconds kIdleWait{10000};

bool IsCounted(const std::string& event) {
  return std::find(model::kCountedEvents.begin(), model::kCountedEvents.end(), event) !=
         model::kCountedEvents.end();
}

bool IsUrgent(const std::string& event) {
  return event == "+switch-master" || event == "+sdown" || event == "-sdown" ||
         event == "+odown" || event == "-odown" || event == "+failover-end" || event == "+tilt" ||
         event == "+failover-state-reconf-slaves";
}
}  // namespace

EventSubscriber::EventSubscriber(std::function<void(const Notice&)> on_event,
                                 redis::Limits limits, std::shared_ptr<redis::Resolver> resolver)
    : on_event_(std::move(on_event)),
      limits_(limits),
      resolver_(resolver ? std::move(resolver) : std::make_shared<redis::Resolver>()) {}

EventSubscriber::~EventSubscriber() { Stop(); }

void EventSubscriber::Start() {
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void EventSubscriber::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void EventSubscriber::SetSentinels(std::vector<Target> targets) {
  {
    std::lock_guard lock(mu_);
    if (targets == targets_) return;  // called after every poll cycle; mostly unchanged
    targets_ = std::move(targets);
  }
  wake_.Notify();
}

size_t EventSubscriber::subscribed() const {
  std::lock_guard lock(mu_);
  return subscribed_;
}

void EventSubscriber::Fill(model::Snapshot& snapshot) const {
  std::lock_guard lock(mu_);
  snapshot.event_counts = counts_;
  snapshot.recent_events.assign(recent_.begin(), recent_.end());
}

void EventSubscriber::Handle(const std::string& sentinel, const redis::Reply& reply) {
  auto msg = parse::ParsePubSubMessage(reply);
  if (!msg || (msg->kind != parse::PubSubMessage::Kind::kMessage &&
               msg->kind != parse::PubSubMessage::Kind::kPMessage)) {
    return;
  }
  auto ev = parse::ParseSentinelEvent(msg->channel, msg->payload);
  if (!ev) return;
  model::SentinelEventRecord rec{std::chrono::system_clock::now(), sentinel, ev->group,
                                 ev->event, msg->payload};
  {
    std::lock_guard lock(mu_);
    if (IsCounted(ev->event)) ++counts_[model::EventKey{ev->group, sentinel, ev->event}];
    recent_.push_back(rec);
    while (recent_.size() > kRecentEvents) recent_.pop_front();
  }
  log::Debug("sentinel event", {{"sentinel", sentinel}, {"event", ev->event},
                                {"group", ev->group}, {"payload", msg->payload}});
  const bool urgent = IsUrgent(ev->event);
  if (on_event_ && (urgent || EventOverlay::Keeps(*ev))) {
    on_event_(Notice{sentinel, std::move(*ev), SteadyClock::now(), urgent});
  }
}

void EventSubscriber::Run(std::stop_token stop) {
  ::pthread_setname_np(::pthread_self(), "events");
  std::vector<pollfd> fds;
  std::vector<std::string> order;
  std::stop_callback wake_on_stop(stop, [this] { wake_.Notify(); });
  while (!stop.stop_requested()) {
    std::vector<Target> targets;
    {
      std::lock_guard lock(mu_);
      targets = targets_;
    }
    // Drop Sentinels no longer known; add new ones.
    for (auto it = slots_.begin(); it != slots_.end();) {
      bool keep = std::any_of(targets.begin(), targets.end(), [&](const Target& t) {
        return t.endpoint.ToString() == it->first;
      });
      it = keep ? std::next(it) : slots_.erase(it);
    }
    const auto now = SteadyClock::now();
    for (const auto& t : targets) {
      Slot& slot = slots_[t.endpoint.ToString()];
      if (slot.conn && !slot.conn->UsesCredentials(t.credentials)) slot.conn.reset();
      if (!slot.conn) {
        slot.conn =
            std::make_unique<redis::Connection>(t.endpoint, t.credentials, limits_, resolver_);
        slot.conn->AcceptPushes();  // events arrive unasked
      }
      if (slot.conn->resolving()) {
        // Checked every tick; PSUBSCRIBE is queued already and goes out once connected.
        if (Status s = slot.conn->ContinueResolve(); !s) {
          log::Debug("sentinel subscription: cannot connect",
                     {{"sentinel", t.endpoint.ToString()}, {"err", s.error().message}});
          slot.next_attempt = now + slot.backoff;
          slot.backoff = std::min(slot.backoff * 2, kMaxBackoff);
        }
      } else if (!slot.conn->open() && now >= slot.next_attempt) {
        if (Status s = slot.conn->BeginConnect(); s) {
          slot.conn->Queue({"PSUBSCRIBE", "*"});
          slot.subscribed = false;
        } else {
          slot.next_attempt = now + slot.backoff;
          slot.backoff = std::min(slot.backoff * 2, kMaxBackoff);
        }
      }
    }

    // Counted before the wait, so what was just subscribed or dropped shows at once.
    size_t live = 0;
    for (const auto& [addr, slot] : slots_) live += slot.subscribed ? 1 : 0;
    {
      std::lock_guard lock(mu_);
      subscribed_ = live;
    }

    fds.clear();
    order.clear();
    auto wait = wake_.fd() >= 0 ? kIdleWait : kResolveTick;  // no eventfd: check stop often
    for (auto& [addr, slot] : slots_) {
      if (slot.conn && slot.conn->resolving()) {
        wait = std::min(wait, kResolveTick);
      } else if (!slot.conn || !slot.conn->open()) {
        wait = std::min(
            wait, std::max(std::chrono::milliseconds(1),
                           std::chrono::ceil<std::chrono::milliseconds>(slot.next_attempt - now)));
      }
      if (!slot.conn || !slot.conn->open()) continue;
      fds.push_back(pollfd{slot.conn->fd(), slot.conn->Events(), 0});
      order.push_back(addr);
    }
    fds.push_back(pollfd{wake_.fd(), POLLIN, 0});
    int rc = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (rc > 0 && (fds.back().revents & POLLIN)) wake_.Drain();
    fds.pop_back();
    if (rc > 0) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        Slot& slot = slots_[order[i]];
        Status s = slot.conn->HandleEvents(fds[i].revents);
        while (slot.conn->HasReply()) {
          redis::Reply r = slot.conn->PopReply();
          if (!slot.subscribed) {
            auto msg = parse::ParsePubSubMessage(r);
            if (msg && msg->kind == parse::PubSubMessage::Kind::kPSubscribe) {
              slot.subscribed = true;
              slot.backoff = std::chrono::milliseconds(100);
              log::Debug("subscribed to sentinel events", {{"sentinel", order[i]}});
              continue;
            }
            if (r.is_error()) {
              s = parse::ErrorFromReply(r);
              break;
            }
          }
          Handle(order[i], r);
        }
        if (s && slot.conn->eof()) s = MakeError(ErrorKind::kProtocol, "closed by peer");
        if (!s) {
          log::Debug("sentinel subscription lost",
                     {{"sentinel", order[i]}, {"err", s.error().message}});
          slot.conn->Close();
          slot.subscribed = false;
          slot.next_attempt = SteadyClock::now() + slot.backoff;
          slot.backoff = std::min(slot.backoff * 2, kMaxBackoff);
        }
      }
    }
  }
  slots_.clear();
}

}  // namespace redis_ha::poll
