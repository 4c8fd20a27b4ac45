#include "poll/poller.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "assess/assess.h"
#include "poll/observe.h"
#include "util/log.h"

namespace redis_ha::poll {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Rounds in one cycle: the steady state needs one; a Sentinel discovered in round 1
// needs a full poll (round 2) and its groups' details (round 3).
constexpr int kMaxRounds = 4;

// Cycles triggered by Sentinel events start at least this long (or half an interval, if
// shorter) after the previous cycle started.
constexpr std::chrono::milliseconds kMaxTriggeredGap{500};

// CONFIG GET is refreshed this often (and whenever a node restarts or reconnects).
constexpr std::chrono::seconds kConfigRefresh{30};

// The per-group details asked of a Sentinel, appended to `commands`.
void AddSentinelGroupCommands(const std::string& group,
                              std::vector<std::vector<std::string>>& commands) {
  commands.push_back({"SENTINEL", "CKQUORUM", group});
  commands.push_back({"SENTINEL", "REPLICAS", group});
  commands.push_back({"SENTINEL", "SENTINELS", group});
}

}  // namespace

// What one cycle has learnt so far, across its follow-up rounds.
struct Poller::CycleState {
  // When its first requests were sent (no later): a Sentinel event received after it may be
  // missing from the answers, so the Sentinel's EventOverlay is laid over its views.
  SteadyClock::time_point asked{};
  std::map<std::string, model::SentinelState> sentinels;
  // sentinel -> group -> view (views of every group in its MASTERS, watched or not)
  std::map<std::string, std::map<std::string, model::SentinelView>> views;
  std::map<std::string, std::set<std::string>> details_done;  // sentinel -> groups
  // A node's poll result, by dialled address. The first group that lists the node takes it
  // by move; `moved_to` then points at that copy (in the group's reserved node vector, which
  // the snapshot keeps), and any other group listing the same address copies from there.
  struct PolledNode {
    model::NodeState state;
    const model::NodeState* moved_to = nullptr;
  };
  std::map<std::string, PolledNode> nodes;
};

// What a Sentinel said so far in answer to a full plan. Nothing of it reaches the cycle
// until the whole answer is in (Handle): an answer cut short counts as none, as when its
// replies were kept until the end.
struct Poller::SentinelAnswer {
  size_t replies = 0;  // read so far
  model::SentinelState state;
  Status status = Status::Ok();  // INFO's and MASTERS'; the first failure
  std::map<std::string, model::SentinelView> views;
  std::vector<std::string> detailed;  // groups whose three tables were read
};

struct Poller::ActiveCycle {
  CycleState cs;
  std::vector<Plan> plans;  // the current round's
  std::vector<std::unique_ptr<SentinelAnswer>> answers;  // by plan; full Sentinel plans only
  int round = 0;
  size_t remaining = 0;  // requests of the round not answered yet
  SteadyClock::time_point start;
  model::SysTime now_sys;
};

struct Poller::ActiveEvent {
  std::set<std::string> groups;
  CycleState cs;
  std::vector<Plan> plans;
  size_t remaining = 0;
  SteadyClock::time_point began;
  SteadyClock::time_point first_event;  // when the first of its events came
  std::chrono::nanoseconds served{0};  // the longest a server took to answer it, once sent
  model::SnapshotPtr previous;  // the latest snapshot when it began
};

Poller::Poller(Config config)
    : config_(std::move(config)),
      resolver_(std::make_shared<redis::Resolver>()),
      pool_(redis::Limits{static_cast<size_t>(config_.max_reply_bytes), 1 << 20}, resolver_) {
  for (bool sectioned : {false, true}) {
    for (bool with_config : {false, true}) {
      std::vector<std::vector<std::string>> commands{NodeInfoCommand(sectioned)};
      if (with_config) {
        for (const auto& c : ConfigCommands()) commands.push_back(c);
      }
      node_commands_[sectioned][with_config] = redis::EncodedCommands::Encode(commands);
    }
  }
  for (const auto& e : config_.sentinels) {
    auto& rec = sentinels_[e.ToString()];
    rec.endpoint = e;
    rec.seed = true;
  }
  latest_ = std::make_shared<model::Snapshot>();
  pool_.SetOnIdleClose([this](const redis::Endpoint& e) { OnConnectionLost(e); });
  events_ = std::make_unique<EventSubscriber>(
      [this](const EventSubscriber::Notice& n) { OnEvent(n); },
      redis::Limits{static_cast<size_t>(config_.max_reply_bytes),
                    redis::Limits{}.max_array_elements},
      resolver_);
}

Poller::~Poller() { Stop(); }

void Poller::Start() {
  events_->Start();
  events_started_ = true;
  thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
}

void Poller::Stop() {
  events_->Stop();
  if (thread_.joinable()) {
    thread_.request_stop();
    wake_.Notify();
    thread_.join();
  }
}

void Poller::Reload(Config config) {
  {
    std::lock_guard lock(mu_);
    pending_config_ = std::move(config);
    triggered_ = true;
  }
  wake_.Notify();
}

void Poller::Trigger() {
  {
    std::lock_guard lock(mu_);
    triggered_ = true;
  }
  wake_.Notify();
}

void Poller::TriggerGroup(const std::string& group) {
  if (group.empty()) return Trigger();
  {
    std::lock_guard lock(mu_);
    urgent_groups_.try_emplace(group, SteadyClock::now());
  }
  wake_.Notify();
}

void Poller::OnEvent(const EventSubscriber::Notice& n) {
  if (n.urgent && n.event.group.empty()) return Trigger();
  {
    std::lock_guard lock(mu_);
    if (n.urgent) urgent_groups_.try_emplace(n.event.group, n.received);
    if (EventOverlay::Keeps(n.event)) {
      // In a flood the oldest half goes: the newest fact of each kind is the one that counts.
      if (pending_events_.size() >= kMaxPendingEvents) {
        pending_events_.erase(pending_events_.begin(),
                              pending_events_.begin() + kMaxPendingEvents / 2);
      }
      pending_events_.push_back(n);
    }
  }
  wake_.Notify();
}

