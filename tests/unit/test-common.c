/* SPDX-License-Identifier: MIT */
/* common/: the closing thread (reaper.h) and the decimal parser (parse.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse.h"
#include "common/reaper.h"
#include "test.h"

/* Whether the write end of a pipe is still open, seen from its read end. */
static bool writer_open(int read_fd)
{
	struct pollfd p = { .fd = read_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

static bool wait_pending_zero(struct reaper *r)
{
	for (int i = 0; i < 5000 && reaper_pending(r) > 0; i++)
		nanosleep(&(struct timespec) { .tv_nsec = 1000000 }, NULL);
	return reaper_pending(r) == 0;
}

/* Held fds stay open until the flush, then all of them are closed, more
 * than one write's worth too; reaper_free() flushes what is still held. */
TEST(reaper_closes_later_on_flush)
{
	enum { N = 100 };
	struct reaper *r = NULL;
	int read_ends[N], p[2];

	ASSERT_EQ_INT(0, reaper_new(&r));
	for (int i = 0; i < N; i++) {
		ASSERT_EQ_INT(0, pipe2(p, O_CLOEXEC));
		read_ends[i] = p[0];
		reaper_close_later(r, p[1]);
	}
	/* Each full batch went on its way when one more came; the last,
	 * partial one waits. */
	if (reaper_pending(r) < N % REAPER_HELD_MAX)
		EXPECT_FAIL("%d pending; at least the %d held ones should be", reaper_pending(r),
			    N % REAPER_HELD_MAX);
	for (int i = N - N % REAPER_HELD_MAX; i < N; i++)
		if (!writer_open(read_ends[i]))
			EXPECT_FAIL("held fd %d was closed before the flush", i);
	reaper_flush(r);
	if (!wait_pending_zero(r))
		EXPECT_FAIL("%d fds still pending after the flush", reaper_pending(r));
	for (int i = 0; i < N; i++)
		if (writer_open(read_ends[i]))
			EXPECT_FAIL("fd %d of %d still open after the flush", i, N);
	reaper_flush(r); /* nothing held: nothing happens */

	ASSERT_EQ_INT(0, pipe2(p, O_CLOEXEC));
	reaper_close_later(r, p[1]);
	reaper_free(r);
	if (writer_open(p[0]))
		EXPECT_FAIL("reaper_free() left a held fd open");
	close(p[0]);
	for (int i = 0; i < N; i++)
		close(read_ends[i]);
}

TEST(reaper_without_a_thread_closes_at_once)
{
	int p[2];

	ASSERT_EQ_INT(0, pipe2(p, O_CLOEXEC));
	reaper_close_later(NULL, p[1]);
	ASSERT_FALSE(writer_open(p[0]));
	close(p[0]);
	reaper_flush(NULL);
	ASSERT_EQ_INT(0, reaper_pending(NULL));
}

TEST(parse_decimal_takes_plain_digits_only)
{
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "one",
					   "4294967296", "99999999999999999999" };
	uint32_t v = 7;

	ASSERT_EQ_INT(0, parse_decimal("0", 0, 10, &v));
	ASSERT_EQ_INT(0, v);
	ASSERT_EQ_INT(0, parse_decimal("010", 0, 10, &v));
	ASSERT_EQ_INT(10, v);
	ASSERT_EQ_INT(0, parse_decimal("4294967295", 0, UINT32_MAX, &v));
	ASSERT_TRUE(v == UINT32_MAX);
	ASSERT_EQ_INT(-EINVAL, parse_decimal("11", 0, 10, &v));
	ASSERT_EQ_INT(-EINVAL, parse_decimal("0", 1, 10, &v));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 7;
		if (parse_decimal(bad[i], 0, UINT32_MAX, &v) != -EINVAL || v != 7)
			EXPECT_FAIL("\"%s\" accepted, or the result changed (%u)", bad[i], v);
	}
}

TEST_MAIN
