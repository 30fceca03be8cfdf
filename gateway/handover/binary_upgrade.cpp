#include "gateway/handover/binary_upgrade.hpp"

#include "gateway/handover/session_adoption.hpp"
#include "gateway/log.hpp"

#include <boost/asio/post.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace wsgate::gateway {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// After `done`, how long the new process gets to tell the service manager it is the main process
// now (and close the socket) before this one ends anyway.
constexpr auto kGoodbye = std::chrono::seconds(5);

// Sessions a worker is asked to move at a time; the next batch is asked for when half are taken.
constexpr std::size_t kBatch = 64;

}  // namespace

BinaryUpgrade::BinaryUpgrade(Context context, ProcessImage image)
    : ctx_(std::move(context)), image_(std::move(image)), timer_(*ctx_.control), reap_timer_(*ctx_.control) {}

BinaryUpgrade::~BinaryUpgrade() { *alive_ = false; }

void BinaryUpgrade::start() {
  if (state_ != State::idle) {
    log::warn("handover_refused", {{"reason", "an upgrade is under way"}, {"pid", child_}});
    return;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    log::error("handover_failed", {{"error", std::string("socketpair: ") + std::strerror(errno)}});
    return;
  }
  const std::uint64_t generation = ctx_.history->generation + 1;
  std::string error;
  child_ = start_successor(image_, sv[1], generation, error);
  ::close(sv[1]);
  if (child_ < 0) {
    ::close(sv[0]);
    log::error("handover_failed", {{"error", error}});
    return;
  }
  channel_ = std::make_unique<HandoverChannel>(*ctx_.control, sv[0]);
  state_ = State::starting;
  started_ = Clock::now();
  deadline_ = started_ + ctx_.runtime()->config.handover.timeout;
  timed_out_ = false;
  next_report_ = {};
  handed_over_ = drained_ = kept_ = 0;
  log::info("handover_started", {{"pid", child_}, {"binary", image_.path}, {"generation", generation}});
  channel_->start([this](handover::Message m, ReceivedFds fds) { on_message(std::move(m), std::move(fds)); },
                  [this](const std::string& why) { on_closed(why); });
  check_progress();
}

void BinaryUpgrade::on_message(handover::Message m, ReceivedFds) {
  using handover::Kind;
  if (m.kind == Kind::hello && state_ == State::starting) return send_listeners();
  if (m.kind == Kind::accepting && state_ == State::listeners_sent) return move_sessions();
  if (m.kind == Kind::adopted || m.kind == Kind::refused) {
    auto it = in_flight_.find(m.id);
    if (it == in_flight_.end()) return fail("the new process answered for a session it was not sent");
    InFlight f = std::move(it->second);
    in_flight_.erase(it);
    if (m.kind == Kind::refused) {
      log::warn("handover_session_refused", {{"session", f.session.id}, {"error", m.body}});
      one_done(f.worker);
      return take_back(f.worker, std::move(f.session));
    }
    // The new process has both sockets: this process's copies go, without a word to the peers
    // (released from epoll when handed; a close of a socket another process holds sends nothing).
    ::close(f.session.client_fd);
    ::close(f.session.backend_fd);
    ++handed_over_;
    ++ctx_.history->handed_over;
    return one_done(f.worker);
  }
  fail("unexpected message from the new process");
}

void BinaryUpgrade::on_closed(const std::string& why) {
  if (state_ == State::finishing) {
    auto keep = std::move(channel_);
    asio::post(*ctx_.control, [keep = std::move(keep)] {});  // not destroyed inside its own callback
    report();
    return ctx_.exit();
  }
  fail("the new process ended: " + why);
}

void BinaryUpgrade::send_listeners() {
  // Every io thread's socket of every listener, then the admin listener's: the new process accepts
  // on the very sockets, so a connection in their queues is never refused.
  std::vector<int> fds;
  std::string body;
  for (const auto& w : ctx_.workers)
    for (const auto& [name, listener] : w.listeners) {
      fds.push_back(listener->native_handle());
      body += "listener " + name + "\n";
    }
  if (ctx_.admin) {
    fds.push_back(ctx_.admin->native_handle());
    body += "admin -\n";
  }
  state_ = State::listeners_sent;
  channel_->send({handover::Kind::listeners, 0, body}, fds);
}

void BinaryUpgrade::move_sessions() {
  state_ = State::moving;
  log::info("handover_moving", {{"pid", child_}, {"sessions", SessionRegistry::total()}});
  // The new process accepts on the same sockets now; this one stops (and starts again if it fails).
  if (ctx_.admin) ctx_.admin->pause();
  sinks_.clear();
  pacer_ = handover::MovePacer(ctx_.workers.size(), kBatch);
  for (std::size_t w = 0; w < ctx_.workers.size(); ++w) {
    auto alive = alive_;
    auto* control = ctx_.control;
    sinks_.push_back(std::make_shared<HandoverSink>([this, w, alive, control](HandedSession s) {
      asio::post(*control, [this, w, alive, s = std::move(s)]() mutable {
        if (*alive) on_handed(w, std::move(s));
      });
    }));
    const auto& worker = ctx_.workers[w];
    asio::post(*worker.io, [worker] {
      for (const auto& l : worker.listeners) l.second->pause();
    });
    ask(w);
  }
}

void BinaryUpgrade::ask(std::size_t w) {
  if (state_ != State::moving || !pacer_.should_ask(w)) return;
  pacer_.asked(w);
  const auto& worker = ctx_.workers[w];
  // On the io thread nothing of this object is touched: it may be gone by the time this runs.
  asio::post(*worker.io, [this, alive = alive_, w, worker, sink = sinks_[w], control = ctx_.control] {
    const auto start = worker.registry->hand_over(sink, kBatch);
    asio::post(*control, [this, alive, w, start] {
      if (!*alive) return;
      drained_ += start.draining;
      ctx_.history->drained += start.draining;
      pacer_.answered(w, start.moving, start.more);
      ask(w);
    });
  });
}

