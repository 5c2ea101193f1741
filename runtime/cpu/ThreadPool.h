// A fixed pool of worker threads that split a range of independent tasks.
// The calling thread takes part, so a pool of one thread runs everything
// inline. Work is split into contiguous, equal shares, so a given thread
// count always assigns the same tasks to the same share (deterministic).
#ifndef QCC_RUNTIME_CPU_THREADPOOL_H
#define QCC_RUNTIME_CPU_THREADPOOL_H

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace qcc::rt {

class ThreadPool {
public:
  /// `threads` counts the caller too; 0 means one per online CPU.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int threads() const { return static_cast<int>(workers.size()) + 1; }

  /// Calls fn(begin, end) over disjoint sub-ranges covering [0, tasks) and
  /// returns when all calls have returned. Calls from several threads at once
  /// are serialized. `fn` must not throw.
  template <typename Fn> void parallelFor(int64_t tasks, Fn &&fn) {
    using Callable = std::remove_reference_t<Fn>;
    run(
        tasks,
        [](void *context, int64_t begin, int64_t end) {
          (*static_cast<Callable *>(context))(begin, end);
        },
        const_cast<void *>(static_cast<const void *>(&fn)));
  }

  static int onlineCpus();

private:
  using Body = void (*)(void *, int64_t, int64_t);
  void run(int64_t tasks, Body body, void *context);
  void workerLoop(int index);
  void runShare(int share, int shares);

  std::vector<std::thread> workers;
  std::mutex callMutex; // one parallelFor at a time
  std::mutex stateMutex;
  std::condition_variable wake, done;
  uint64_t generation = 0;
  int pending = 0;
  bool stopping = false;
  Body body = nullptr;
  void *context = nullptr;
  int64_t taskCount = 0;
  int activeShares = 0;
};

/// Splits `tasks` into `shares` contiguous parts; returns share `index`.
inline void shareRange(int64_t tasks, int shares, int index, int64_t &begin,
                       int64_t &end) {
  int64_t base = tasks / shares, extra = tasks % shares;
  begin = index * base + (index < extra ? index : extra);
  end = begin + base + (index < extra ? 1 : 0);
}

/// Calls fn(begin, end) over disjoint ranges covering [0, n) in blocks of
/// `block` (the last may be shorter), on `pool` or, when it is null, on the
/// calling thread.
template <typename Fn>
void forBlocks(ThreadPool *pool, int64_t n, int64_t block, Fn &&fn) {
  const int64_t blocks = (n + block - 1) / block;
  auto body = [&](int64_t begin, int64_t end) {
    fn(begin * block, end * block < n ? end * block : n);
  };
  if (pool)
    pool->parallelFor(blocks, body);
  else
    body(0, blocks);
}

} // namespace qcc::rt

#endif
