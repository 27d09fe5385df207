/* The architecture half of the in-target executor: the raw system call and
 * the entry code (see src/exec/exec.c). */
#pragma once
#if defined(__x86_64__)
#include "arch/exec_x86_64.h"
#else
#error "sockreap: no in-target executor for this architecture yet"
#endif
