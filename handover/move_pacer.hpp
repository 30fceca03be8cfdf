// How the old process of a binary upgrade paces the move: each io thread is asked for a batch of
// sessions at a time, and for the next once half of its batch has been taken, so that a session
// pauses for about one batch rather than for the whole move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgate::handover {

class MovePacer {
 public:
  MovePacer(std::size_t threads, std::size_t batch) : batch_(batch), threads_(threads) {}

  std::size_t batch() const { return batch_; }
  // Whether thread `t` is to be asked now: no question to it is open, it may have sessions left,
  // and at most half a batch of what it was asked for is still to be taken.
  bool should_ask(std::size_t t) const;
  void asked(std::size_t t) { threads_[t].asking = true; }
  // Its answer: `moving` sessions were asked to move; `more` when some were not asked yet.
  void answered(std::size_t t, std::size_t moving, bool more);
  // One of its sessions was taken (or taken back). Often before the answer that counted it is
  // back: the count may go below zero meanwhile.
  void moved(std::size_t t) { --threads_[t].outstanding; }
  std::int64_t outstanding() const;

 private:
  struct Thread {
    std::int64_t outstanding = 0;
    bool asking = false;
    bool more = true;
  };
  std::size_t batch_;
  std::vector<Thread> threads_;
};

}  // namespace wsgate::handover
