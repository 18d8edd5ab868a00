/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit test harness with TAP output; the runner is test.c, linked
 * into every unit test.
 *
 *   TEST(name) { ASSERT_EQ_INT(0, f()); ... }
 *   TEST_MAIN
 *
 * Tests register themselves (constructor functions) and run in the order they
 * are defined. A failed assertion prints where it failed, what was expected
 * and what was found as TAP diagnostics ("# ..."), then returns from the test.
 * So that it may return anywhere, a test hands what it sets up to
 * test_defer() (or keeps it in a _cleanup_ variable): the runner undoes it
 * once the test has returned, passed, failed or skipped. Fds and child
 * processes a test leaves are closed and killed by the runner, and fail a
 * test that passed. SKIP(reason) ends a test as skipped ("ok N - name #
 * SKIP reason"), SKIP_KNOWN_BUG(reason) too unless TEST_KNOWN_BUGS=1 is
 * set. The exit status is nonzero when any test failed.
 *
 * TEST_ONLY=name runs that test alone (the others are skipped).
 *
 * TEST_FAIL_AT=N makes the Nth assertion of every test fail, to show that a
 * test leaves nothing behind whichever assertion ends it: run a test with
 * N = 1, 2, ... under ASan and look for leaks.
 */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The test running: failed, or skipped with this reason. */
extern bool test_failed;
extern const char *test_skip_reason;

void test_register(const char *name, void (*fn)(void));

#define TEST(name)                                                      \
	static void test_##name(void);                                  \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                               \
		test_register(#name, test_##name);                      \
	}                                                               \
	static void test_##name(void)

__attribute__((format(printf, 3, 4)))
void test_fail_at(const char *file, int line, const char *fmt, ...);

/* ok, unless TEST_FAIL_AT names this assertion of the test. */
bool test_check(bool ok, const char *file, int line);

/* fn(data) runs after the test, however it ended; the last deferred runs
 * first. data must outlive the test: never the address of a local. */
void test_defer(void (*fn)(void *data), void *data);

/* Runs what was deferred now: for a test body run in a child process. */
void test_run_deferred(void);

/* A new directory, $TMPDIR/prefix-XXXXXX (in /tmp when TMPDIR is unset or
 * 48 characters or longer, so that socket paths below it fit in sun_path),
 * removed with everything in it after the test; NULL on failure. */
const char *test_tmpdir(const char *prefix);

int test_run_all(void);

#define TEST_MAIN                       \
	int main(void)                  \
	{                               \
		return test_run_all();  \
	}

/* Continues the test; use it to report several mismatches at once. */
#define EXPECT_FAIL(...) test_fail_at(__FILE__, __LINE__, __VA_ARGS__)

#define FAIL(...)                                                       \
	do {                                                            \
		test_fail_at(__FILE__, __LINE__, __VA_ARGS__);          \
		return;                                                 \
	} while (0)

#define SKIP(reason)                                                    \
	do {                                                            \
		test_skip_reason = (reason);                            \
		return;                                                 \
	} while (0)

/* A test that shows a known bug: skipped, with the reason, unless the
 * environment has TEST_KNOWN_BUGS=1 (to check a fix). */
#define SKIP_KNOWN_BUG(reason)                                          \
	do {                                                            \
		const char *test_kb_ = getenv("TEST_KNOWN_BUGS");       \
		if (!test_kb_ || strcmp(test_kb_, "1") != 0)            \
			SKIP("known bug: " reason);                     \
	} while (0)

#define TEST_CHECK(ok) test_check((ok), __FILE__, __LINE__)

#define ASSERT_TRUE(e)                                                  \
	do {                                                            \
		if (!TEST_CHECK(e))                                     \
			FAIL("expected %s to be true", #e);             \
	} while (0)

#define ASSERT_FALSE(e)                                                 \
	do {                                                            \
		if (!TEST_CHECK(!(e)))                                  \
			FAIL("expected %s to be false", #e);            \
	} while (0)

#define ASSERT_EQ_INT(expected, actual)                                 \
	do {                                                            \
		intmax_t test_e_ = (expected), test_a_ = (actual);      \
		if (!TEST_CHECK(test_e_ == test_a_))                    \
			FAIL("%s: expected %s = %jd, got %jd", #actual, \
			     #expected, test_e_, test_a_);              \
	} while (0)

#define ASSERT_EQ_PTR(expected, actual)                                 \
	do {                                                            \
		const void *test_e_ = (expected), *test_a_ = (actual);  \
		if (!TEST_CHECK(test_e_ == test_a_))                    \
			FAIL("%s: expected %s = %p, got %p", #actual,   \
			     #expected, test_e_, test_a_);              \
	} while (0)

#define ASSERT_NULL(actual) ASSERT_EQ_PTR(NULL, actual)

#define ASSERT_NOT_NULL(actual)                                         \
	do {                                                            \
		if (!TEST_CHECK((actual) != NULL))                      \
			FAIL("expected %s to be non-NULL", #actual);    \
	} while (0)

#define ASSERT_EQ_STR(expected, actual)                                 \
	do {                                                            \
		const char *test_e_ = (expected), *test_a_ = (actual);  \
		if (!TEST_CHECK(!test_e_ || !test_a_ ? test_e_ == test_a_ \
					 : strcmp(test_e_, test_a_) == 0)) \
			FAIL("%s: expected \"%s\", got \"%s\"", #actual, \
			     test_e_ ? test_e_ : "(null)",              \
			     test_a_ ? test_a_ : "(null)");             \
	} while (0)
