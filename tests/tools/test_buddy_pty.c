/* SPDX-License-Identifier: MIT */
/*
 * test_buddy_pty.c - the interactive mode, on a pseudo-terminal: start
 * build/buddy as a person would, wait for the prompt, type commands, read
 * what comes back, and end with quit. Skips when the program is not built.
 */
#include <errno.h>
#include <poll.h>
#include <termios.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* The program under test, killed by the teardown if a test fails early. */
static pid_t child = -1;

static int child_reap(void **state)
{
	(void)state;
	if (child > 0 && waitpid(child, NULL, WNOHANG) == 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	child = -1;
	return 0;
}

/* Everything read from the terminal so far. */
struct term {
	int fd;
	pid_t pid;
	char buf[65536];
	size_t len;
};

/* Read until `want` appears after offset `from`; 0 when it did, -1 at end or after 20 s. */
static int term_expect(struct term *t, size_t from, const char *want)
{
	for (int waited = 0; waited < 200;) {
		t->buf[t->len] = '\0';
		if (strstr(t->buf + from, want))
			return 0;
		struct pollfd p = { t->fd, POLLIN, 0 };
		int r = poll(&p, 1, 100);
		if (r == 0) {
			waited++;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		ssize_t n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
		if (n <= 0)
			return -1;
		t->len += (size_t)n;
	}
	return -1;
}

/*
 * Wait (at most 2 s) until the line editor has taken the terminal out of
 * canonical mode, as it does while it reads a line. Keys typed before
 * that are handled by the terminal's own line discipline, and libedit
 * loses an end-of-file typed ahead that way; a person types after the
 * prompt, so the test does too. Without libedit the terminal stays
 * canonical and the wait just runs out.
 */
static void term_wait_editing(struct term *t)
{
	for (int i = 0; i < 200; i++) {
		struct termios tio;
		if (tcgetattr(t->fd, &tio) == 0 && !(tio.c_lflag & ICANON))
			return;
		struct pollfd p = { t->fd, POLLIN, 0 };
		if (poll(&p, 1, 10) > 0 && t->len < sizeof(t->buf) - 1) {
			ssize_t n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
			if (n > 0)
				t->len += (size_t)n;
		}
	}
}

/*
 * Send `keys` and wait for the child to exit, reading its output meanwhile
 * so it can never block on a full terminal. A key sent while the line
 * editor is between lines can be lost, so it is sent again (at most three
 * times, 10 s each) before the test fails; it never waits forever.
 */
static int term_exit(struct term *t, const char *keys, int *status)
{
	for (int tries = 0; tries < 3; tries++) {
		term_wait_editing(t);
		assert_int_equal(write(t->fd, keys, strlen(keys)), (ssize_t)strlen(keys));
		for (int waited = 0; waited < 1000; waited++) { /* 10 s in 10 ms steps */
			if (waitpid(t->pid, status, WNOHANG) == t->pid)
				return 0;
			struct pollfd p = { t->fd, POLLIN, 0 };
			if (poll(&p, 1, 10) <= 0)
				continue;
			ssize_t n = -1;
			if (t->len < sizeof(t->buf) - 1)
				n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
			if (n > 0) {
				t->len += (size_t)n;
			} else {
				/* Hung up: the child is on its way out; wait for it alone. */
				for (int w = 0; w < 1000; w++) {
					if (waitpid(t->pid, status, WNOHANG) == t->pid)
						return 0;
					usleep(10000);
				}
				return -1;
			}
		}
	}
	return -1;
}

/* Type a line and wait for `want` and the next prompt after it. */
static void term_type(struct term *t, const char *line, const char *want)
{
	size_t from = t->len;
	term_wait_editing(t);
	assert_int_equal(write(t->fd, line, strlen(line)), (ssize_t)strlen(line));
	assert_int_equal(write(t->fd, "\r", 1), 1);
	if (term_expect(t, from, want))
		fail_msg("after '%s' no '%s' in:\n%s", line, want, t->buf + from);
	size_t at = (size_t)(strstr(t->buf + from, want) - t->buf);
	if (term_expect(t, at, "buddy> "))
		fail_msg("after '%s' no prompt in:\n%s", line, t->buf + from);
}

/*
 * Start build/buddy on an 80x24 pseudo-terminal and wait for its first
 * prompt; skips the test when the program has not been built.
 */
static void term_start(struct term *t)
{
	const char *dir = getenv("BUDDY_BINARY_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/buddy", dir ? dir : "build");
	if (access(path, X_OK) != 0) {
		print_message("skipped: %s not built\n", path);
		skip();
	}
	struct winsize ws = { 24, 80, 0, 0 };
	t->len = 0;
	t->pid = forkpty(&t->fd, NULL, NULL, &ws);
	assert_true(t->pid >= 0);
	child = t->pid;
	if (t->pid == 0) {
		setenv("TERM", "dumb", 1);
		unsetenv("NO_COLOR");
		execl(path, path, "--color=never", (char *)NULL);
		_exit(127);
	}
	if (term_expect(t, 0, "buddy> "))
		fail_msg("no first prompt:\n%s", t->buf);
}

/* Send `keys` (what a person types to leave) and expect a clean exit. */
static void term_end(struct term *t, const char *keys, const char *what)
{
	int status;
	if (term_exit(t, keys, &status))
		fail_msg("%s did not end the session:\n%s", what, t->buf);
	child = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(t->fd);
}

static void test_buddy_pty_interactive_session(void **state)
{
	(void)state;
	static struct term t;
	term_start(&t);
	assert_non_null(strstr(t.buf, "Type 'help' for the commands."));
	term_type(&t, "alloc 1", "#1 = alloc 1 -> pages 0-1");
	term_type(&t, "alloc 0", "split order 1 at page 2 -> 0");
	term_type(&t, "alocc 3", "error: unknown command 'alocc' (did you mean 'alloc'?)");
	term_type(&t, "free #1", "no merge: its buddy at page 2");
	term_type(&t, "map", "free lists (@ where blocks start)");
	term_type(&t, "help map", "usage: map");
	term_end(&t, "quit\r", "'quit'");
}

/* End of input (Ctrl-D) ends the session cleanly too. */
static void test_buddy_pty_end_of_input(void **state)
{
	(void)state;
	static struct term t;
	term_start(&t);
	term_type(&t, "pages 3", "#1 = pages 3");
	term_end(&t, "\x04", "end of input");
}

/*
 * Line editing: the up arrow brings back the last line, as in a shell. The
 * command is built with libedit whenever make check runs (scripts/deps.sh
 * installs it); a build without it is checked for reading plain lines.
 */
static void test_buddy_pty_history(void **state)
{
	(void)state;
	static struct term t;
	term_start(&t);
	term_type(&t, "alloc 0", "#1 = alloc 0 -> page 0");
#ifdef BUDDY_HAVE_LIBEDIT
	term_type(&t, "\033[A", "#2 = alloc 0 -> page 1");
#else
	term_type(&t, "alloc 0", "#2 = alloc 0 -> page 1");
#endif
	term_end(&t, "quit\r", "'quit'");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_buddy_pty_interactive_session, child_reap),
		cmocka_unit_test_teardown(test_buddy_pty_end_of_input, child_reap),
		cmocka_unit_test_teardown(test_buddy_pty_history, child_reap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
