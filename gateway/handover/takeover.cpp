#include "gateway/handover/takeover.hpp"

#include "gateway/handover/session_adoption.hpp"
#include "gateway/log.hpp"
#include "gateway/service_notify.hpp"

#include <boost/asio/post.hpp>

#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace wsgate::gateway {
namespace asio = boost::asio;

namespace {
// How long the old process may take to send its listening sockets.
constexpr auto kListenersTimeout = std::chrono::seconds(10);
}  // namespace

Takeover::Takeover(asio::io_context& control, int fd)
    : control_(control), channel_(std::make_unique<HandoverChannel>(control, fd)) {
  // Fault injection for the tests: exit on receiving this session (1 = the first), before adopting it.
  if (const char* v = std::getenv("WSGATE_HANDOVER_TEST_EXIT_AT_SESSION")) exit_at_session_ = std::strtoull(v, nullptr, 10);
}

Takeover::~Takeover() {
  *alive_ = false;
  for (auto& [name, fds] : listeners_)
    for (int fd : fds) ::close(fd);
  if (admin_ >= 0) ::close(admin_);
  if (pending_client_ >= 0) ::close(pending_client_);
  if (pending_backend_ >= 0) ::close(pending_backend_);
}

bool Takeover::receive_listeners(std::string& error) {
  started_ = std::chrono::steady_clock::now();
  if (!channel_->send_now({handover::Kind::hello, static_cast<std::uint64_t>(::getpid()), {}}, {}, error)) return false;
  auto got = channel_->receive_now(std::chrono::duration_cast<std::chrono::milliseconds>(kListenersTimeout), error);
  if (!got) return false;
  auto& [m, fds] = *got;
  if (m.kind != handover::Kind::listeners) {
    error = "the old process did not send its listeners";
    return false;
  }
  std::istringstream lines(m.body);
  std::string line;
  std::size_t i = 0;
  while (std::getline(lines, line)) {
    const auto space = line.find(' ');
    const std::string kind = line.substr(0, space);
    const std::string name = space == std::string::npos ? "" : line.substr(space + 1);
    const int fd = fds.take(i++);
    if (fd < 0) {
      error = "fewer listening sockets than listeners named";
      return false;
    }
    if (kind == "admin") admin_ = fd;
    else listeners_[name].push_back(fd);
  }
  return true;
}

std::vector<int> Takeover::take_listener(const std::string& name) {
  auto it = listeners_.find(name);
  if (it == listeners_.end()) return {};
  auto fds = std::move(it->second);
  listeners_.erase(it);
  return fds;
}

int Takeover::take_admin() {
  const int fd = admin_;
  admin_ = -1;
  return fd;
}

void Takeover::start(std::vector<Worker> workers, std::function<std::shared_ptr<const Runtime>()> runtime,
                     HandoverHistory* history) {
  workers_ = std::move(workers);
  runtime_ = std::move(runtime);
  history_ = history;
  // Listeners of the old process this configuration no longer has: they close with the old process.
  for (auto& [name, fds] : listeners_)
    for (int fd : fds) ::close(fd);
  listeners_.clear();
  if (admin_ >= 0) ::close(admin_);
  admin_ = -1;
  channel_->start([this](handover::Message m, ReceivedFds fds) { on_message(std::move(m), std::move(fds)); },
                  [this](const std::string& why) { finish(why); });
  channel_->send({handover::Kind::accepting, 0, {}});
}

void Takeover::on_message(handover::Message m, ReceivedFds fds) {
  using handover::Kind;
  if (m.kind == Kind::done) return finish("");
  if (m.kind != Kind::session && m.kind != Kind::more) return finish("unexpected message from the old process");
  if (m.kind == Kind::session) {
    if (++sessions_seen_ == exit_at_session_) {
      log::warn("handover_test_exit", {{"session", sessions_seen_}});
      std::_Exit(70);
    }
    if (pending_client_ >= 0) ::close(pending_client_);
    if (pending_backend_ >= 0) ::close(pending_backend_);
    pending_client_ = fds.take(0);
    pending_backend_ = fds.take(1);
  }
  std::string error;
  switch (assembler_.add(m, error)) {
    case handover::RecordAssembler::Step::incomplete: return;
    case handover::RecordAssembler::Step::broken: return finish(error);
    case handover::RecordAssembler::Step::complete: break;
  }
  const int client = std::exchange(pending_client_, -1);
  const int backend = std::exchange(pending_backend_, -1);
  if (client < 0 || backend < 0) {
    if (client >= 0) ::close(client);
    if (backend >= 0) ::close(backend);
    ++refused_;
    ++history_->refused;
    channel_->send({Kind::refused, assembler_.id(), "the session's sockets did not come"});
    return;
  }
  adopt(assembler_.id(), std::move(assembler_.record()), client, backend);
}

// Round robin over the io threads: handed-over sessions spread evenly whatever thread they had.
void Takeover::adopt(std::uint64_t id, std::string record, int client_fd, int backend_fd) {
  const Worker w = workers_[next_worker_++ % workers_.size()];
  // On the io thread nothing of this object is touched: it may be gone by the time this runs.
  asio::post(*w.io, [this, alive = alive_, w, id, record = std::move(record), client_fd, backend_fd,
                     runtime = runtime_(), control = &control_] {
    auto a = std::make_shared<Adoption>(adopt_session(record, client_fd, backend_fd, runtime, *w.registry, *w.io));
    asio::post(*control, [this, alive, w, id, a] {
      if (!*alive || !channel_ || !channel_->open()) return;  // the old process is gone: so is the session
      if (!a->error.empty()) {
        ++refused_;
        ++history_->refused;
        log::warn("handover_session_refused", {{"previous", a->id}, {"error", a->error}});
        channel_->send({handover::Kind::refused, id, a->error});
        return;
      }
      ++(a->closed ? closed_ : adopted_);
      ++(a->closed ? history_->closed : history_->adopted);
      // Told first, relayed after: until the old process has the answer, it may take the session back.
      channel_->send({handover::Kind::adopted, id, {}}, {}, [w, a] { asio::post(*w.io, [a] { a->go(); }); });
    });
  });
}

void Takeover::finish(const std::string& why) {
  if (!channel_ || !channel_->open()) return;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  if (why.empty()) {
    // The old process is about to end: the service manager follows this process from now on.
    notify_service_manager("MAINPID=" + std::to_string(::getpid()) + "\nREADY=1");
    log::info("handover_completed", {{"adopted", adopted_}, {"closed", closed_}, {"refused", refused_},
                                     {"duration_ms", took.count()}});
  } else {
    log::warn("handover_interrupted", {{"error", why}, {"adopted", adopted_}, {"closed", closed_}, {"refused", refused_}});
  }
  channel_->close();
}

}  // namespace wsgate::gateway
