/* The architecture half of the in-target executor: the raw system call and
 * the entry code (see src/exec/exec.c). The Makefile builds src/exec/ only
 * for an ARCH that has src/arch/exec_ARCH.h. */
#pragma once
#if defined(SOCKREAP_ARCH_x86_64)
#include "arch/exec_x86_64.h"
#else
#error "sockreap: no in-target executor for this ARCH (the Makefile leaves src/exec/ out without src/arch/exec_ARCH.h)"
#endif