void BinaryUpgrade::one_done(std::size_t w) {
  if (state_ != State::moving) return;
  pacer_.moved(w);
  ask(w);
}

void BinaryUpgrade::on_handed(std::size_t worker, HandedSession s) {
  if (state_ != State::moving || !channel_ || !channel_->open()) return take_back(worker, std::move(s));
  const std::uint64_t id = ++next_id_;
  const auto pieces = handover::split_record(id, s.record, HandoverChannel::kMaxMessage);
  channel_->send(pieces.front(), {s.client_fd, s.backend_fd});
  for (std::size_t i = 1; i < pieces.size(); ++i) channel_->send(pieces[i]);
  in_flight_.emplace(id, InFlight{worker, std::move(s)});
}

// The new process failed or refused the session: it goes on here, from the record, as the new
// process would have taken it (nothing was read from its sockets meanwhile).
void BinaryUpgrade::take_back(std::size_t worker, HandedSession s) {
  ++kept_;
  ++ctx_.history->kept;
  const auto& w = ctx_.workers[worker];
  asio::post(*w.io, [w, runtime = ctx_.runtime(), s = std::move(s)] {
    auto a = adopt_session(s.record, s.client_fd, s.backend_fd, runtime, *w.registry, *w.io);
    if (!a.error.empty()) {
      log::error("handover_session_lost", {{"session", s.id}, {"error", a.error}});
      return;
    }
    a.go();
  });
}

void BinaryUpgrade::check_progress() {
  if (state_ == State::idle) return;
  const auto now = Clock::now();
  if ((state_ == State::starting || state_ == State::listeners_sent) && now >= deadline_) {
    if (child_ > 0) ::kill(child_, SIGTERM);  // it may accept already: it drains what it has
    return fail("the new process did not take the listeners within handover.timeout");
  }
  if (state_ == State::moving) {
    if (now >= next_report_) {
      // Every few seconds of a long move: what it waits for.
      if (next_report_ != Clock::time_point{}) {
        log::info("handover_waiting", {{"sessions_here", SessionRegistry::total()}, {"in_flight", in_flight_.size()},
                                       {"asked", pacer_.outstanding()}, {"handed_over", handed_over_}});
      }
      next_report_ = now + std::chrono::seconds(2);
    }
    if (SessionRegistry::total() == 0 && in_flight_.empty()) {
      state_ = State::finishing;
      deadline_ = now + kGoodbye;
      channel_->send({handover::Kind::done, 0, {}});
    } else if (!timed_out_ && now >= deadline_) {
      // Sessions that found no frame boundary in time (a message larger than the time allows)
      // and sessions that cannot move end as in a drain.
      timed_out_ = true;
      const std::size_t left = SessionRegistry::total();
      log::warn("handover_timeout", {{"sessions_left", left}});
      drained_ += left;
      ctx_.history->drained += left;
      for (const auto& w : ctx_.workers) asio::post(*w.io, [w] { w.registry->drain(); });
      drain_deadline_ = now + ctx_.runtime()->config.drain.timeout;
    } else if (timed_out_ && now >= drain_deadline_ && in_flight_.empty()) {
      log::warn("drain_timeout", {{"sessions_left", SessionRegistry::total()}});
      report();
      return ctx_.exit();
    }
  }
  if (state_ == State::finishing && now >= deadline_) {
    report();
    return ctx_.exit();
  }
  timer_.expires_after(std::chrono::milliseconds(50));
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive) check_progress();
  });
}

void BinaryUpgrade::fail(const std::string& why) {
  if (state_ == State::idle) return;
  const bool was_moving = state_ == State::moving || state_ == State::finishing;
  state_ = State::idle;
  timer_.cancel();
  if (channel_) {
    channel_->close();
    auto keep = std::move(channel_);
    asio::post(*ctx_.control, [keep = std::move(keep)] {});  // may be inside its own callback
  }
  if (was_moving) {
    // Accept here again and keep what did not move: first stop draining, so that the sessions
    // taken back are not sent away as they arrive.
    if (ctx_.admin) ctx_.admin->resume();
    for (const auto& w : ctx_.workers)
      asio::post(*w.io, [w] {
        w.registry->stop_draining();
        for (const auto& l : w.listeners) l.second->resume();
      });
    for (auto& [id, f] : in_flight_) take_back(f.worker, std::move(f.session));
    in_flight_.clear();
  }
  log::error("handover_failed", {{"error", why}, {"pid", child_}, {"handed_over", handed_over_},
                                 {"drained", drained_}, {"kept", kept_}, {"duration_ms", ms_since(started_)}});
  reap();
}

void BinaryUpgrade::reap() {
  if (child_ <= 0) return;
  int status = 0;
  const pid_t r = ::waitpid(child_, &status, WNOHANG);
  if (r == child_ || (r < 0 && errno == ECHILD)) {
    child_ = -1;
    return;
  }
  if (ms_since(started_) > 60'000) return;  // still running: it is the operator's to look at
  reap_timer_.expires_after(std::chrono::milliseconds(100));
  reap_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive && state_ == State::idle) reap();
  });
}

void BinaryUpgrade::report() {
  log::info("handover", {{"result", "completed"}, {"pid", child_}, {"handed_over", handed_over_},
                         {"drained", drained_}, {"kept", kept_}, {"duration_ms", ms_since(started_)}});
}

}  // namespace wsgate::gateway