void Poller::OnConnectionLost(const redis::Endpoint& endpoint) {
  const auto now = SteadyClock::now();
  std::vector<std::string> groups;
  bool counted = false;
  for (auto& [gname, grec] : groups_) {
    for (auto& [addr, nrec] : grec.nodes) {
      if (nrec.endpoint != endpoint) continue;
      counted = true;
      if (nrec.last_hangup != SteadyClock::time_point{} &&
          now - nrec.last_hangup < config_.poll_interval) {
        // One watch per interval: a server dropping every connection is no news.
        log::Debug("data node closed the connection again within a poll interval; left to "
                   "the cycles",
                   {{"node", addr}, {"group", gname}});
        continue;
      }
      nrec.last_hangup = now;
      rewatch_[addr] = Watch{gname, now + config_.poll_interval, now, 0, true};
      groups.push_back(gname);
      log::Debug("data node closed the connection; polling its group",
                 {{"node", addr}, {"group", gname}});
    }
  }
  if (counted) ++stats_.connections_lost;
  if (groups.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (const auto& g : groups) urgent_groups_.try_emplace(g, now);
  }
  pool_.Interrupt();  // the poll loop plans the event poll
}

void Poller::Rewatch(const std::string& address, const Status& status) {
  auto it = rewatch_.find(address);
  if (it == rewatch_.end()) return;
  Watch& w = it->second;
  const auto now = SteadyClock::now();
  // Answered, or timed out (a frozen node would hold every event poll for --poll.timeout):
  // the cycles take it from here. Refused or reset (a connection that reached the dying
  // process's listening socket) is what a restart looks like until it answers.
  if (status.ok() || status.error().kind == ErrorKind::kTimeout || now >= w.until ||
      ++w.refusals > kMaxRefusals) {
    rewatch_.erase(it);
    return;
  }
  w.not_before = now + kGroupPollGap * (1 << std::max(0, w.refusals - 2));  // 50, 50, 100, ...
  w.queued = false;  // the poll loop queues it at not_before
}

model::SnapshotPtr Poller::Latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

model::SnapshotPtr Poller::PollOnce() {
  StartCycle(SteadyClock::now());
  while (true) {
    if (active_cycle_->remaining == 0) {
      if (auto snap = AdvanceCycle({})) return snap;
      continue;
    }
    pool_.Run(SteadyClock::time_point::max(), {});
  }
}

void Poller::Publish(model::SnapshotPtr snapshot) {
  model::SnapshotPtr replaced;
  {
    std::lock_guard lock(mu_);
    replaced = std::exchange(latest_, snapshot);
  }
  // The snapshot just replaced is kept until the next publish and freed then, here: not
  // under mu_ (Latest() would wait for the whole snapshot to be freed), and not by an HTTP
  // thread that happened to drop the last reference (a gate request would pay for it).
  retired_ = std::move(replaced);
  if (on_publish_) on_publish_(snapshot);
}

namespace {

// A group's event-poll budget gains one poll per this period.
std::chrono::milliseconds RefillPeriod(std::chrono::milliseconds interval) {
  return std::max<std::chrono::milliseconds>(
      Poller::kGroupPollGap, std::min<std::chrono::milliseconds>(interval / 2, kMaxTriggeredGap));
}

}  // namespace

SteadyClock::time_point Poller::EventPollDue(const std::string& group, SteadyClock::time_point now) {
  auto it = event_budgets_.find(group);
  if (it == event_budgets_.end()) return now;
  EventBudget& b = it->second;
  const auto period = RefillPeriod(config_.poll_interval);
  if (now > b.refilled) {
    b.tokens = std::min<double>(kGroupPollBurst,
                                b.tokens + std::chrono::duration<double>(now - b.refilled) /
                                               std::chrono::duration<double>(period));
    b.refilled = now;
  }
  auto due = b.last + kGroupPollGap;
  if (b.tokens < 1) {
    due = std::max(due, now + std::chrono::duration_cast<SteadyClock::duration>(
                                  (1 - b.tokens) * std::chrono::duration<double>(period)));
  }
  return due;
}

void Poller::Run(std::stop_token stop) {
  ::pthread_setname_np(::pthread_self(), "poll");
  auto next_cycle = SteadyClock::now();
  SteadyClock::time_point cycle_started{};
  SteadyClock::time_point event_poll_ended{};
  std::chrono::nanoseconds event_poll_took{};
  while (!stop.stop_requested()) {
    auto now = SteadyClock::now();
    // An event poll that ended in the same turn as the cycle is published first: if it was
    // asked for before the cycle, the cycle's answers are the newer ones and come last; if
    // after, the cycle already holds its answers (ReplaceOlder).
    if (active_event_ && active_event_->remaining == 0) {
      FinishEventPoll();
      now = SteadyClock::now();
      event_poll_ended = now;
      event_poll_took = now - active_event_->began;
      active_event_.reset();
    }
    if (active_cycle_ && active_cycle_->remaining == 0 && AdvanceCycle(stop)) {
      now = SteadyClock::now();
      if (now >= cycle_started + config_.poll_interval) {
        ++stats_.overruns;  // no stacking: the next cycle starts now
        next_cycle = now;
      } else {
        next_cycle = cycle_started + config_.poll_interval;
      }
    }
    if (stop.stop_requested()) break;
    std::vector<EventSubscriber::Notice> notices;
    std::set<std::string> due_groups;
    auto first_asked = SteadyClock::time_point::max();  // the oldest event among due_groups
    auto event_due = SteadyClock::time_point::max();
    auto rewatch_due = SteadyClock::time_point::max();  // the next node watched after a hang-up
    {
      std::lock_guard lock(mu_);
      notices.swap(pending_events_);
      for (auto it = rewatch_.begin(); it != rewatch_.end();) {
        Watch& w = it->second;
        if (now >= w.until) {
          it = rewatch_.erase(it);
          continue;
        }
        if (!w.queued) {
          if (w.not_before <= now) {
            urgent_groups_.try_emplace(w.group, now);
            w.queued = true;
          } else {
            rewatch_due = std::min(rewatch_due, w.not_before);
          }
        }
        ++it;
      }
      if (triggered_ && !active_cycle_) {
        // An event without a group polls everything, but such events cannot make cycles
        // come faster than one per half interval (at most 500 ms): a flapping or hostile
        // Sentinel would otherwise make the exporter poll every server back to back.
        const auto gap =
            std::min<std::chrono::milliseconds>(config_.poll_interval / 2, kMaxTriggeredGap);
        next_cycle = std::min(next_cycle, std::max(now, cycle_started + gap));
      }
      if (!active_event_ && !urgent_groups_.empty()) {
        // The earliest moment a pending event poll may run: per group, and overall.
        for (const auto& [g, _] : urgent_groups_) {
          event_due = std::min(event_due, EventPollDue(g, now));
        }
        event_due = std::max(event_due, event_poll_ended + event_poll_took);
        if (event_due <= now) {
          for (auto it = urgent_groups_.begin(); it != urgent_groups_.end();) {
            if (EventPollDue(it->first, now) <= now) {
              due_groups.insert(it->first);
              first_asked = std::min(first_asked, it->second);
              it = urgent_groups_.erase(it);
            } else {
              ++it;
            }
          }
          event_due = SteadyClock::time_point::max();  // recomputed after this one
        }
      }
    }
    if (!notices.empty()) ApplyEvents(std::move(notices));
    if (!active_cycle_ && now >= next_cycle) {
      {
        std::lock_guard lock(mu_);
        triggered_ = false;  // everything asked for until now is in this cycle
      }
      // Budgets that are full again hold nothing back.
      std::erase_if(event_budgets_, [&](auto& entry) {
        EventPollDue(entry.first, now);
        return entry.second.tokens >= kGroupPollBurst && entry.second.last + kGroupPollGap <= now;
      });
      StartCycle(now);
      cycle_started = now;
      next_cycle = now + config_.poll_interval;
    }
    if (!due_groups.empty()) {
      const auto began = SteadyClock::now();
      for (const auto& g : due_groups) {
        EventBudget& b = event_budgets_[g];
        if (b.refilled == SteadyClock::time_point{}) b.refilled = began;
        b.tokens -= 1;
        b.last = began;
      }
      if (StartEventPoll(due_groups)) active_event_->first_event = first_asked;
    }
    if ((active_cycle_ && active_cycle_->remaining == 0) ||
        (active_event_ && active_event_->remaining == 0))
      continue;
    auto until = std::min(event_due, rewatch_due);
    if (!active_cycle_) until = std::min(until, next_cycle);
    pool_.Run(until, stop, &wake_);
  }
}

