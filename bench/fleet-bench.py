#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""fleet-bench.py [--json FILE]: the rollout playbook's wall time on four Debian
guests with forks 4 against one guest alone, in one run, and the ssh connections
each guest's sshd accepted per rollout (its journal). Figures, not pass/fail
(docs/fleet.md, Performance). Run from tests/qemu (make bench-fleet)."""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "qemu"))
import fleet as fleetlib  # noqa: E402

ALL = ["g1", "g2", "g3", "g4"]


def reset(f, names):
    """Back to no patch at all: disabled, uninstalled."""
    for n in names:
        f[n].run("lp-load disable >/dev/null; lp-load uninstall >/dev/null; true", timeout=120)


def measured(f, names, forks):
    before = {n: fleetlib.accepted_ssh(f[n]) for n in names}
    r = f.rollout("lpg_replace_a.ko", names=names, forks=forks, lpguard_waves=["100%"])
    if r.rc != 0 or r.summary["counts"] != {"applied": len(names)}:
        sys.exit(f"fleet-bench: the rollout to {names} failed (exit {r.rc}): {r.summary}\n{r.out[-3000:]}")
    conns = {n: fleetlib.accepted_ssh(f[n]) - before[n] for n in names}
    return r, conns


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write the figures as JSON there")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lpguard-fleet-bench.") as d:
        f = fleetlib.Fleet(4, d)
        try:
            f.start()
            print(f"fleet-bench: 4 Debian guests booted at once in {f.boot_s:.0f} s ({f.vms[0].accel})")
            # A first rollout to all four warms what every later run finds (each guest's page cache:
            # Python, lp-load); then one guest alone, then all four with forks 4.
            measured(f, ALL, 4)
            reset(f, ALL)
            r1, c1 = measured(f, ["g1"], 1)
            reset(f, ALL)
            r4, c4 = measured(f, ALL, 4)
        finally:
            f.stop()
    t1, t4 = r1.wall_s, r4.wall_s
    ratio = t4 / t1
    ncpu = os.cpu_count()
    # This machine's CPUs bound the four guests' wall time from below: their CPU time
    # (QEMU: the emulated guests; the control node) spread over every CPU.
    bound4 = (r4.guests_cpu_s + r4.control_cpu_s) / ncpu
    res = {"one_guest_s": round(t1, 2), "four_guests_forks4_s": round(t4, 2), "ratio": round(ratio, 2),
           "ssh_connections_one": c1, "ssh_connections_four": c4, "accel": f.vms[0].accel, "cpus": ncpu,
           "one_guest_cpu_s": {"guests": round(r1.guests_cpu_s, 1), "control": round(r1.control_cpu_s, 1)},
           "four_guests_cpu_s": {"guests": round(r4.guests_cpu_s, 1), "control": round(r4.control_cpu_s, 1)},
           "four_guests_cpu_bound_s": round(bound4, 1)}
    print("rollout of one signed patch (sign on this host, copy, apply, install; default tasks)")
    print(f"  one guest:                 {t1:7.1f} s   ssh connections: {c1['g1']}   CPU: guests "
          f"{r1.guests_cpu_s:.1f} s, control node {r1.control_cpu_s:.1f} s")
    print(f"  four guests, forks 4:      {t4:7.1f} s   ssh connections per guest: "
          + ", ".join(f"{n} {c4[n]}" for n in ALL)
          + f"   CPU: guests {r4.guests_cpu_s:.1f} s, control node {r4.control_cpu_s:.1f} s")
    print(f"  ratio four / one:          {ratio:7.2f}   (target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"  four guests' CPU time over this machine's {ncpu} CPUs: {bound4:.1f} s, "
          f"the least wall time they could take here ({bound4 / t1:.2f} x one guest)")
    worst = max(list(c1.values()) + list(c4.values()))
    print(f"  ssh connections per guest per rollout: at most {worst} (target <= 2: {'met' if worst <= 2 else 'NOT met'})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
