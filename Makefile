# SPDX-License-Identifier: GPL-2.0
# lpguard: signed, single-active kernel livepatching for confidential VMs.
#
#   make deps          install build/test dependencies (root, Debian 12)
#   make demo          the whole workflow on a local QEMU VM
#   make test          every test: unit, ASan/UBSan, fuzz (short), config check, KUnit, QEMU
#   make check         the fast unit subset and the C++ format check
#   make fuzz-long     every fuzz target for FUZZ_SECONDS (default 1800) each
#   make kernel        the QEMU test kernel (lpguard built in)
#   make KDIR=/path/to/linux-6.15.2 image-kernel   graft lpguard into a real image tree, build it, make its patch kit
#   make KDIR=/path/to/kernel-build module          the loadable lpguard.ko for a kernel without it
#   make test-kernels  build and run KUnit + QEMU tests against linux-source-7.x too
#   make test-kpatch   the kpatch-build part of the end-to-end flow
#   make KVER=7.3 test-klp   klp-build (the kernel's own builder) against the 7.x test kernel (part of test-kernels)
#   make test-loadable the loadable form of lpguard on a kernel built without it
#   make test-kasan    lpguard on a KASAN build of the test kernel
#   make bench         benchmarks: cvm-cli sign, lp-load's transition wait, lpguard's check, attestation verify and cvm-cli attest
#   make deb           Debian packages (cvm-cli, lp-load, lpguard-dkms) in build/deb, lintian clean
#   make test-debian   the packages installed in a Debian 12 guest under systemd (debootstrap image)
#   make check-ansible the Ansible collection (ansible/): lint, docs, inventories, modules and playbook on fakes
#   make test-fleet    the rollout playbook against four Debian guests at once; make bench-fleet times it

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build
JOBS ?= $(shell nproc)
PYTHON ?= /usr/bin/python3

KVER ?= 6.12
KSRC_TAR ?= /usr/src/linux-source-$(KVER).tar.xz
KSRC ?= $(BUILD)/src/linux-source-$(KVER)
KOUT ?= $(BUILD)/kernel-$(KVER)
KOUT_MOD ?= $(BUILD)/kernel-$(KVER)-mod
FRAGMENTS := $(TOP)/kconfig/qemu.config $(TOP)/kconfig/lpguard.config

CMAKE_BUILD := $(BUILD)/cmake
CMAKE_ASAN := $(BUILD)/cmake-asan
BIN := $(CMAKE_BUILD)/bin
CVM_CLI := $(BIN)/cvm-cli

TEST := $(BUILD)/test
TEST_KEYS := $(TEST)/keys
TEST_KEYS_OTHER := $(TEST)/keys-other
TEST_KEYS_ECDSA := $(TEST)/keys-ecdsa
TEST_SSH := $(TEST)/ssh

.PHONY: all deps build check format-check format check-asan test test-config test-fuzz fuzz-long test-qemu test-artifacts \
	kernel kernel-mod payload initramfs preflight-kit test-keys demo test-kernels test-kpatch kernel-kpatch test-loadable payload-mod \
	test-klp kernel-kasan test-kasan image-kernel module bench deb check-man debian-guest test-debian clean distclean

all: build

deps:
	@$(TOP)/scripts/deps.sh