void Poller::ApplyPendingConfig() {
  std::optional<Config> next;
  {
    std::lock_guard lock(mu_);
    next.swap(pending_config_);
  }
  if (!next) return;
  config_ = std::move(*next);
  for (auto& [addr, rec] : sentinels_) rec.seed = false;
  for (const auto& e : config_.sentinels) {
    auto& rec = sentinels_[e.ToString()];
    rec.endpoint = e;
    rec.seed = true;
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    it = config_.WatchesGroup(it->first) ? std::next(it) : groups_.erase(it);
  }
  log::Info("configuration reloaded", {{"sentinels", std::to_string(config_.sentinels.size())}});
}

model::HistoryOptions Poller::HistoryOptionsFromConfig() const {
  model::HistoryOptions o;
  o.key_drop_fraction = config_.key_drop_fraction;
  o.wipe_hold = config_.wipe_hold;
  o.rtt_window = config_.rtt_window;
  o.poll_interval = config_.poll_interval;
  return o;
}

assess::AssessOptions Poller::AssessOptionsFromConfig() const {
  assess::AssessOptions o;
  o.key_drop_fraction = config_.key_drop_fraction;
  o.wipe_hold = config_.wipe_hold;
  o.max_lag_bytes = config_.max_lag_bytes;
  return o;
}

void Poller::CountError(const std::string& kind, ErrorKind reason) {
  std::string r(ErrorKindName(reason));
  if (r != "connect" && r != "timeout" && r != "auth" && r != "protocol") r = "reply";
  ++stats_.poll_errors[{kind, r}];
}

void Poller::ObserveSentinelGroups(const std::string& address,
                                   const std::vector<std::string>& groups,
                                   const SentinelRecord& rec, const redis::Response& resp,
                                   const model::Snapshot* previous, CycleState& cs) {
  model::SentinelState st;
  if (previous != nullptr) {
    for (const auto& prev : previous->sentinels) {
      if (prev.address == address) st = prev;
    }
  }
  st.address = address;
  st.seed = rec.seed;
  st.groups = rec.groups;
  st.round_trip = resp.round_trip;
  Status s = resp.status;
  std::map<std::string, model::SentinelView> views;
  for (size_t i = 0; s && i < groups.size(); ++i) {
    const size_t at = i * 4;
    if (at + 4 > resp.replies.size()) {
      s = MakeError(ErrorKind::kProtocol, "missing replies");
      break;
    }
    auto v = ObserveMaster(resp.replies[at], groups[i], address, config_);
    if (!v) {
      s = v.error();
      break;
    }
    if (!*v) continue;  // it stopped monitoring the group; the next full cycle relearns
    model::SentinelView& view = views[groups[i]] = std::move(**v);
    ObserveCkquorum(resp.replies[at + 1], view);
    if (Status rs = ObserveReplicas(resp.replies[at + 2], config_, view); !rs) {
      log::Debug("bad SENTINEL REPLICAS", {{"sentinel", address}, {"err", rs.error().message}});
    }
    if (Status ps = ObservePeers(resp.replies[at + 3], config_, view); !ps) {
      log::Debug("bad SENTINEL SENTINELS", {{"sentinel", address}, {"err", ps.error().message}});
    }
    cs.details_done[address].insert(groups[i]);
  }
  if (!s) {
    st.up = false;
    st.error = model::PollError{"sentinel", std::string(ErrorKindName(s.error().kind)),
                                s.error().message};
    CountError("sentinel", s.error().kind);
    log::Debug("sentinel poll failed", {{"sentinel", address}, {"err", s.error().message}});
    cs.sentinels[address] = std::move(st);
    return;
  }
  st.up = true;  // version, uptime and TILT stay as the last full cycle saw them
  st.error.reset();
  cs.sentinels[address] = std::move(st);
  cs.views[address] = std::move(views);
}

uint64_t Poller::ConfigRefreshCycles() const {
  return static_cast<uint64_t>(
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(kConfigRefresh)
                                   .count() /
                               std::max<int64_t>(1, config_.poll_interval.count())));
}

