# SPDX-License-Identifier: GPL-2.0
"""lpguard on a KASAN kernel (make test-kasan): status never reads a freed klp_patch.

kpatch-built livepatches kzalloc their klp_patch and free it when
klp_enable_patch() fails, before the module's GOING notification.
tests/modules/lpg_kzalloc.c does the same and then holds its failing init,
while a loop reads /sys/kernel/security/lpguard/status: lpguard must not
dereference the freed patch (KASAN reports any read of it).
"""
from lpg import T, SFS, EPERM, expect_line, line_re, loaded

EINVAL = 22
R_NON_REPLACE = ("klp_patch.replace is false: only cumulative replace livepatches may be enabled; "
                 "build it with .replace = true")


def test_kernel_has_kasan(vm_kasan):
    assert "KernelAddressSanitizer initialized" in vm_kasan.dmesg(), vm_kasan.console_tail()


def test_status_while_a_kzalloced_patch_is_freed(vm_kasan):
    vm = vm_kasan
    mark = vm.dmesg_mark()
    vm.run(f"(while :; do cat {SFS}/status >/dev/null; done) >/dev/null 2>&1 & echo $! > /tmp/reader", check=True)
    try:
        # Refused by lpguard (non-replace), then freed by the module.
        r = vm.run(f"modload --finit {T}/lpg_kzalloc.lp.ko 'replace=0 hold_ms=1500'")
        assert r.rc == EPERM, r
        # Allowed by lpguard, failed by the livepatch core, then freed.
        r = vm.run(f"modload --finit {T}/lpg_kzalloc.lp.ko 'replace=1 hold_ms=1500'")
        assert r.rc == EINVAL, r
    finally:
        vm.run("kill $(cat /tmp/reader)")
    log = vm.dmesg_since(mark)
    assert "BUG: KASAN" not in log, log
    expect_line(log, line_re("klp_enable_patch", "refused", "lpg_kzalloc", "-", R_NON_REPLACE, "-"))
    assert not loaded(vm, "lpg_kzalloc")
    assert "active: none" in vm.run(f"cat {SFS}/status", check=True).out
