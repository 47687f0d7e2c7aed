#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""lpguard benchmark, one boot of the test kernel (lpguard built in):

1. overhead on an ordinary module load: N x finit_module of lpg_plain.build.ko
   (timed in the guest around the system call) against the time lpguard itself
   spent on each of those loads (check_ns in /sys/kernel/security/lpguard/log,
   measured in the kernel around the whole check: parse, signer lookup,
   SHA-256 of the image). Overhead = check / (load - check): lpguard's time
   relative to the rest of the same load. Target < 2 %.
2. verify cost of a 1 MB livepatch: check_ns of lpg_big (1 MB, signed with the
   livepatch key: parse, signer lookup, PKCS#7 verification against
   .livepatch, SHA-256 of the image). Target < 5 ms.
   Under TCG (no KVM) the guest runs many times slower than the host; the
   same static calibration workload (plain C SHA-256 of 1 MiB) is timed on the host and in the guest in
   this run, and the livepatch figure is also given divided by that slowdown
   (an estimate of the time on the host CPU; the target is judged on it when
   the accelerator is tcg). The ordinary-module overhead is a ratio of two
   guest times and needs no correction.

    bench/lpguard-bench.py [--loads N] [--json FILE]

Needs `make test-artifacts` (kernel, payload, initramfs, ssh keys).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
import conftest  # noqa: E402

KOUT = os.path.join(conftest.BUILD, f"kernel-{conftest.KVER}")
KEYS = os.path.join(conftest.BUILD, "test", "keys")
WORK = os.path.join(conftest.BUILD, "bench", "lpguard")
LOG = "/sys/kernel/security/lpguard/log"


def build_host_side():
    os.makedirs(WORK, exist_ok=True)
    mods = os.path.join(WORK, "modules")
    shutil.rmtree(mods, ignore_errors=True)
    shutil.copytree(os.path.join(TOP, "bench", "lpguard-modules"), mods)
    subprocess.run(["make", "-s", "-C", KOUT, f"M={mods}", "modules"], check=True, stdout=subprocess.DEVNULL)
    big = os.path.join(WORK, "lpg_big.lp.ko")
    shutil.copy(os.path.join(mods, "lpg_big.ko"), big)
    subprocess.run([os.path.join(KOUT, "scripts", "sign-file"), "sha256", os.path.join(KEYS, "livepatch.key"),
                    os.path.join(KEYS, "livepatch.der"), big], check=True)
    loadbench = os.path.join(WORK, "lpguard-loadbench")
    subprocess.run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", loadbench,
                    os.path.join(TOP, "bench", "lpguard-loadbench.c")], check=True)
    return big, loadbench


def check_ns(vm, pattern, count):
    lines = vm.run(f"cat {LOG}", check=True).out.splitlines()
    vals = [int(re.search(r" check_ns=(\d+) ", ln).group(1)) for ln in lines if pattern in ln]
    if len(vals) < count:
        raise SystemExit(f"lpguard log has {len(vals)} entries for {pattern!r}, expected {count}")
    return vals[-count:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=40, help="ordinary module loads (<= 60, the log keeps 64)")
    ap.add_argument("--big-loads", type=int, default=5, help="loads of the 1 MB livepatch")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    big, loadbench = build_host_side()

    with conftest.make_vm(name="bench") as vm:
        vm.copy_in(big, "/tmp/lpg_big.lp.ko")
        vm.copy_in(loadbench, "/tmp/lpguard-loadbench")
        vm.run("chmod 755 /tmp/lpguard-loadbench", check=True)

        # Warm-up load (page cache, first-time allocations), not counted.
        vm.run("/tmp/lpguard-loadbench /opt/lpguard-tests/lpg_plain.build.ko lpg_plain 1", check=True)
        r = vm.run(f"/tmp/lpguard-loadbench /opt/lpguard-tests/lpg_plain.build.ko lpg_plain {args.loads}",
                   timeout=600, check=True)
        load_ns = [int(x) for x in r.out.split()]
        plain_ns = check_ns(vm, ' module allowed obj="lpg_plain" ', args.loads)

        for _ in range(args.big_loads):
            r = vm.run("modload --finit /tmp/lpg_big.lp.ko")
            if r.rc != 1:  # allowed at load, then refused at klp_enable_patch (non-replace): EPERM
                raise SystemExit(f"unexpected result loading lpg_big: {r}")
        big_ns = check_ns(vm, ' livepatch allowed obj="lpg_big" ', args.big_loads)
        big_size = int(vm.run("wc -c < /tmp/lpg_big.lp.ko", check=True).out)
        guest_cal = int(vm.run("/tmp/lpguard-loadbench --calibrate", timeout=600, check=True).out)
        plain_size = int(vm.run("wc -c < /opt/lpguard-tests/lpg_plain.build.ko", check=True).out)

    host_cal = int(subprocess.run([loadbench, "--calibrate"], capture_output=True, text=True, check=True).stdout)
    slowdown = guest_cal / host_cal
    load_med, check_med = statistics.median(load_ns), statistics.median(plain_ns)
    overhead = 100.0 * check_med / (load_med - check_med)
    big_ms = statistics.median(big_ns) / 1e6
    accel = conftest.accel()
    big_host_ms = big_ms / slowdown
    judged_ms = big_host_ms if accel == "tcg" else big_ms
    res = {
        "accel": accel,
        "guest_slowdown_vs_host": round(slowdown, 2),
        "ordinary_module_bytes": plain_size,
        "ordinary_load_median_ns": load_med,
        "ordinary_lpguard_median_ns": check_med,
        "ordinary_overhead_percent": round(overhead, 3),
        "livepatch_bytes": big_size,
        "livepatch_check_median_ms": round(big_ms, 3),
        "livepatch_check_all_ms": [round(v / 1e6, 3) for v in big_ns],
        "livepatch_check_host_estimate_ms": round(big_host_ms, 3),
    }
    print(f"accelerator: {accel}; calibration workload: guest {guest_cal / 1e6:.1f} ms, host {host_cal / 1e6:.1f} ms "
          f"-> guest slowdown x{slowdown:.1f}")
    print(f"ordinary module ({plain_size} bytes), {args.loads} loads: finit_module median {load_med / 1e3:.1f} us, "
          f"lpguard median {check_med / 1e3:.1f} us -> overhead {overhead:.2f} % (target < 2 %)")
    print(f"livepatch ({big_size} bytes), {args.big_loads} loads: lpguard check median {big_ms:.2f} ms in the guest, "
          f"{big_host_ms:.2f} ms scaled to the host CPU (target < 5 ms, judged on the "
          f"{'host estimate' if accel == 'tcg' else 'guest figure'})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    ok = overhead < 2.0 and judged_ms < 5.0
    print("PASS" if ok else "FAIL: above target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