void Poller::PlanNode(const std::string& group, const std::string& address,
                      const NodeRecord& rec, uint64_t refresh_cycles,
                      std::vector<redis::Request>& requests, std::vector<Plan>& plans) {
  Plan p{Plan::kNode, address, {group}, false, false};
  redis::Request r{rec.endpoint, config_.RedisCredentials(group), {}};
  p.with_config = rec.cycles_since_config >= refresh_cycles;
  p.info_sections = rec.info_sections;
  r.encoded = node_commands_[p.info_sections][p.with_config];
  requests.push_back(std::move(r));
  plans.push_back(std::move(p));
}

void Poller::StartCycle(SteadyClock::time_point now) {
  ApplyPendingConfig();
  active_cycle_ = std::make_unique<ActiveCycle>();
  active_cycle_->start = now;
  active_cycle_->cs.asked = now;
  active_cycle_->now_sys = std::chrono::system_clock::now();
  SubmitCycleRound();  // none (no Sentinel configured): finished at the next turn
}

bool Poller::SubmitCycleRound() {
  ActiveCycle& ac = *active_cycle_;
  CycleState& cs = ac.cs;
  const uint64_t refresh_cycles = ConfigRefreshCycles();
  std::vector<redis::Request> requests;
  std::vector<Plan> plans;
  // All Sentinels in the first round, new ones later; details of groups discovered in this
  // cycle on Sentinels already polled.
  for (auto& [addr, rec] : sentinels_) {
    const std::string cred_group = rec.groups.empty() ? "" : rec.groups.front();
    if (!cs.sentinels.count(addr)) {
      Plan p{Plan::kSentinel, addr, {}, true, false};
      redis::Request r{rec.endpoint, config_.SentinelCredentials(cred_group), {}};
      p.groups.reserve(rec.groups.size());
      for (const auto& g : rec.groups) {
        if (config_.WatchesGroup(g)) p.groups.push_back(g);
      }
      // The same every cycle while the Sentinel's groups stay the same: encoded once.
      if (!rec.full_commands || rec.full_groups != p.groups) {
        std::vector<std::vector<std::string>> commands;
        commands.reserve(2 + 3 * p.groups.size());
        commands.push_back({"INFO"});
        commands.push_back({"SENTINEL", "MASTERS"});
        for (const auto& g : p.groups) AddSentinelGroupCommands(g, commands);
        rec.full_commands = redis::EncodedCommands::Encode(commands);
        rec.full_groups = p.groups;
      }
      r.encoded = rec.full_commands;
      requests.push_back(std::move(r));
      plans.push_back(std::move(p));
    } else if (cs.sentinels[addr].up) {
      Plan p{Plan::kSentinelDetails, addr, {}, false, false};
      redis::Request r{rec.endpoint, config_.SentinelCredentials(cred_group), {}};
      for (const auto& [g, view] : cs.views[addr]) {
        if (!config_.WatchesGroup(g) || cs.details_done[addr].count(g)) continue;
        p.groups.push_back(g);
        AddSentinelGroupCommands(g, r.commands);
      }
      if (r.commands.empty()) continue;
      requests.push_back(std::move(r));
      plans.push_back(std::move(p));
    }
  }
  // Data nodes not yet polled in this cycle (a node in two groups is polled once).
  std::set<std::string> planned_nodes;
  for (auto& [gname, grec] : groups_) {
    for (auto& [addr, nrec] : grec.nodes) {
      if (cs.nodes.count(addr) || !planned_nodes.insert(addr).second) continue;
      PlanNode(gname, addr, nrec, refresh_cycles, requests, plans);
    }
  }
  ac.plans = std::move(plans);
  ac.answers.clear();
  ac.answers.resize(ac.plans.size());
  ac.remaining = requests.size();
  if (requests.empty()) return false;
  // Each response is handled as soon as it arrives; the plans of one round are independent
  // of each other, so their order does not matter. A Sentinel's tables for every group are
  // read reply by reply as they come (parsed while still in the cache, never all held).
  const auto deadline = SteadyClock::now() + config_.poll_timeout;
  for (size_t i = 0; i < requests.size(); ++i) {
    redis::ConnectionPool::ReplyHandler on_reply;
    if (ac.plans[i].kind == Plan::kSentinel) {
      ac.answers[i] = std::make_unique<SentinelAnswer>();
      on_reply = [this, i](size_t index, redis::Reply& reply) {
        ActiveCycle& c = *active_cycle_;
        ReadSentinelReply(c.plans[i], index, reply, *c.answers[i]);
      };
    }
    pool_.Submit(
        std::move(requests[i]), deadline,
        [this, i](redis::Response&& resp) {
          ActiveCycle& c = *active_cycle_;
          Handle(c.plans[i], std::move(resp), c.cs, nullptr, c.answers[i].get());
          c.answers[i].reset();
          if (--c.remaining == 0) pool_.Interrupt();
        },
        std::move(on_reply));
  }
  return true;
}

void Poller::ReadSentinelReply(const Plan& p, size_t index, const redis::Reply& reply,
                               SentinelAnswer& a) {
  a.replies = index + 1;
  if (index == 0) {
    a.status = ObserveSentinelInfo(reply, a.state);
    return;
  }
  if (!a.status) return;  // the Sentinel counts as down: the rest is not read
  if (index == 1) {
    auto v = ObserveMasters(reply, p.address, config_);
    if (v) {
      a.views = std::move(*v);
    } else {
      a.status = v.error();
    }
    return;
  }
  const size_t g = (index - 2) / 3;
  if (g >= p.groups.size()) return;
  auto it = a.views.find(p.groups[g]);
  if (it == a.views.end()) return;
  model::SentinelView& v = it->second;
  switch ((index - 2) % 3) {
    case 0:
      ObserveCkquorum(reply, v);
      break;
    case 1:
      if (Status s = ObserveReplicas(reply, config_, v); !s) {
        log::Debug("bad SENTINEL REPLICAS", {{"sentinel", p.address}, {"err", s.error().message}});
      }
      break;
    default:
      if (Status s = ObservePeers(reply, config_, v); !s) {
        log::Debug("bad SENTINEL SENTINELS", {{"sentinel", p.address}, {"err", s.error().message}});
      }
      a.detailed.push_back(p.groups[g]);
      break;
  }
}