# ---- C++ ------------------------------------------------------------------
$(CMAKE_BUILD)/CMakeCache.txt:
	cmake -S $(TOP) -B $(CMAKE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: $(CMAKE_BUILD)/CMakeCache.txt
	cmake --build $(CMAKE_BUILD) -j$(JOBS)
	@mkdir -p $(BUILD)/bin && ln -sf $(BIN)/cvm-cli $(BIN)/lp-load $(BUILD)/bin/

$(CMAKE_ASAN)/CMakeCache.txt:
	cmake -S $(TOP) -B $(CMAKE_ASAN) -DCMAKE_BUILD_TYPE=Debug -DLPGUARD_SANITIZE=ON >/dev/null

# The kernel's own scripts/sign-file, compiled from the unpacked source: the
# unit tests compare cvm-cli's signatures with it byte for byte.
SIGN_FILE := $(BUILD)/tools/sign-file
$(SIGN_FILE): $(KSRC)/Makefile
	mkdir -p $(dir $@)
	gcc -O2 -Wno-deprecated-declarations -I$(KSRC)/scripts -o $@ $(KSRC)/scripts/sign-file.c -lcrypto

check: build $(SIGN_FILE) format-check check-man
	LPGUARD_SIGN_FILE=$(SIGN_FILE) $(BIN)/unit-tests
	$(TOP)/tests/config/test-check-config.sh
	$(TOP)/tests/config/test-readiness.sh
	$(TOP)/tests/config/test-patch-kit.sh
	$(TOP)/tests/config/test-build-patch.sh
	$(TOP)/tests/archive/test-archive-errors.sh
	$(MAKE) --no-print-directory check-ansible

# The project's C++ in the style of .clang-format (clang-format 14):
# `make format` rewrites it, `make format-check` (part of check) fails on a difference.
CLANG_FORMAT ?= clang-format-14
FORMAT_FILES = $(shell cd $(TOP) && git ls-files 'loader/*.cpp' 'loader/*.hpp' 'tests/unit/*.cpp' \
	'tests/unit/*.hpp' 'tests/fuzz/*.cpp' 'bench/*.cpp')
# Every subcommand and option in --help is in the man page (docs/man/).
check-man: build
	$(PYTHON) $(TOP)/tests/man/check-man.py $(BIN) $(TOP)/docs/man

# ---- Debian packages (debian/, docs/man/) ----------------------------------
deb:
	$(TOP)/scripts/mkdeb.sh $(BUILD)/deb

# The Debian 12 guest: made once, rebuilt when its inputs change.
debian-guest: $(TEST_SSH)/id_ed25519
	$(TOP)/scripts/mkdebian-guest.sh $(TEST)/debian-guest.img $(TEST_SSH)

test-debian: test-artifacts deb debian-guest
	cd $(TOP)/tests/qemu && LPGUARD_TEST_KVER=$(KVER) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/qemu-debian-results-$(KVER).xml test_debian.py

# ---- Ansible (ansible/, docs/fleet.md) -------------------------------------
# The collection linked into a private collections path; ansible-lint, ansible-doc of every
# module (in test_modules.py), the example inventories read offline, then the modules and the
# rollout playbook against tests/ansible/fake-lp-load on localhost.
.PHONY: check-ansible test-fleet bench-fleet
ANSIBLE_COLLS := $(BUILD)/ansible/collections
check-ansible: build
	@mkdir -p $(ANSIBLE_COLLS)/ansible_collections/lpguard && ln -sfn $(TOP)/ansible $(ANSIBLE_COLLS)/ansible_collections/lpguard/livepatch
	cd $(TOP)/ansible && ANSIBLE_COLLECTIONS_PATH=$(ANSIBLE_COLLS) ansible-lint --nocolor -q
	$(TOP)/tests/ansible/check-inventory.py $(TOP)/ansible/inventories/*.yml
	cd $(TOP)/tests/ansible && LPGUARD_BUILD=$(BUILD) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/ansible-results.xml .

# The rollout playbook with the real lp-load package in four Debian guests at once.
test-fleet: test-artifacts deb debian-guest
	cd $(TOP)/tests/qemu && LPGUARD_TEST_KVER=$(KVER) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/qemu-fleet-results-$(KVER).xml test_fleet.py

bench-fleet: test-artifacts deb debian-guest
	cd $(TOP)/tests/qemu && LPGUARD_TEST_KVER=$(KVER) $(PYTHON) $(TOP)/bench/fleet-bench.py

format-check:
	@cd $(TOP) && $(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES) || \
		{ echo "format-check: C++ differs from .clang-format: run 'make format' and review the change" >&2; exit 1; }
format:
	cd $(TOP) && $(CLANG_FORMAT) -i $(FORMAT_FILES)

check-asan: $(CMAKE_ASAN)/CMakeCache.txt $(SIGN_FILE)
	cmake --build $(CMAKE_ASAN) -j$(JOBS) --target unit-tests
	LPGUARD_SIGN_FILE=$(SIGN_FILE) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(CMAKE_ASAN)/bin/unit-tests

test-fuzz:
	@if [ -x $(TOP)/tests/fuzz/run.sh ]; then $(TOP)/tests/fuzz/run.sh 20; else echo "test-fuzz: no fuzz targets yet"; fi

# The nightly kind of run: every target for FUZZ_SECONDS (not part of `make test`).
FUZZ_SECONDS ?= 1800
fuzz-long:
	$(TOP)/tests/fuzz/run.sh $(FUZZ_SECONDS)

# ---- test keys, kernels, guest --------------------------------------------
$(TEST_KEYS)/livepatch.der: | build
	$(CVM_CLI) generate-livepatch-keys --out $(TEST_KEYS) --subject "lpguard test livepatch key" --days 3650
$(TEST_KEYS_OTHER)/livepatch.der: | build
	$(CVM_CLI) generate-livepatch-keys --out $(TEST_KEYS_OTHER) --subject "unrelated test key" --days 3650
$(TEST_KEYS_ECDSA)/livepatch.der: | build
	$(CVM_CLI) generate-livepatch-keys --out $(TEST_KEYS_ECDSA) --type ecdsa-p384 \
		--subject "lpguard test ECDSA livepatch key" --days 3650
test-keys: $(TEST_KEYS)/livepatch.der $(TEST_KEYS_OTHER)/livepatch.der $(TEST_KEYS_ECDSA)/livepatch.der

$(KSRC)/Makefile:
	@[ -r $(KSRC_TAR) ] || { echo "kernel source $(KSRC_TAR) missing: run 'make deps' (package linux-source-$(KVER))" >&2; exit 1; }
	mkdir -p $(BUILD)/src && tar -C $(BUILD)/src -xf $(KSRC_TAR)
	touch $@

# The test kernel trusts two livepatch keys: RSA 4096 and ECDSA P-384.
# The small test kernels (tinyconfig, no debug information) are not made for
# patch builders: they leave out the readiness report (LPGUARD_READINESS=skip);
# kernel-kpatch and image-kernel have it.
kernel: $(KSRC)/Makefile test-keys
	KSRC=$(KSRC) KOUT=$(KOUT) FRAGMENTS="$(FRAGMENTS)" LPGUARD_BUILTIN=y LPGUARD_READINESS=skip \
		LPGUARD_LOCK_ACTIVE=n LPGUARD_CERTS=$(TEST_KEYS)/livepatch.der,$(TEST_KEYS_ECDSA)/livepatch.der $(TOP)/scripts/build-kernel.sh

kernel-mod: $(KSRC)/Makefile test-keys
	KSRC=$(KSRC) KOUT=$(KOUT_MOD) FRAGMENTS="$(FRAGMENTS) $(TOP)/kconfig/qemu-loadable.config" LPGUARD_BUILTIN=n LPGUARD_READINESS=skip \
		LPGUARD_CERTS=$(TEST_KEYS)/livepatch.der $(TOP)/scripts/build-kernel.sh

$(TEST_SSH)/id_ed25519:
	mkdir -p $(TEST_SSH)
	ssh-keygen -q -t ed25519 -N '' -C 'lpguard test client' -f $(TEST_SSH)/id_ed25519
	ssh-keygen -q -t ed25519 -N '' -C 'lpguard test guest host key' -f $(TEST_SSH)/ssh_host_ed25519_key

# mkpayload.sh signs the generation test patches with cvm-cli.
payload: kernel build
	$(TOP)/scripts/mkpayload.sh $(KOUT) $(TEST)/$(KVER)/payload $(TEST_KEYS) $(TEST_KEYS_OTHER)

initramfs: payload build $(TEST_SSH)/id_ed25519
	$(TOP)/scripts/mkinitramfs.sh $(TEST)/$(KVER)/initramfs.cpio.gz $(TEST_SSH) $(TEST)/$(KVER)/payload

# The patch kit of the test kernel, for cvm-cli preflight (tests/qemu/test_preflight.py):
# its bzImage and a preflight guest with this tree's lp-load; no kernel build of its own.
preflight-kit: payload build
	LP_LOAD=$(BIN)/lp-load $(TOP)/scripts/mkpatchkit.sh $(KOUT) $(TEST)/$(KVER)/patch-kit

test-artifacts: initramfs preflight-kit

test-qemu: test-artifacts
	cd $(TOP)/tests/qemu && LPGUARD_TEST_KVER=$(KVER) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--ignore=test_lpguard_loadable.py --ignore=test_lpguard_kasan.py --ignore=test_debian.py --ignore=test_fleet.py \
		--junitxml=$(TEST)/qemu-results-$(KVER).xml .

# The loadable form on a kernel built without lpguard (a second kernel build,
# about 5 minutes more on 2 cores).
payload-mod: kernel-mod build
	$(TOP)/scripts/mkpayload.sh $(KOUT_MOD) $(TEST)/$(KVER)-mod/payload $(TEST_KEYS) $(TEST_KEYS_OTHER) --loadable

test-loadable: payload-mod build $(TEST_SSH)/id_ed25519
	$(TOP)/scripts/mkinitramfs.sh $(TEST)/$(KVER)-mod/initramfs.cpio.gz $(TEST_SSH) $(TEST)/$(KVER)-mod/payload
	cd $(TOP)/tests/qemu && LPGUARD_TEST_KVER=$(KVER) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/qemu-loadable-results-$(KVER).xml test_lpguard_loadable.py

# The image kernel with KASAN (kconfig/kasan.config), built only for this
# suite: lpguard never reads a klp_patch its module freed.
KOUT_KASAN ?= $(BUILD)/kernel-$(KVER)-kasan
kernel-kasan: $(KSRC)/Makefile test-keys
	KSRC=$(KSRC) KOUT=$(KOUT_KASAN) FRAGMENTS="$(FRAGMENTS) $(TOP)/kconfig/kasan.config" LPGUARD_BUILTIN=y LPGUARD_READINESS=skip \
		LPGUARD_LOCK_ACTIVE=n LPGUARD_CERTS=$(TEST_KEYS)/livepatch.der,$(TEST_KEYS_ECDSA)/livepatch.der $(TOP)/scripts/build-kernel.sh

test-kasan: kernel-kasan build $(TEST_SSH)/id_ed25519
	$(TOP)/scripts/mkpayload.sh $(KOUT_KASAN) $(TEST)/$(KVER)-kasan/payload $(TEST_KEYS) $(TEST_KEYS_OTHER)
	$(TOP)/scripts/mkinitramfs.sh $(TEST)/$(KVER)-kasan/initramfs.cpio.gz $(TEST_SSH) $(TEST)/$(KVER)-kasan/payload
	cd $(TOP)/tests/qemu && LPGUARD_TEST_KVER=$(KVER) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/qemu-kasan-results-$(KVER).xml test_lpguard_kasan.py

# Configure steps only, no kernel build (about 1 minute on 2 cores, half of it
# the image configuration test on Debian's 6.12 cloud config).
test-config: $(KSRC)/Makefile
	$(TOP)/tests/config/test-check-config.sh --kernel $(KSRC)
	$(TOP)/tests/config/test-image-config.sh $(KSRC)

# The one test command (README, CI).
test: check check-asan test-fuzz test-config test-qemu test-loadable

# The image runs 6.15; Debian's 6.12 brackets it from below, linux-source-7.x
# (the version pinned in scripts/fetch-kernel-source.sh, from trixie-backports,
# downloaded and unpacked, never installed) from above.
# There the test livepatches are also built with the kernel's own klp-build
# (test-klp).
test-kernels:
	ksrc=$$($(TOP)/scripts/fetch-kernel-source.sh $(BUILD)/src) && \
	$(MAKE) --no-print-directory KVER=$${ksrc##*linux-source-} KSRC=$$ksrc test-qemu test-loadable test-klp

# The kernel's own patch builder (scripts/livepatch/klp-build, 6.19 and later)
# against the small test kernel: no debug information needed. The first run
# builds a copy of the tree in full, once (build/klp).
test-klp: kernel build $(TEST_SSH)/id_ed25519
	cd $(TOP)/tests/kpatch && LPGUARD_KPATCH_KOUT=$(KOUT) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/klp-results-$(KVER).xml .

# ---- kpatch-build (docs/kpatch.md) ------------------------------------------
KOUT_KPATCH ?= $(BUILD)/kernel-$(KVER)-kpatch
kernel-kpatch: $(KSRC)/Makefile test-keys
	KSRC=$(KSRC) KOUT=$(KOUT_KPATCH) FRAGMENTS="$(FRAGMENTS) $(TOP)/kconfig/kpatch.config" LPGUARD_BUILTIN=y \
		LPGUARD_CERTS=$(TEST_KEYS)/livepatch.der $(TOP)/scripts/build-kernel.sh
	LP_LOAD=$(BIN)/lp-load $(TOP)/scripts/mkpatchkit.sh $(KOUT_KPATCH)

# Not part of `make test`: a debug-info kernel and three kpatch-build runs cost
# about 25 minutes on 2 cores (README).
test-kpatch: kernel-kpatch build $(TEST_SSH)/id_ed25519
	cd $(TOP)/tests/kpatch && LPGUARD_KPATCH_KOUT=$(KOUT_KPATCH) $(PYTHON) -m pytest -v -p no:cacheprovider \
		--junitxml=$(TEST)/kpatch-results-$(KVER).xml .

# DEMO_KPATCH: 1 (the default: the patches built from tests/kpatch/*.patch
# with scripts/build-patch.sh) or 0 (the hand-written modules; scripts/demo.py).
DEMO_KPATCH ?= 1
demo: build $(KSRC)/Makefile $(TEST_SSH)/id_ed25519
	DEMO_KPATCH=$(DEMO_KPATCH) $(PYTHON) $(TOP)/scripts/demo.py

# Benchmarks: figures against their baselines, not pass/fail (docs/cvm-cli.md,
# docs/lp-load.md, docs/lpguard.md under Performance).
bench: build $(SIGN_FILE) test-artifacts
	LPGUARD_SIGN_FILE=$(SIGN_FILE) $(TOP)/bench/sign-bench.py
	$(TOP)/bench/lpload-bench.sh
	$(PYTHON) $(TOP)/bench/lpguard-bench.py
	$(BIN)/attest-verify-bench 1000
	$(TOP)/bench/attest-bench.sh

clean:
	rm -rf $(CMAKE_BUILD) $(CMAKE_ASAN) $(TEST)

distclean:
	rm -rf $(BUILD)

# ---- the real image ---------------------------------------------------------
# The image's .config (IMAGE_CONFIG: KDIR/.config, else defconfig) + lpguard.config +
# EXTRA_FRAGMENTS (e.g. kconfig/kpatch.config), the owner's certificates added
# to the image's trusted keys, the readiness report (LPGUARD_ALLOW_UNPATCHABLE=1
# builds a kernel no patch builder can target), then the patch kit in
# IMAGE_OUT/patch-kit (docs/kpatch.md).
IMAGE_OUT ?= $(BUILD)/image-kernel
IMAGE_CONFIG ?= $(if $(wildcard $(KDIR)/.config),$(KDIR)/.config,defconfig)
EXTRA_FRAGMENTS ?=
LPGUARD_ALLOW_UNPATCHABLE ?= 0
# lp-load is built first: the kit's preflight guest carries it (cvm-cli preflight).
image-kernel: build
	@[ -n "$(KDIR)" ] || { echo "image-kernel: set KDIR to the image's kernel source tree (make KDIR=/path/to/linux-6.15.2 LPGUARD_CERTS=keys/livepatch.der image-kernel)" >&2; exit 1; }
	@[ -n "$(LPGUARD_CERTS)" ] || { echo "image-kernel: no LPGUARD_CERTS: every livepatch would be refused; make keys with 'build/bin/cvm-cli generate-livepatch-keys' and pass LPGUARD_CERTS=keys/livepatch.der" >&2; exit 1; }
	KSRC=$(KDIR) KOUT=$(IMAGE_OUT) FRAGMENTS="$(TOP)/kconfig/lpguard.config $(EXTRA_FRAGMENTS)" LPGUARD_BUILTIN=y \
		BASECONFIG=$(IMAGE_CONFIG) LPGUARD_ALLOW_UNPATCHABLE=$(LPGUARD_ALLOW_UNPATCHABLE) \
		LPGUARD_CERTS=$(LPGUARD_CERTS) $(TOP)/scripts/build-kernel.sh
	LP_LOAD=$(BIN)/lp-load $(TOP)/scripts/mkpatchkit.sh $(IMAGE_OUT)

module:
	@[ -n "$(KDIR)" ] || { echo "module: set KDIR to a configured and built kernel tree (make KDIR=/lib/modules/\$$(uname -r)/build LPGUARD_CERTS=keys/livepatch.der module)" >&2; exit 1; }
	@[ -n "$(LPGUARD_CERTS)" ] || { echo "module: no LPGUARD_CERTS: every livepatch would be refused; pass LPGUARD_CERTS=keys/livepatch.der" >&2; exit 1; }
	rm -rf $(BUILD)/module && mkdir -p $(BUILD)/module && cp -a $(TOP)/kmod/. $(BUILD)/module/
	$(MAKE) -C $(KDIR) M=$(BUILD)/module LPGUARD_CERTS=$(abspath $(LPGUARD_CERTS)) modules
	@echo "module: $(BUILD)/module/lpguard.ko (sign it with the kernel's module key before loading)"
