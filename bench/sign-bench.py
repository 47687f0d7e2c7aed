#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""cvm-cli sign against the kernel's scripts/sign-file.

Same key (RSA 4096, sha256) and same input, on a 1 MB and a 50 MB module,
side by side in one run: each round runs both tools once, in random order,
pinned to one CPU (the same one for both), and the outputs must be
identical. Prints the median wall time, the median CPU time (user + system
of the child) and the ratio cvm-cli / sign-file of each (target: <= 1.00).

    bench/sign-bench.py [--runs N] [--runs-50mb N] [--json FILE]

Environment: CVM_CLI (default build/cmake/bin/cvm-cli), LPGUARD_SIGN_FILE
(default build/tools/sign-file, built by the Makefile from the unpacked
linux-source's scripts/sign-file.c when missing).
"""
import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(TOP, "tests/unit/data/x86_pkg_temp_thermal.ko")


def die(msg):
    sys.exit(f"sign-bench: {msg}")


def sign_file():
    sf = os.environ.get("LPGUARD_SIGN_FILE")
    if sf:
        if not os.access(sf, os.X_OK):
            die(f"LPGUARD_SIGN_FILE={sf} is not an executable")
        return sf
    # The Makefile's rule compiles it from the unpacked linux-source.
    subprocess.run(["make", "-C", TOP, "--no-print-directory", "-s", os.path.join(TOP, "build/tools/sign-file")],
                   check=True)
    return os.path.join(TOP, "build/tools/sign-file")


def make_module(path, mb):
    # A real module followed by random bytes up to the size: the ELF
    # section table stays valid and both tools hash every byte.
    shutil.copyfile(SEED, path)
    with open(path, "ab") as f:
        f.write(os.urandom(mb * 1024 * 1024 - os.path.getsize(SEED)))


def timed(cmd):
    """(wall ms, CPU ms) of one run of cmd."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter_ns()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    t1 = time.perf_counter_ns()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return (t1 - t0) / 1e6, cpu * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="rounds on the 1 MB module (default 200)")
    ap.add_argument("--runs-50mb", type=int, default=30, help="rounds on the 50 MB module (default 30)")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    cvm = os.environ.get("CVM_CLI", os.path.join(TOP, "build/cmake/bin/cvm-cli"))
    if not os.access(cvm, os.X_OK):
        die(f"{cvm} missing (run make build)")
    # One CPU for both tools: no migrations, and the other core keeps the
    # rest of the machine's work off the measured one.
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})

    work = tempfile.mkdtemp(prefix="sign-bench.")
    try:
        sf = sign_file()
        subprocess.run([cvm, "generate-livepatch-keys", "--out", f"{work}/keys", "--subject", "sign bench"],
                       stdout=subprocess.DEVNULL, check=True)
        key, crt = f"{work}/keys/livepatch.key", f"{work}/keys/livepatch.crt"
        results = []
        print(f"{'size':8s} {'sign-file_ms':>13s} {'cvm-cli_ms':>11s} {'ratio':>6s} "
              f"{'sign-file_cpu':>14s} {'cvm-cli_cpu':>12s} {'ratio':>6s}   (median of N, CPU {cpu})")
        for mb, runs in ((1, args.runs), (50, args.runs_50mb)):
            src = f"{work}/in-{mb}.ko"
            make_module(src, mb)
            cmds = {
                "sign-file": [sf, "sha256", key, crt, src, f"{work}/sf.ko"],
                "cvm-cli": [cvm, "sign", "--key", key, "--cert", crt, "-o", f"{work}/cvm.ko", src],
            }
            wall = {k: [] for k in cmds}
            cpu_ms = {k: [] for k in cmds}
            for _ in range(runs):
                order = list(cmds)
                random.shuffle(order)
                for k in order:
                    w, c = timed(cmds[k])
                    wall[k].append(w)
                    cpu_ms[k].append(c)
            with open(f"{work}/sf.ko", "rb") as a, open(f"{work}/cvm.ko", "rb") as b:
                if a.read() != b.read():
                    die(f"outputs differ at {mb} MB")
            m = {k: (statistics.median(wall[k]), statistics.median(cpu_ms[k])) for k in cmds}
            r = {"size_mb": mb, "runs": runs,
                 "sign_file_ms": m["sign-file"][0], "cvm_cli_ms": m["cvm-cli"][0],
                 "ratio": m["cvm-cli"][0] / m["sign-file"][0],
                 "sign_file_cpu_ms": m["sign-file"][1], "cvm_cli_cpu_ms": m["cvm-cli"][1],
                 "cpu_ratio": m["cvm-cli"][1] / m["sign-file"][1]}
            results.append(r)
            print(f"{str(mb) + ' MB':8s} {r['sign_file_ms']:13.2f} {r['cvm_cli_ms']:11.2f} {r['ratio']:6.3f} "
                  f"{r['sign_file_cpu_ms']:14.2f} {r['cvm_cli_cpu_ms']:12.2f} {r['cpu_ratio']:6.3f}   (N={runs})")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