void Poller::Handle(const Plan& p, redis::Response&& resp, CycleState& cs,
                    const model::Snapshot* previous, SentinelAnswer* answer) {
  if (p.kind == Plan::kNode) {
    const uint64_t refresh_cycles = ConfigRefreshCycles();
    model::NodeState n;
    n.address = p.address;
    // The record of the group that planned it (a node in two groups is polled once).
    NodeRecord* rec = nullptr;
    if (auto git = groups_.find(p.groups.front()); git != groups_.end()) {
      if (auto it = git->second.nodes.find(p.address); it != git->second.nodes.end()) {
        rec = &it->second;
      }
    }
    if (rec != nullptr) n.announced = rec->announced;
    if (p.info_sections && resp.status && resp.replies[0].is_error() && rec != nullptr) {
      // It no longer takes INFO sections by name (restarted as an older version, or
      // something in between that does not pass them): asked again, in a plain INFO,
      // in the next round of this cycle.
      log::Debug("INFO with sections refused; asking for all of INFO",
                 {{"node", p.address}, {"err", resp.replies[0].str.substr(0, 120)}});
      rec->info_sections = false;
      rec->sections_refused_by = rec->last_run_id;  // not asked so again until it restarts
      return;
    }
    n.round_trip = resp.round_trip;
    Status s = resp.status;
    if (s) s = ObserveNodeInfo(resp.replies[0], n);
    if (!s) {
      n.up = false;
      n.error = model::PollError{"node", std::string(ErrorKindName(s.error().kind)),
                                 s.error().message};
      CountError("node", s.error().kind);
      log::Debug("node poll failed", {{"node", p.address}, {"err", s.error().message}});
      if (rec != nullptr) rec->cycles_since_config = refresh_cycles;  // re-read on return
    } else {
      n.up = true;
      if (rec != nullptr) {
        // A restarted node is re-read at once (history counts the restart).
        const bool restarted =
            !rec->last_run_id.empty() && !n.run_id.empty() && n.run_id != rec->last_run_id;
        rec->last_run_id = n.run_id;
        rec->info_sections = TakesInfoSections(n) && n.run_id != rec->sections_refused_by;
        if (p.with_config) {
          std::vector<redis::Reply> cfg(resp.replies.begin() + 1, resp.replies.end());
          ObserveConfig(cfg, n);
          rec->last_config = n;
          rec->cycles_since_config = restarted ? refresh_cycles : 0;
        } else {
          const auto& c = rec->last_config;
          n.config_save = c.config_save;
          n.config_appendonly = c.config_appendonly;
          n.config_min_replicas_to_write = c.config_min_replicas_to_write;
          n.config_min_replicas_max_lag = c.config_min_replicas_max_lag;
          n.config_unavailable = c.config_unavailable;
          rec->cycles_since_config = restarted ? refresh_cycles : rec->cycles_since_config + 1;
        }
      }
    }
    cs.nodes[p.address].state = std::move(n);
    return;
  }

  // Sentinels.
  SentinelRecord& rec = sentinels_[p.address];
  size_t next = 0;
  if (p.kind == Plan::kSentinelGroups) {
    ObserveSentinelGroups(p.address, p.groups, rec, resp, previous, cs);
    return;
  }
  if (p.kind == Plan::kSentinel) {
    // Only a cycle asks a full plan, and it reads the answer as it comes (SubmitCycleRound);
    // without one, nothing was read and the Sentinel fails below ("no SENTINEL MASTERS").
    SentinelAnswer none;
    SentinelAnswer& a = answer != nullptr ? *answer : none;
    // An answer cut short counts as none: not even what its INFO said.
    model::SentinelState st = resp.status ? std::move(a.state) : model::SentinelState{};
    st.address = p.address;
    st.seed = rec.seed;
    st.round_trip = resp.round_trip;
    Status s = resp.status;
    if (s && a.replies < 2) s = MakeError(ErrorKind::kReply, "no SENTINEL MASTERS reply");
    if (s) s = a.status;
    std::map<std::string, model::SentinelView> views = std::move(a.views);
    if (!s) {
      st.up = false;
      st.groups = rec.groups;
      st.error = model::PollError{"sentinel", std::string(ErrorKindName(s.error().kind)),
                                  s.error().message};
      CountError("sentinel", s.error().kind);
      log::Debug("sentinel poll failed", {{"sentinel", p.address}, {"err", s.error().message}});
      cs.sentinels[p.address] = std::move(st);
      return;
    }
    st.up = true;
    rec.groups.clear();
    for (const auto& [g, _] : views) {
      if (config_.WatchesGroup(g)) rec.groups.push_back(g);
    }
    st.groups = rec.groups;
    cs.sentinels[p.address] = std::move(st);
    cs.views[p.address] = std::move(views);
    auto& done = cs.details_done[p.address];
    done.insert(a.detailed.begin(), a.detailed.end());
    return;
  }
  if (!resp.status) return;  // details round failed: the views keep their MASTERS data
  auto& views = cs.views[p.address];
  for (const auto& g : p.groups) {
    if (next + 3 > resp.replies.size()) break;
    auto it = views.find(g);
    if (it != views.end()) {
      model::SentinelView& v = it->second;
      ObserveCkquorum(resp.replies[next], v);
      if (Status s = ObserveReplicas(resp.replies[next + 1], config_, v); !s) {
        log::Debug("bad SENTINEL REPLICAS", {{"sentinel", p.address}, {"err", s.error().message}});
      }
      if (Status s = ObservePeers(resp.replies[next + 2], config_, v); !s) {
        log::Debug("bad SENTINEL SENTINELS", {{"sentinel", p.address}, {"err", s.error().message}});
      }
      cs.details_done[p.address].insert(g);
    }
    next += 3;
  }
}

