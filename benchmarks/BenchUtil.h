// Shared helpers of the benchmark programs: timing by repetition with the
// median taken, running a probe on several threads at once, and tables.
#ifndef QCC_BENCHMARKS_BENCHUTIL_H
#define QCC_BENCHMARKS_BENCHUTIL_H

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace qcc::bench {

inline double seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Median seconds per call of `fn` over at least `minReps` calls and at
/// least `minSeconds`, after `warmup` untimed calls.
inline double medianSeconds(const std::function<void()> &fn, int warmup = 2,
                            int minReps = 5, double minSeconds = 0.5) {
  for (int i = 0; i < warmup; ++i)
    fn();
  std::vector<double> times;
  double start = seconds();
  while (static_cast<int>(times.size()) < minReps ||
         seconds() - start < minSeconds) {
    double t = seconds();
    fn();
    times.push_back(seconds() - t);
    if (times.size() > 10000)
      break;
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Runs probe(threadIndex) on `threads` threads at once and returns the sum
/// of what they return (each probe measures its own rate).
inline double onThreads(int threads, const std::function<double(int)> &probe) {
  std::vector<double> rates(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] { rates[t] = probe(t); });
  rates[0] = probe(0);
  for (auto &th : pool)
    th.join();
  double total = 0;
  for (double r : rates)
    total += r;
  return total;
}

/// Prints "program: error" and exits when `error` is not empty (a kernel
/// refused its arguments; the benchmark cannot go on).
void exitOnError(const std::string &error, const char *program);

/// Threads to measure: 1 and 2 unless QCC_BENCH_THREADS lists others
/// ("1,2,4").
std::vector<int> threadCounts();

} // namespace qcc::bench

#endif
