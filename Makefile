# sockreap — plain Makefile. `make` builds ./sockreap; `make check` runs every test.
#
# A packager's CFLAGS, CPPFLAGS and LDFLAGS (environment or command line) are
# added after the project's own flags, never instead of them: `make
# CPPFLAGS=-DFOO CFLAGS=-O1` still builds gnu11 with our warnings, -D_GNU_SOURCE
# and -Isrc. (Our flags live in SR_* variables rather than in `override
# CFLAGS := ... $(CFLAGS)`, so that a recursive make, dpkg's or ours, sees the
# packager's value and not ours prepended again.)
#
# -Werror is off for a plain `make`: a newer compiler's new warning must not
# break a user's or a distribution's build. WERROR=1 turns it on; `make check`
# (what CI runs) turns it on unless WERROR=0 is given.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
VERSION := 0.1.0

PKG_CONFIG ?= pkg-config
PKGS    := libmnl libunwind-ptrace libunwind-generic
CFLAGS  ?= -O2 -g
WERROR  ?= $(if $(filter check,$(MAKECMDGOALS)),1,0)
WARN    := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wshadow -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror)

# The architecture: src/arch/$(ARCH).c, chosen from the compiler's target
# (`$(CC) -dumpmachine`: x86_64-linux-gnu -> x86_64). A CPU without a file
# of its own gets ARCH=none (src/arch/none.c): everything builds, and what
# needs injection is refused at run time with the reason. `make ARCH=none`
# forces it (an ARCH in the environment is ignored: kernel builders keep
# ARCH=arm64 there, which means something else).
CPU := $(firstword $(subst -, ,$(shell $(CC) -dumpmachine 2>/dev/null)))
ifneq ($(origin ARCH),command line)
ARCH := $(if $(and $(CPU),$(wildcard src/arch/$(CPU).c)),$(CPU),none)
endif
ifeq ($(wildcard src/arch/$(ARCH).c),)
$(error ARCH=$(ARCH): there is no src/arch/$(ARCH).c (ARCH=none builds without injection))
endif
ARCH_CPPFLAGS := -DSOCKREAP_ARCH_$(ARCH) $(if $(filter none,$(ARCH)),-DSOCKREAP_CPU='"$(or $(CPU),unknown)"')

ifeq ($(SANITIZE),1)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
BUILD   := build/san
else
SAN     :=
BUILD   := build/rel
endif

SR_CPPFLAGS = -D_GNU_SOURCE -DSOCKREAP_VERSION='"$(VERSION)"' $(ARCH_CPPFLAGS) -Isrc $(CPPFLAGS)
SR_CFLAGS   = -std=gnu11 -pthread $(WARN) $(SAN) $(PKG_CFLAGS) $(CFLAGS)
SR_LDFLAGS  = -pthread $(SAN) $(CFLAGS) $(LDFLAGS)

# Dependencies through $(PKG_CONFIG), which may carry arguments or an
# environment (`PKG_CONFIG='env PKG_CONFIG_LIBDIR=... pkg-config'` for a cross
# build). Asked only when something is compiled (not for clean or lint), once
# per run, and a missing one stops make with one line naming it and the Debian
# package that provides it.
deb_libmnl            := libmnl-dev
deb_libunwind-ptrace  := libunwind-dev
deb_libunwind-generic := libunwind-dev
deb_cmocka            := libcmocka-dev
pkg_tool = $(if $(shell command -v $(firstword $(PKG_CONFIG)) 2>/dev/null),,$(error \
	$(firstword $(PKG_CONFIG)) not found: install pkg-config (scripts/install-deps installs every dependency) or set PKG_CONFIG))
pkg_need = $(pkg_tool)$(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(error \
	$(PKG_CONFIG) cannot find $(p): install $(or $(deb_$(p)),its -dev package) (scripts/install-deps installs every dependency))))
# $(call pkg,OPTION,PACKAGE...)
pkg = $(call pkg_need,$(2))$(shell $(PKG_CONFIG) $(1) $(2))
PKG_CFLAGS    = $(eval PKG_CFLAGS := $(call pkg,--cflags,$(PKGS)))$(PKG_CFLAGS)
LIBS          = $(eval LIBS := $(call pkg,--libs,$(PKGS)))$(LIBS)
CMOCKA_CFLAGS = $(eval CMOCKA_CFLAGS := $(call pkg,--cflags,cmocka))$(CMOCKA_CFLAGS)
CMOCKA_LIBS   = $(eval CMOCKA_LIBS := $(call pkg,--libs,cmocka))$(CMOCKA_LIBS)