void Poller::LearnTopology(CycleState& cs) {
  const auto now = SteadyClock::now();
  for (auto& [saddr, views] : cs.views) {
    for (auto& [g, v] : views) {
      if (!config_.WatchesGroup(g)) continue;
      GroupRecord& grec = groups_[g];
      grec.last_listed = now;
      auto touch = [&](const std::string& dialled, const std::string& announced) {
        if (dialled.empty()) return;
        auto e = redis::ParseEndpoint(dialled);
        if (!e) return;
        NodeRecord& n = grec.nodes[dialled];
        n.endpoint = *e;
        n.announced = announced;
        n.last_listed = now;
      };
      touch(v.primary, v.primary_announced);
      for (const auto& r : v.replicas) touch(r.address, r.announced);
      for (const auto& peer : v.peers) {
        if (peer.address.empty()) continue;
        auto e = redis::ParseEndpoint(peer.address);
        if (!e) continue;
        SentinelRecord& srec = sentinels_[peer.address];
        if (srec.endpoint.port == 0) {
          srec.endpoint = *e;
          log::Info("discovered sentinel", {{"sentinel", peer.address}, {"group", g}});
        }
        srec.last_listed = now;
      }
    }
  }
}

model::SnapshotPtr Poller::AdvanceCycle(std::stop_token stop) {
  LearnTopology(active_cycle_->cs);
  while (++active_cycle_->round < kMaxRounds && !stop.stop_requested()) {
    if (SubmitCycleRound()) return nullptr;
  }
  return FinishCycle();
}

namespace {

// True when a reachable Sentinel monitoring the group names a primary.
bool AnyReachableVote(const model::GroupSnapshot& g) {
  return std::any_of(g.views.begin(), g.views.end(), [](const model::SentinelView& v) {
    return v.reachable && v.monitors && !v.primary.empty();
  });
}

// The primary most Sentinels name in their views (ties: the lexically smallest); "" when
// none names one. A reachable Sentinel votes for the primary it names; one that did not
// answer its last poll votes only for a primary its own +switch-master named since
// (EventOverlay::NamePrimary), so a Sentinel too slow to answer in a failover keeps the vote
// its event gave it.
std::string MajorityPrimary(const model::GroupSnapshot& g) {
  std::map<std::string, int> votes;
  for (const auto& v : g.views) {
    if (!v.primary.empty() && (v.monitors || !v.reachable)) ++votes[v.primary];
  }
  std::string primary;
  int best = 0;
  for (const auto& [addr, n] : votes) {
    if (n > best) {
      best = n;
      primary = addr;
    }
  }
  return primary;
}

// Lays what a Sentinel's events said (`overlay`, null when nothing is kept) over its view;
// true when that changed it. A reachable view gets the facts; an unreachable one has no data
// to lay them over, and votes only for the primary of its own recent +switch-master (a vote
// carried over from an earlier snapshot is renewed, or lapses, here).
bool LayOver(const EventOverlay* overlay, model::SentinelView& v, const Config& config,
             SteadyClock::time_point now) {
  if (v.reachable) return v.monitors && overlay != nullptr && overlay->ApplyTo(v, config);
  const std::string before = std::move(v.primary);
  v.primary.clear();
  v.primary_announced.clear();
  if (overlay != nullptr) overlay->NamePrimary(v, config, now);
  return v.primary != before;
}

}  // namespace

const model::SentinelView* Poller::LatestView(const std::string& group,
                                              const std::string& sentinel) const {
  // latest_ is replaced only by this thread (Publish), so reading it here needs no lock.
  auto git = latest_->groups.find(group);
  if (git == latest_->groups.end()) return nullptr;
  for (const auto& v : git->second.views) {
    if (v.sentinel == sentinel) return &v;
  }
  return nullptr;
}

model::GroupSnapshot Poller::AssembleGroup(const std::string& gname, GroupRecord& grec,
                                           CycleState& cs, model::SysTime now_sys,
                                           bool consume, const CycleState* also,
                                           const model::GroupSnapshot* fallback) {
  model::GroupSnapshot g;
  g.name = gname;
  const auto now = SteadyClock::now();
  g.views.reserve(cs.sentinels.size());
  for (auto& [saddr, st] : cs.sentinels) {
    auto vit = cs.views.find(saddr);
    if (vit != cs.views.end()) {
      auto it = vit->second.find(gname);
      if (it != vit->second.end()) {
        // An answer asked for before one already published (an event poll and a cycle
        // that end in the same turn): the latest snapshot has the newer one, and an event
        // only the older one lacks may have been pruned already.
        ViewTrack& track = tracks_[{saddr, gname}];
        const bool older = cs.asked < track.asked;
        const model::SentinelView* later = older ? LatestView(gname, saddr) : nullptr;
        if (older && later == nullptr) continue;  // the newer answer had none
        model::SentinelView v;
        if (later != nullptr) {
          v = *later;
        } else {
          track.asked = cs.asked;
          // Each (Sentinel, group) view belongs to this group alone: a full cycle moves it.
          v = consume ? std::move(it->second) : it->second;
          v.reachable = true;
          v.monitors = true;
          // What the Sentinel published since it was asked is what its answer may lack.
          track.overlay.Prune(cs.asked);
        }
        LayOver(&track.overlay, v, config_, now);
        g.views.push_back(std::move(v));
        continue;
      }
    }
    const auto& groups = sentinels_[saddr].groups;
    if (!st.up && std::find(groups.begin(), groups.end(), gname) != groups.end()) {
      model::SentinelView v;
      v.sentinel = saddr;
      v.reachable = false;
      auto t = tracks_.find({saddr, gname});
      LayOver(t != tracks_.end() ? &t->second.overlay : nullptr, v, config_, now);
      g.views.push_back(std::move(v));
    }
  }
  g.observed = AnyReachableVote(g);
  if (g.observed) {
    g.primary = MajorityPrimary(g);
    grec.last_success_at = now_sys;
    grec.last_primary = g.primary;
  } else {
    g.primary = grec.last_primary;  // last known
  }
  g.observed_at = now_sys;
  g.last_success_at = grec.last_success_at;
  g.nodes.reserve(grec.nodes.size());
  for (auto& [naddr, nrec] : grec.nodes) {
    model::NodeState n;
    if (auto it = cs.nodes.find(naddr); it != cs.nodes.end()) {
      CycleState::PolledNode& polled = it->second;
      if (polled.moved_to != nullptr) {
        n = *polled.moved_to;
      } else if (consume) {
        n = std::move(polled.state);
      } else {
        n = polled.state;
      }
    } else if (also != nullptr && also->nodes.count(naddr)) {
      n = also->nodes.at(naddr).state;  // the running cycle's answer
    } else if (const model::NodeState* last =
                   fallback != nullptr ? fallback->FindNode(naddr) : nullptr) {
      n = *last;  // not asked now: as last seen
    } else {
      continue;  // discovered in the last round: next cycle
    }
    n.announced = nrec.announced;
    n.sentinel_role = naddr == g.primary ? model::Role::kPrimary : model::Role::kReplica;
    g.nodes.push_back(std::move(n));  // within the reservation: no element moves
    if (consume) {
      auto it = cs.nodes.find(naddr);
      if (it != cs.nodes.end() && it->second.moved_to == nullptr)
        it->second.moved_to = &g.nodes.back();
    }
  }
  grec.history.set_options(HistoryOptionsFromConfig());
  grec.history.Update(g, now_sys);
  g.history = grec.history.Summary();
  g.assessment = assess::Assess(g, AssessOptionsFromConfig());
  assess::HoldImminent(g.assessment, grec.imminent, now_sys, config_.imminent_hold);
  return g;
}

