// SPDX-License-Identifier: GPL-2.0
// How soon after a livepatch transition ends does lp-load's apply return?
// lp-load's back-off (1 ms doubling to 20 ms) against kpatch's approach
// (read 'transition', sleep 1 s, repeat), on the same fake transitions:
// the fake kernel (tests/unit/fakesys) flips /sys/kernel/livepatch/<p>/transition
// to 0 after a given time and records when; the figure is the time from
// that flip until apply_patch() returns (wait, then cleanup and report).
//
//   bench/lpload-bench.sh [TRIALS]       (builds the lpload-bench target in build/cmake)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/guest/apply.hpp"

using namespace std::chrono_literals;
using lpguard::Clock;

static double run_one(const lpguard::Backoff &backoff, std::chrono::milliseconds transition, int i)
{
	fakesys::FakeTree t;
	for (int pid = 1; pid <= 50; pid++)
		t.add_task(pid, pid, "task" + std::to_string(pid), -1);
	fakesys::FakeKernel k(t);
	std::string name = "lp_bench_" + std::to_string(i);
	fakesys::PatchSpec spec;
	spec.transition = transition;
	k.on(name, spec);
	lpguard::ApplyRequest req;
	req.ko = "/bench/" + name + ".ko";
	req.name = name;
	req.wait.timeout = 30s;
	req.wait.backoff = backoff;
	auto r = lpguard::apply_patch(t.sys(), k, req);
	auto done = Clock::now();
	auto end = k.transition_end(name);
	if (r.kind != lpguard::Kind::ok || !end) {
		std::fprintf(stderr, "lpload-bench: apply failed: %s\n", r.message.c_str());
		std::exit(1);
	}
	return std::chrono::duration<double, std::milli>(done - *end).count();
}

struct Stats {
	double mean, median, p90, max;
};

static Stats stats(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	double sum = 0;
	for (double x : v)
		sum += x;
	return {sum / v.size(), v[v.size() / 2], v[(v.size() * 9) / 10], v.back()};
}

int main(int argc, char **argv)
{
	int trials = argc > 1 ? std::atoi(argv[1]) : 20;
	if (trials < 1)
		trials = 1;
	std::mt19937 rng(20261128);
	std::uniform_int_distribution<int> dist(20, 2500); // transition lengths, ms
	std::vector<std::chrono::milliseconds> lengths;
	for (int i = 0; i < trials; i++)
		lengths.emplace_back(dist(rng));

	const lpguard::Backoff lpload{};			     // 1 ms doubling to 20 ms
	const lpguard::Backoff kpatch = lpguard::Backoff::fixed(1s); // kpatch: sleep 1 s between reads
	std::vector<double> a, b;
	for (int i = 0; i < trials; i++) {
		a.push_back(run_one(lpload, lengths[i], 2 * i));
		b.push_back(run_one(kpatch, lengths[i], 2 * i + 1));
	}
	auto sa = stats(a), sb = stats(b);
	std::printf("lp-load apply: time from the transition's end to return, %d fake transitions of 20..2500 ms\n",
		    trials);
	std::printf("%-28s %9s %9s %9s %9s\n", "policy", "mean ms", "median", "p90", "max");
	std::printf("%-28s %9.2f %9.2f %9.2f %9.2f\n", "lp-load (1 ms x2 .. 20 ms)", sa.mean, sa.median, sa.p90, sa.max);
	std::printf("%-28s %9.2f %9.2f %9.2f %9.2f\n", "kpatch-style (1 s polling)", sb.mean, sb.median, sb.p90, sb.max);
	std::printf("ratio (kpatch / lp-load): mean %.1fx, median %.1fx\n", sb.mean / sa.mean, sb.median / sa.median);
	std::printf("target: lp-load exits within 50 ms of the transition's end: max %.2f ms -> %s\n", sa.max,
		    sa.max <= 50.0 ? "met" : "NOT met");
	return sa.max <= 50.0 ? 0 : 2;
}
