#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `cvm-cli attest ssh` end to end on the QEMU test guest (its swtpm): boots
# the image kernel, creates the AK, applies A then B, then times N attest
# calls (ssh connection, the quote in the guest, verification here).
# Target: <= 3 s each (docs/cvm-cli.md, Performance). Under TCG (no KVM) the
# guest's TPM and ssh are slower; the figure says which accelerator ran.
#   bench/attest-bench.sh [N]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10}
cd "$top/tests/qemu"
/usr/bin/python3 - "$n" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, ".")
import conftest
n = int(sys.argv[1])
cvm = os.path.join(conftest.BUILD, "cmake", "bin", "cvm-cli")
with conftest.make_vm(name="attest-bench") as vm:
    vm.run("lp-load attest --create-ak", timeout=120, check=True)
    for m in ("lpg_replace_a.gen1.lp.ko", "lpg_replace_b.gen2.lp.ko"):
        vm.run(f"lp-load apply /opt/lpguard-tests/{m}", timeout=180, check=True)
    d = tempfile.mkdtemp()
    argv = [cvm, "attest", "ssh", vm.ssh_target(), "-i", os.path.join(vm.ssh_dir, "id_ed25519"),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "--pin-file", os.path.join(d, "pin.pem")]
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(n):
        t = time.monotonic()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.monotonic() - t)
    print(f"cvm-cli attest ssh ({conftest.accel()}): median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s over {n} calls")
PY
