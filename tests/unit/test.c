/* SPDX-License-Identifier: MIT */
/* The runner of test.h: TAP output, deferred cleanups, and the checks that
 * a test left no fd open and no child process behind. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define TEST_MAX 256
#define TEST_DEFER_MAX 64
#define TEST_LIST_MAX 256 /* fds or children of a process, listed */

struct test_case {
	const char *name;
	void (*fn)(void);
};

static struct test_case test_cases[TEST_MAX];
static unsigned test_count;

bool test_failed;
const char *test_skip_reason;

static struct {
	void (*fn)(void *data);
	void *data;
} deferred[TEST_DEFER_MAX];
static unsigned n_deferred;

/* TEST_FAIL_AT (0 without), and the assertions of the running test. */
static unsigned fail_at;
static unsigned checks;

void test_register(const char *name, void (*fn)(void))
{
	if (test_count == TEST_MAX) {
		fprintf(stderr, "too many tests, raise TEST_MAX\n");
		abort();
	}
	test_cases[test_count].name = name;
	test_cases[test_count].fn = fn;
	test_count++;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_failed = true;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

bool test_check(bool ok, const char *file, int line)
{
	if (fail_at && ++checks == fail_at) {
		printf("# %s:%d: assertion %u fails on purpose (TEST_FAIL_AT)\n", file, line, checks);
		return false;
	}
	return ok;
}

void test_defer(void (*fn)(void *data), void *data)
{
	if (n_deferred == TEST_DEFER_MAX) {
		fprintf(stderr, "too many deferred cleanups, raise TEST_DEFER_MAX\n");
		abort();
	}
	deferred[n_deferred].fn = fn;
	deferred[n_deferred].data = data;
	n_deferred++;
}

void test_run_deferred(void)
{
	while (n_deferred > 0) {
		n_deferred--;
		deferred[n_deferred].fn(deferred[n_deferred].data);
	}
}

/* The open fds, at most max of them; how many. */
static unsigned list_fds(int *fds, unsigned max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

/* Closes the fds the test opened and left open. A test that passed fails
 * for each; after a failure they are expected and only counted. */
static void check_fds(const int *before, unsigned n_before)
{
	int now[TEST_LIST_MAX];
	unsigned n = list_fds(now, TEST_LIST_MAX), left = 0;
	bool failed = test_failed;

	for (unsigned i = 0; i < n; i++) {
		char link[64], target[PATH_MAX];
		bool known = false;
		ssize_t k;

		for (unsigned j = 0; j < n_before && !known; j++)
			known = before[j] == now[i];
		if (known)
			continue;
		if (!failed) {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", now[i]);
			k = readlink(link, target, sizeof(target) - 1);
			target[k > 0 ? k : 0] = '\0';
			printf("# fd %d (%s) left open by the test\n", now[i], target);
			test_failed = true;
		}
		close(now[i]);
		left++;
	}
	if (failed && left)
		printf("# closed %u fds the failed test left open\n", left);
}

/* The child processes, running or not reaped, at most max of them. */
static unsigned list_children(int *pids, unsigned max)
{
	char path[64];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fscanf(f, "%d", &pids[n]) == 1)
		n++;
	fclose(f);
	return n;
}

/* Kills and reaps the children the test left. A test that passed fails
 * for each; after a failure they are expected and only counted. */
static void check_children(const int *before, unsigned n_before)
{
	int now[TEST_LIST_MAX];
	unsigned n = list_children(now, TEST_LIST_MAX), left = 0;
	bool failed = test_failed;

	for (unsigned i = 0; i < n; i++) {
		bool known = false;

		for (unsigned j = 0; j < n_before && !known; j++)
			known = before[j] == now[i];
		if (known)
			continue;
		if (!failed) {
			printf("# process %d left behind by the test\n", now[i]);
			test_failed = true;
		}
		kill(now[i], SIGKILL);
		while (waitpid(now[i], NULL, 0) < 0 && errno == EINTR)
			;
		left++;
	}
	if (failed && left)
		printf("# killed %u processes the failed test left behind\n", left);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path) < 0)
		printf("# cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void remove_tree(void *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		printf("# cannot remove %s: %s\n", (char *)path, strerror(errno));
	free(path);
}

const char *test_tmpdir(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (!tmp || !*tmp || strlen(tmp) >= 48)
		tmp = "/tmp";
	if (asprintf(&dir, "%s/%s-XXXXXX", tmp, prefix) < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		printf("# cannot make %s: %s\n", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	test_defer(remove_tree, dir);
	return dir;
}

int test_run_all(void)
{
	const char *env = getenv("TEST_FAIL_AT");
	const char *only = getenv("TEST_ONLY");
	unsigned failed = 0;

	fail_at = env ? (unsigned)strtoul(env, NULL, 10) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%u\n", test_count);
	for (unsigned i = 0; i < test_count; i++) {
		int fds[TEST_LIST_MAX], children[TEST_LIST_MAX];
		unsigned n_fds = list_fds(fds, TEST_LIST_MAX);
		unsigned n_children = list_children(children, TEST_LIST_MAX);

		test_failed = false;
		test_skip_reason = NULL;
		checks = 0;
		if (only && *only && strcmp(only, test_cases[i].name) != 0) {
			printf("ok %u - %s # SKIP not in TEST_ONLY\n", i + 1, test_cases[i].name);
			continue;
		}
		test_cases[i].fn();
		test_run_deferred();
		check_fds(fds, n_fds);
		check_children(children, n_children);
		if (test_failed) {
			failed++;
			printf("not ok %u - %s\n", i + 1, test_cases[i].name);
		} else if (test_skip_reason) {
			printf("ok %u - %s # SKIP %s\n", i + 1, test_cases[i].name,
			       test_skip_reason);
		} else {
			printf("ok %u - %s\n", i + 1, test_cases[i].name);
		}
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