# The in-target executor only where the architecture has its half of it.
EXEC_SRCS := $(if $(wildcard src/arch/exec_$(ARCH).h),$(wildcard src/exec/*.c))
SRCS := $(wildcard src/*.c) src/arch/$(ARCH).c $(EXEC_SRCS)
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS := $(filter-out $(BUILD)/src/main.o,$(OBJS))

# test_arch_NAME.c tests one architecture's file and builds for it only;
# the engine's tests need an architecture that injects.
UNIT_ENGINE := tests/unit/test_inject.c tests/unit/test_act.c tests/unit/test_syscalls.c tests/unit/test_crash_only.c
UNIT_SRCS := $(filter-out $(filter-out tests/unit/test_arch_$(ARCH).c,$(wildcard tests/unit/test_arch_*.c)) \
                          $(if $(filter none,$(ARCH)),$(UNIT_ENGINE)),$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_BINS := $(TARGET_SRCS:tests/targets/%.c=tests/bin/%) \
               $(patsubst tests/targets/%.c,tests/bin/%-static,$(filter tests/targets/blocker.c,$(TARGET_SRCS)))
# Test targets are deliberately built without sanitizers or a packager's
# flags: they are the "production processes" sockreap reaches into, and must
# behave like them.
TARGET_CFLAGS = -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) -pthread

# ./sockreap is whichever build ran last (SANITIZE=1 check tests the
# sanitizer build through it), so it is always refreshed.
.PHONY: all build-all clean sockreap check unit integration install install-systemd uninstall demo bench lint FORCE
all: sockreap

# Every binary of the tree, built and not run: what CI compiles with each
# compiler and set of flags.
build-all: sockreap $(UNIT_BINS) $(TOOL_BINS) $(TARGET_BINS)

sockreap: $(BUILD)/sockreap
	cp $< $@.tmp && mv -f $@.tmp $@

# What a build depends on besides its sources: the compiler and its flags.
# The recipe runs every time but rewrites the file only when they changed,
# so `make CC=clang` after `make`, or WERROR=1 after a plain build, rebuilds
# (git's GIT-CFLAGS pattern).
shq = '$(subst ','\'',$(1))'
define flags_file
@mkdir -p $(@D); f=$(call shq,$(1)); \
	[ "$$f" = "$$(cat $@ 2>/dev/null)" ] || { [ ! -e $@ ] || echo "  new build flags: $@"; printf '%s\n' "$$f" >$@; }
endef
$(BUILD)/flags: FORCE
	$(call flags_file,$(CC) $(SR_CPPFLAGS) $(SR_CFLAGS) | $(SR_LDFLAGS) $(LIBS))
tests/bin/.flags: FORCE
	$(call flags_file,$(CC) $(TARGET_CFLAGS))

$(BUILD)/sockreap: $(OBJS)
	$(CC) $(SR_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(SR_CPPFLAGS) $(SR_CFLAGS) -MMD -MP -c -o $@ $<

# The executor that runs inside targets (src/exec/exec.c) is copied into
# them byte for byte: freestanding, position-independent, general-purpose
# registers only (the application's FPU/vector state is never touched), no
# instrumentation; checked to need nothing outside its own section. So a
# packager's CFLAGS and CPPFLAGS (stack protector, _FORTIFY_SOURCE, -pg,
# ...) must not reach it, only ours. gcc's IPA passes are switched off;
# clang has none of them (and warns about the switches), so they are passed
# only to a compiler that accepts them.
cc_accepts = $(shell $(CC) -Werror $(1) -c -x c -o /dev/null /dev/null 2>/dev/null && echo $(1))
EXEC_CPPFLAGS := -D_GNU_SOURCE $(ARCH_CPPFLAGS) -Isrc
EXEC_CFLAGS = -std=gnu11 -O2 $(WARN) -ffreestanding -fno-builtin -fno-stack-protector \
	       -fno-stack-clash-protection -fpic -fno-plt -fno-jump-tables -fno-asynchronous-unwind-tables \
	       -fno-unwind-tables -fno-exceptions -mgeneral-regs-only -fno-sanitize=all \
	       $(call cc_accepts,-fno-ipa-cp) $(call cc_accepts,-fno-ipa-sra)
$(BUILD)/src/exec/%.o: src/exec/%.c scripts/check-exec-object $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(EXEC_CPPFLAGS) $(EXEC_CFLAGS) -MMD -MP -c -o $@ $<
	scripts/check-exec-object $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SR_CPPFLAGS) $(SR_CFLAGS) $(CMOCKA_CFLAGS) -MMD -MP -o $@ $< $(filter %.o,$^) \
		$(SR_LDFLAGS) $(LIBS) $(CMOCKA_LIBS)

# Code shared by unit tests (the fake tracee): tests/unit/NAME.c without the
# test_ prefix, an object linked into the tests that name it here.
UNIT_SHARED := $(BUILD)/tests/fake_tracee.o
$(BUILD)/tests/test_inject $(BUILD)/tests/test_act $(BUILD)/tests/test_crash_only: $(BUILD)/tests/fake_tracee.o
$(BUILD)/tests/%.o: tests/unit/%.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(SR_CPPFLAGS) $(SR_CFLAGS) $(CMOCKA_CFLAGS) -MMD -MP -c -o $@ $<

# Small developer tools linked with the library objects (e.g. the recorder
# of tests/fixtures): tests/tools/NAME.c -> $(BUILD)/tools/NAME
$(BUILD)/tools/%: tests/tools/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SR_CPPFLAGS) $(SR_CFLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) $(SR_LDFLAGS) $(LIBS)

tests/bin/%: tests/targets/%.c $(wildcard tests/targets/*.h) tests/bin/.flags
	@mkdir -p tests/bin
	$(CC) $(TARGET_CFLAGS) -o $@ $<

tests/bin/%-static: tests/targets/%.c $(wildcard tests/targets/*.h) tests/bin/.flags
	@mkdir -p tests/bin
	$(CC) $(TARGET_CFLAGS) -static -o $@ $<

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: sockreap $(TARGET_BINS)
	bash tests/integration/run.sh

check: unit integration

bench: sockreap $(TARGET_BINS)
	bash scripts/bench

demo: sockreap $(TARGET_BINS)
	bash scripts/demo

lint:
	mandoc -Tlint -Wwarning man/sockreap.8

install: sockreap
	install -D -m 0755 sockreap $(DESTDIR)$(SBINDIR)/sockreap
	install -D -m 0644 man/sockreap.8 $(DESTDIR)$(MANDIR)/man8/sockreap.8
	install -D -m 0644 scripts/sockreap.bash-completion $(DESTDIR)$(BASHCOMPDIR)/sockreap

# The nightly dry-run audit (contrib/): a service, its timer (not enabled
# here: `systemctl enable --now sockreap-audit.timer`), and the tmpfiles.d
# entry that creates the two files the sandboxed service may write.
install-systemd:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(TMPFILESDIR)
	sed 's,^ExecStart=/usr/sbin/sockreap ,ExecStart=$(SBINDIR)/sockreap ,' contrib/sockreap-audit.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/sockreap-audit.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/sockreap-audit.service
	install -m 0644 contrib/sockreap-audit.timer $(DESTDIR)$(SYSTEMDUNITDIR)/sockreap-audit.timer
	install -m 0644 contrib/sockreap.tmpfiles $(DESTDIR)$(TMPFILESDIR)/sockreap.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sockreap $(DESTDIR)$(MANDIR)/man8/sockreap.8 \
	      $(DESTDIR)$(BASHCOMPDIR)/sockreap $(DESTDIR)$(SYSTEMDUNITDIR)/sockreap-audit.service \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/sockreap-audit.timer $(DESTDIR)$(TMPFILESDIR)/sockreap.conf

clean:
	rm -rf build tests/bin sockreap

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d) $(UNIT_SHARED:.o=.d) $(TOOL_BINS:=.d)

# ---- Fuzzing (libFuzzer, needs clang) and valgrind: apart from the build ----
# `make fuzz` builds tests/fuzz/fuzz_*.c with every library source under
# -fsanitize=fuzzer,address,undefined and runs each for FUZZ_SECONDS, seeded
# from tests/fixtures and tests/fuzz/seeds; a finding fails the run and is
# left in build/fuzz/artifacts (copy it into tests/fuzz/regress/NAME/, where
# `make unit` replays it). `make valgrind` runs the unit tests and a subset
# of the integration tests under memcheck.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=gnu11 -g -O1 $(PKG_CFLAGS)
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_OBJS    := $(patsubst %.c,build/fuzz/obj/%.o,$(filter-out src/main.c,$(SRCS)))

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(SR_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -MMD -MP -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(SR_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< $(FUZZ_OBJS) $(LIBS)

-include $(FUZZ_OBJS:.o=.d)
# kept between runs (they are only prerequisites of pattern rules)
.SECONDARY: $(FUZZ_OBJS)

.PHONY: fuzz fuzz-build valgrind
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	bash scripts/fuzz-run $(FUZZ_SECONDS) $(FUZZ_NAMES)

VALGRIND_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/rel/tests/%)
valgrind:
	$(MAKE) SANITIZE= sockreap $(VALGRIND_UNIT_BINS) $(TARGET_BINS)
	bash scripts/valgrind-run $(VALGRIND_UNIT_BINS)
