/* SPDX-License-Identifier: MIT */
/* guard_write.c - see guard_write.h. */
#define _DEFAULT_SOURCE
#include "guard_write.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

static volatile uintptr_t fault_expected;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	/* The fault must be the program's own write, at its first byte. */
	_exit((uintptr_t)si->si_addr == fault_expected ? GUARD_FAULTED : GUARD_ELSEWHERE);
}

static void child(unsigned char *(*setup)(const void *arg), const void *arg, size_t n)
{
	volatile unsigned char *at = setup(arg);
	if (!at)
		_exit(GUARD_NO_SETUP);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	fault_expected = (uintptr_t)at;
	for (size_t i = 0; i < n; i++)
		at[i] = 0xff;
	_exit(GUARD_WENT_IN);
}

int guard_write_status(unsigned char *(*setup)(const void *arg), const void *arg, size_t n)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		child(setup, arg, n);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

int test_under_valgrind(void)
{
	const char *v = getenv("BUDDY_UNDER_VALGRIND");
	return v && *v && strcmp(v, "0") != 0;
}

void guard_write_expect_faults(unsigned char *(*setup)(const void *hooked))
{
	static const int hook = 1;
	const size_t lens[] = { 1, 16, 24 };

	if (test_under_valgrind()) {
		print_message("skipped under valgrind: memcheck reports the write into the guard "
			      "page itself, which is what this test provokes\n");
		skip();
	}
	for (int hooked = 0; hooked < 2; hooked++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			assert_int_equal(guard_write_status(setup, hooked ? &hook : NULL, lens[i]),
					 GUARD_FAULTED);
}