model::SnapshotPtr Poller::FinishCycle() {
  std::unique_ptr<ActiveCycle> ac = std::move(active_cycle_);
  CycleState& cs = ac->cs;
  auto snap = std::make_shared<model::Snapshot>();
  snap->cycle = ++cycle_;
  snap->taken_at = ac->now_sys;
  for (auto& [addr, st] : cs.sentinels) snap->sentinels.push_back(st);
  for (auto& [gname, grec] : groups_) {
    snap->groups.emplace(gname,
                         AssembleGroup(gname, grec, cs, ac->now_sys, true, nullptr, nullptr));
  }

  // Forget what no Sentinel has listed for a long time.
  const auto now = SteadyClock::now();
  std::set<redis::Endpoint> keep;
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto& grec = it->second;
    for (auto nit = grec.nodes.begin(); nit != grec.nodes.end();) {
      if (now - nit->second.last_listed > kRetention) {
        grec.history.Forget(nit->first);
        nit = grec.nodes.erase(nit);
      } else {
        keep.insert(nit->second.endpoint);
        ++nit;
      }
    }
    if (now - grec.last_listed > kRetention) {
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = sentinels_.begin(); it != sentinels_.end();) {
    if (!it->second.seed && now - it->second.last_listed > kRetention) {
      it = sentinels_.erase(it);
    } else {
      keep.insert(it->second.endpoint);
      ++it;
    }
  }
  pool_.Retain(keep);
  std::erase_if(tracks_, [&](const auto& entry) {
    return !sentinels_.count(entry.first.first) || !groups_.count(entry.first.second);
  });
  if (events_started_) {
    std::vector<EventSubscriber::Target> targets;
    for (const auto& [addr, rec] : sentinels_) {
      targets.push_back({rec.endpoint,
                         config_.SentinelCredentials(rec.groups.empty() ? "" : rec.groups.front())});
    }
    events_->SetSentinels(std::move(targets));
  }

  const auto elapsed = SteadyClock::now() - ac->start;
  ++stats_.cycles;
  stats_.poll_duration.Observe(std::chrono::duration<double>(elapsed).count());
  stats_.bytes_sent = pool_.bytes_sent();
  stats_.bytes_received = pool_.bytes_received();
  stats_.open_connections = pool_.size();
  for (const char* kind : {"sentinel", "node"}) {
    for (const char* reason : {"connect", "timeout", "auth", "protocol", "reply"}) {
      stats_.poll_errors.try_emplace({kind, reason}, 0);
    }
  }
  snap->cycle_duration = elapsed;
  events_->Fill(*snap);
  snap->stats = stats_;
  Publish(snap);
  return snap;
}

bool Poller::StartEventPoll(const std::set<std::string>& groups) {
  auto ev = std::make_unique<ActiveEvent>();
  ev->groups = groups;
  ev->began = SteadyClock::now();
  ev->cs.asked = ev->began;
  ev->previous = Latest();
  const uint64_t refresh_cycles = ConfigRefreshCycles();
  std::vector<redis::Request> requests;
  std::vector<Plan> plans;
  // The groups' Sentinels (a Sentinel first seen now waits for the next full cycle), except
  // one that is down in the latest snapshot: it stays as that snapshot has it (a hung one
  // would hold the event poll for a whole --poll.timeout).
  for (auto& [addr, rec] : sentinels_) {
    const model::SentinelState* seen = nullptr;
    for (const auto& st : ev->previous->sentinels) {
      if (st.address == addr) seen = &st;
    }
    if (seen != nullptr && !seen->up) {
      if (std::any_of(rec.groups.begin(), rec.groups.end(),
                      [&](const std::string& g) { return groups.count(g) > 0; })) {
        ev->cs.sentinels[addr] = *seen;
      }
      continue;
    }
    Plan p{Plan::kSentinelGroups, addr, {}, false, false};
    redis::Request r{rec.endpoint,
                     config_.SentinelCredentials(rec.groups.empty() ? "" : rec.groups.front()), {}};
    for (const auto& g : rec.groups) {
      if (!groups.count(g) || !config_.WatchesGroup(g)) continue;
      p.groups.push_back(g);
      r.commands.push_back({"SENTINEL", "MASTER", g});
      AddSentinelGroupCommands(g, r.commands);
    }
    if (r.commands.empty()) continue;
    requests.push_back(std::move(r));
    plans.push_back(std::move(p));
  }
  // Their data nodes that are up and not being asked already: a node that is down (a hung
  // one costs a whole --poll.timeout) or still answering the cycle is left to the cycle.
  std::set<std::string> planned_nodes;
  for (const auto& gname : groups) {
    auto git = groups_.find(gname);
    if (git == groups_.end()) continue;
    const model::GroupSnapshot* last = nullptr;
    if (auto it = ev->previous->groups.find(gname); it != ev->previous->groups.end()) {
      last = &it->second;
    }
    for (auto& [addr, nrec] : git->second.nodes) {
      if (!planned_nodes.insert(addr).second || pool_.Busy(nrec.endpoint)) continue;
      const model::NodeState* seen = last != nullptr ? last->FindNode(addr) : nullptr;
      if (seen != nullptr && !seen->up && !rewatch_.count(addr)) continue;
      PlanNode(gname, addr, nrec, refresh_cycles, requests, plans);
    }
  }
  if (requests.empty()) return false;
  ev->plans = std::move(plans);
  ev->remaining = requests.size();
  active_event_ = std::move(ev);
  const auto deadline = SteadyClock::now() + config_.poll_timeout;
  for (size_t i = 0; i < requests.size(); ++i) {
    pool_.Submit(std::move(requests[i]), deadline, [this, i](redis::Response&& resp) {
      ActiveEvent& e = *active_event_;
      const Plan& p = e.plans[i];
      e.served = std::max(e.served, resp.round_trip);
      if (p.kind == Plan::kNode) Rewatch(p.address, resp.status);
      Handle(p, std::move(resp), e.cs, e.previous.get());
      if (active_cycle_) ReplaceOlder(p, e.cs, active_cycle_->cs);
      if (--e.remaining == 0) pool_.Interrupt();
    });
  }
  return true;
}

