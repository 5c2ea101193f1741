// Worker threads sleep on a condition variable between parallelFor calls;
// each call wakes them with a new generation number.
#include "runtime/cpu/ThreadPool.h"

#include <algorithm>

namespace qcc::rt {

int ThreadPool::onlineCpus() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0)
    threads = onlineCpus();
  for (int i = 1; i < threads; ++i)
    workers.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(stateMutex);
    stopping = true;
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
}

void ThreadPool::runShare(int share, int shares) {
  int64_t begin, end;
  shareRange(taskCount, shares, share, begin, end);
  if (begin < end)
    body(context, begin, end);
}

void ThreadPool::workerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    int shares;
    {
      std::unique_lock<std::mutex> lock(stateMutex);
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
      shares = activeShares;
    }
    if (index < shares)
      runShare(index, shares);
    std::lock_guard<std::mutex> lock(stateMutex);
    if (--pending == 0)
      done.notify_one();
  }
}

void ThreadPool::run(int64_t tasks, Body fn, void *ctx) {
  if (tasks <= 0)
    return;
  std::lock_guard<std::mutex> call(callMutex);
  int shares = static_cast<int>(std::min<int64_t>(threads(), tasks));
  if (shares == 1) {
    fn(ctx, 0, tasks);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(stateMutex);
    body = fn;
    context = ctx;
    taskCount = tasks;
    activeShares = shares;
    pending = static_cast<int>(workers.size());
    ++generation;
  }
  wake.notify_all();
  runShare(0, shares);
  std::unique_lock<std::mutex> lock(stateMutex);
  done.wait(lock, [&] { return pending == 0; });
}

} // namespace qcc::rt
