/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"
#include "keeper/keeper-log.h"
#include "keeper/spawn.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define LISTEN_PID_PREFIX "LISTEN_PID="

extern char **environ;

/* The variables the keeper sets; inherited values of them are dropped, so
 * that a keeper started with fds of its own does not pass them on. */
static const char *const own_vars[] = {
	"NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_FDNAMES=", "LISTEN_PID=", "LISTEN_PIDFDID=",
};

struct child_env {
	char **envp;       /* the keeper's environment, borrowed, and ours */
	char *owned[4];    /* what this file allocated in envp */
	char *listen_pid;  /* "LISTEN_PID=" and room for the pid, or NULL */
};

static void child_env_free(struct child_env *env)
{
	for (size_t i = 0; i < ARRAY_SIZE(env->owned); i++)
		free(env->owned[i]);
	free(env->envp);
}

static bool is_own_var(const char *entry)
{
	for (size_t i = 0; i < ARRAY_SIZE(own_vars); i++)
		if (strncmp(entry, own_vars[i], strlen(own_vars[i])) == 0)
			return true;
	return false;
}

/* Everything the child's environment needs, made before fork(). */
static int child_env_make(const struct spawn_params *p, struct child_env *env)
{
	size_t n = 0, k = 0, o = 0;

	memset(env, 0, sizeof(*env));
	while (environ && environ[n])
		n++;
	env->envp = calloc(n + ARRAY_SIZE(env->owned) + 1, sizeof(char *));
	if (!env->envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!is_own_var(environ[i]))
			env->envp[k++] = environ[i];
	if (asprintf(&env->owned[o++], "NOTIFY_SOCKET=%s", p->notify_socket) < 0)
		goto oom;
	if (p->n_fds > 0) {
		if (asprintf(&env->owned[o++], "LISTEN_FDS=%zu", p->n_fds) < 0 ||
		    asprintf(&env->owned[o++], "LISTEN_FDNAMES=%s", p->fdnames) < 0)
			goto oom;
		/* Filled in by the child: its pid is known after fork(). */
		env->owned[o] = calloc(1, sizeof(LISTEN_PID_PREFIX) + 21);
		if (!env->owned[o])
			goto oom;
		env->listen_pid = env->owned[o++];
	}
	for (size_t i = 0; i < o; i++)
		env->envp[k++] = env->owned[i];
	return 0;
oom:
	/* asprintf() leaves its pointer undefined on failure. */
	env->owned[o - 1] = NULL;
	child_env_free(env);
	return -ENOMEM;
}

static void format_listen_pid(char *out, pid_t pid)
{
	char digits[21];
	size_t n = 0;
	uintmax_t v = (uintmax_t)pid;

	memcpy(out, LISTEN_PID_PREFIX, strlen(LISTEN_PID_PREFIX));
	out += strlen(LISTEN_PID_PREFIX);
	do {
		digits[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*out++ = digits[--n];
	*out = '\0';
}

static _Noreturn void child_fail(const char *what, const char *command)
{
	char line[512];
	int len, err = errno;

	len = snprintf(line, sizeof(line), KEEPER_LOG_PREFIX "cannot start %s: %s: %s\n",
		       command, what, strerror(err));
	if (len > 0)
		(void)!write(STDERR_FILENO, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
	_exit(127);
}

/* After fork(). The keeper is single-threaded, so no lock can be held by
 * a thread that is gone; still, nothing here allocates. */
static _Noreturn void child_exec(const struct spawn_params *p, struct child_env *env,
				 int *moved, pid_t keeper)
{
	struct rlimit nofile = p->nofile;
	sigset_t none;

	/* The keeper blocks the signals sd-event reads from a signalfd; the
	 * child starts with none blocked and every one at its default. */
	for (int sig = 1; sig < _NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fail("sigprocmask", p->argv[0]);
	/* A child whose keeper is gone has nobody to keep its files nor to
	 * start it again; it is asked to stop, like at a keeper's SIGTERM. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		child_fail("PR_SET_PDEATHSIG", p->argv[0]);
	if (getppid() != keeper)
		_exit(EXIT_FAILURE);

	/* Stored fds may sit anywhere, also on 3, 4, ...: first move each
	 * above the range, then put it in place. dup2() leaves the copy
	 * without close-on-exec; the moved ones keep it. */
	for (size_t i = 0; i < p->n_fds; i++) {
		moved[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, (int)(3 + p->n_fds));
		if (moved[i] < 0)
			child_fail("fcntl(F_DUPFD_CLOEXEC)", p->argv[0]);
	}
	for (size_t i = 0; i < p->n_fds; i++)
		if (dup2(moved[i], (int)(3 + i)) < 0)
			child_fail("dup2", p->argv[0]);
	/* The keeper's own fds are close-on-exec already; this also catches
	 * fds it inherited without it, which the child must not get. Kernels
	 * before 5.11 lack it, and then those stay open. */
	(void)syscall(SYS_close_range, (unsigned)(3 + p->n_fds), ~0U, CLOSE_RANGE_CLOEXEC);

	/* The keeper raised its own limit to hold the store; the child gets
	 * the one the keeper was started with, plus room for the stored
	 * files, so that they do not eat into what it would have had. */
	if (nofile.rlim_cur != RLIM_INFINITY) {
		nofile.rlim_cur += p->n_fds;
		if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_cur > nofile.rlim_max)
			nofile.rlim_cur = nofile.rlim_max;
	}
	(void)setrlimit(RLIMIT_NOFILE, &nofile);

	if (env->listen_pid)
		format_listen_pid(env->listen_pid, getpid());
	execvpe(p->argv[0], p->argv, env->envp);
	child_fail("exec", p->argv[0]);
}

int spawn_child(const struct spawn_params *p, pid_t *ret_pid)
{
	_cleanup_free_ int *moved = NULL;
	struct child_env env;
	pid_t keeper = getpid(), pid;
	int r;

	if (p->n_fds > 0) {
		moved = calloc(p->n_fds, sizeof(int));
		if (!moved)
			return -ENOMEM;
	}
	r = child_env_make(p, &env);
	if (r < 0)
		return r;
	pid = fork();
	if (pid == 0)
		child_exec(p, &env, moved, keeper);
	r = pid < 0 ? -errno : 0;
	child_env_free(&env);
	if (r < 0)
		return r;
	*ret_pid = pid;
	return 0;
}