void Poller::ReplaceOlder(const Plan& p, const CycleState& newer, CycleState& cycle) {
  if (p.kind == Plan::kNode) {
    // Not in `newer` when the node refused INFO sections: the cycle keeps its own answer.
    auto from = newer.nodes.find(p.address);
    auto to = cycle.nodes.find(p.address);
    if (from != newer.nodes.end() && to != cycle.nodes.end() && to->second.moved_to == nullptr) {
      to->second.state = from->second.state;
    }
    return;
  }
  // A Sentinel: only when both answered (the cycle's views of its other groups stay).
  auto mine = newer.sentinels.find(p.address);
  auto theirs = cycle.sentinels.find(p.address);
  if (mine == newer.sentinels.end() || !mine->second.up || theirs == cycle.sentinels.end() ||
      !theirs->second.up) {
    return;
  }
  auto views = newer.views.find(p.address);
  if (views == newer.views.end()) return;
  for (const auto& g : p.groups) {
    if (auto v = views->second.find(g); v != views->second.end()) {
      cycle.views[p.address][g] = v->second;
    }
  }
}

void Poller::ApplyEvents(std::vector<EventSubscriber::Notice> notices) {
  std::set<std::string> touched;
  for (const auto& n : notices) {
    // Only groups being watched, by Sentinels being polled: the map stays bounded.
    if (!groups_.count(n.event.group) || !sentinels_.count(n.sentinel)) continue;
    if (tracks_[{n.sentinel, n.event.group}].overlay.Record(n.event, n.received)) {
      touched.insert(n.event.group);
    }
  }
  if (touched.empty()) return;
  model::SnapshotPtr latest = Latest();
  std::shared_ptr<model::Snapshot> snap;
  const auto now_sys = std::chrono::system_clock::now();
  const auto now = SteadyClock::now();
  for (const auto& gname : touched) {
    auto last = latest->groups.find(gname);
    if (last == latest->groups.end()) continue;
    model::GroupSnapshot g = last->second;  // the group as last published
    bool changed = false;
    for (auto& v : g.views) {
      auto t = tracks_.find({v.sentinel, gname});
      changed |= LayOver(t != tracks_.end() ? &t->second.overlay : nullptr, v, config_, now);
    }
    if (!changed) continue;
    GroupRecord& grec = groups_[gname];
    if (g.observed) {
      g.primary = MajorityPrimary(g);
      grec.last_primary = g.primary;
    }
    for (auto& n : g.nodes) {
      n.sentinel_role = n.address == g.primary ? model::Role::kPrimary : model::Role::kReplica;
    }
    // The data nodes are as an earlier poll saw them: only a change of primary is history.
    grec.history.NotePrimary(g, now_sys);
    g.history = grec.history.Summary();
    g.assessment = assess::Assess(g, AssessOptionsFromConfig());
    assess::HoldImminent(g.assessment, grec.imminent, now_sys, config_.imminent_hold);
    if (!snap) snap = std::make_shared<model::Snapshot>(*latest);
    snap->groups.insert_or_assign(gname, std::move(g));
    ++stats_.events_applied;
    log::Debug("sentinel events laid over a snapshot", {{"group", gname}});
  }
  if (!snap) return;
  events_->Fill(*snap);
  snap->stats = stats_;
  Publish(snap);
}

void Poller::FinishEventPoll() {
  ActiveEvent& ev = *active_event_;
  CycleState& cs = ev.cs;
  if (cs.sentinels.empty() && cs.nodes.empty()) return;  // nothing in scope
  // Nodes the Sentinels list now (after a failover) are polled from the next cycle on.
  LearnTopology(cs);
  // Everything else as the latest snapshot has it now (a cycle may have ended meanwhile).
  model::SnapshotPtr latest = Latest();
  auto snap = std::make_shared<model::Snapshot>();
  snap->cycle = latest->cycle;
  snap->taken_at = latest->taken_at;
  snap->cycle_duration = latest->cycle_duration;
  for (const auto& st : latest->sentinels) {
    auto it = cs.sentinels.find(st.address);
    snap->sentinels.push_back(it == cs.sentinels.end() ? st : it->second);
  }
  const auto now_sys = std::chrono::system_clock::now();
  for (auto& [gname, grec] : groups_) {
    auto last = latest->groups.find(gname);
    if (!ev.groups.count(gname)) {
      if (last != latest->groups.end()) snap->groups.emplace(gname, last->second);
      continue;
    }
    snap->groups.emplace(
        gname,
        AssembleGroup(gname, grec, cs, now_sys, false, active_cycle_ ? &active_cycle_->cs : nullptr,
                      last != latest->groups.end() ? &last->second : nullptr));
  }
  ++stats_.event_polls;
  const auto ms = [](auto d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0);
  };
  const auto now = SteadyClock::now();
  log::Debug("event poll published",
             {{"groups", std::to_string(ev.groups.size())},
              {"first", *ev.groups.begin()},
              {"waited_ms", ms(ev.began - ev.first_event)},
              {"took_ms", ms(now - ev.began)},
              {"longest_answer_ms", ms(ev.served)}});
  stats_.bytes_sent = pool_.bytes_sent();
  stats_.bytes_received = pool_.bytes_received();
  events_->Fill(*snap);
  snap->stats = stats_;
  Publish(snap);
}

}  // namespace redis_ha::poll
