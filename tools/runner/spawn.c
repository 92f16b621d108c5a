/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - child processes for the runners, and the default allocator
 * list (see spawn.h).
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const spawn_peers[] = { "jemalloc", "mimalloc", "tcmalloc", NULL };

static int runner_dir(char *buf, size_t len)
{
	const char *env = getenv("BUDDY_RUNNER_DIR");
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

int spawn_runner_path(const char *alloc, char *buf, size_t len)
{
	char dir[PATH_MAX];
	const char *which = "native";
	for (int i = 0; spawn_peers[i]; i++)
		if (strcmp(alloc, spawn_peers[i]) == 0)
			which = spawn_peers[i];
	if (runner_dir(dir, sizeof(dir)) < 0)
		return -1;
	/* Next to the program (build tree), else where `make install` puts them. */
	snprintf(buf, len, "%s/buddy-run-%s", dir, which);
	if (access(buf, X_OK) == 0)
		return 0;
	snprintf(buf, len, "%s/../libexec/buddy/buddy-run-%s", dir, which);
	return access(buf, X_OK) == 0 ? 0 : -1;
}

static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	for (;;) {
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

int spawn_capture(char *const *prefix, char *const *argv, char **out)
{
	char *args[64];
	size_t n = 0;
	for (size_t i = 0; prefix && prefix[i] && n < 40; i++)
		args[n++] = prefix[i];
	for (size_t i = 0; argv[i] && n < 63; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	*out = NULL;
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		close(fd[0]);
		close(fd[1]);
		if (!args[0])
			_exit(127);
		execv(args[0], args);
		execvp(args[0], args);
		fprintf(stderr, "%s: %s\n", args[0], strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	int rc = read_all(fd[0], out);
	close(fd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int spawn_default_allocs(const char *prog, const char *mode, char **buf,
			 void (*add)(void *arg, const char *name), void *arg)
{
	char path[PATH_MAX];
	*buf = NULL;
	if (spawn_runner_path("native", path, sizeof(path)) < 0) {
		fprintf(stderr, "%s: runner buddy-run-native not found\n", prog);
		return -1;
	}
	char list[] = "list";
	char *argv[] = { path, list, NULL };
	if (spawn_capture(NULL, argv, buf) != 0 || !*buf) {
		fprintf(stderr, "%s: %s list failed\n", prog, path);
		return -1;
	}
	/* The line is "MODE glibc ours...". */
	size_t mlen = strlen(mode);
	char *line = *buf;
	while (line && !(strncmp(line, mode, mlen) == 0 && line[mlen] == ' '))
		line = (line = strchr(line, '\n')) ? line + 1 : NULL;
	char *end = line ? strchr(line, '\n') : NULL;
	if (!end) {
		fprintf(stderr, "%s: %s list printed no %s line\n", prog, path, mode);
		return -1;
	}
	*end = '\0';
	const char *glibc = NULL;
	char *save = NULL;
	for (char *tok = strtok_r(line + mlen + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "glibc") == 0)
			glibc = tok; /* ours first, then the C library, then the peers */
		else
			add(arg, tok);
	}
	if (glibc)
		add(arg, glibc);
	for (int i = 0; spawn_peers[i]; i++)
		if (spawn_runner_path(spawn_peers[i], path, sizeof(path)) == 0)
			add(arg, spawn_peers[i]);
	return 0;
}

/* The names a runner list offers, collected by spawn_check_allocs. */
struct name_list {
	const char *names[64];
	size_t n;
};

static void name_list_add(void *arg, const char *name)
{
	struct name_list *l = arg;
	if (l->n < sizeof(l->names) / sizeof(l->names[0]))
		l->names[l->n++] = name;
}

static int name_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

int spawn_check_allocs(const char *prog, const char *mode, const char *const *names, size_t n)
{
	struct name_list valid = { { NULL }, 0 };
	char *buf = NULL;
	int rc = spawn_default_allocs(prog, mode, &buf, name_list_add, &valid);
	size_t npeers = 0;
	while (spawn_peers[npeers])
		npeers++;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (name_in(names[i], valid.names, valid.n))
			continue;
		if (name_in(names[i], spawn_peers, npeers)) {
			fprintf(stderr, "%s: %s is not installed here: its runner buddy-run-%s was not "
					"built (install its -dev package, then rebuild)\n", prog, names[i],
				names[i]);
		} else {
			fprintf(stderr, "%s: unknown allocator '%s' (valid:", prog, names[i]);
			for (size_t k = 0; k < valid.n; k++)
				fprintf(stderr, "%s %s", k ? "," : "", valid.names[k]);
			fprintf(stderr, ")\n");
		}
		rc = -1;
	}
	free(buf);
	return rc;
}
