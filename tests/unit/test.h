/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit test harness with TAP output.
 *
 *   TEST(name) { ASSERT_EQ_INT(0, f()); ... }
 *   TEST_MAIN
 *
 * Tests register themselves (constructor functions) and run in the order they
 * are defined. A failed assertion prints where it failed, what was expected
 * and what was found as TAP diagnostics ("# ..."), then returns from the test.
 * SKIP(reason) ends a test as skipped, SKIP_KNOWN_BUG(reason) too unless
 * TEST_KNOWN_BUGS=1 is set. The exit status is nonzero when any test
 * failed. Each test file is one executable, so everything here is static.
 */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_MAX 256

struct test_case {
	const char *name;
	void (*fn)(void);
};

static struct test_case test_cases[TEST_MAX];
static unsigned test_count;
static bool test_failed;
static const char *test_skip_reason;

__attribute__((unused)) static void test_register(const char *name, void (*fn)(void))
{
	if (test_count == TEST_MAX) {
		fprintf(stderr, "too many tests, raise TEST_MAX\n");
		abort();
	}
	test_cases[test_count].name = name;
	test_cases[test_count].fn = fn;
	test_count++;
}

#define TEST(name)                                                      \
	static void test_##name(void);                                  \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                               \
		test_register(#name, test_##name);                      \
	}                                                               \
	static void test_##name(void)

__attribute__((unused, format(printf, 3, 4)))
static void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_failed = true;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
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

#define ASSERT_TRUE(e)                                                  \
	do {                                                            \
		if (!(e))                                               \
			FAIL("expected %s to be true", #e);             \
	} while (0)

#define ASSERT_FALSE(e)                                                 \
	do {                                                            \
		if (e)                                                  \
			FAIL("expected %s to be false", #e);            \
	} while (0)

#define ASSERT_EQ_INT(expected, actual)                                 \
	do {                                                            \
		intmax_t test_e_ = (expected), test_a_ = (actual);      \
		if (test_e_ != test_a_)                                 \
			FAIL("%s: expected %s = %jd, got %jd", #actual, \
			     #expected, test_e_, test_a_);              \
	} while (0)

#define ASSERT_EQ_PTR(expected, actual)                                 \
	do {                                                            \
		const void *test_e_ = (expected), *test_a_ = (actual);  \
		if (test_e_ != test_a_)                                 \
			FAIL("%s: expected %s = %p, got %p", #actual,   \
			     #expected, test_e_, test_a_);              \
	} while (0)

#define ASSERT_NULL(actual) ASSERT_EQ_PTR(NULL, actual)

#define ASSERT_NOT_NULL(actual)                                         \
	do {                                                            \
		if ((actual) == NULL)                                   \
			FAIL("expected %s to be non-NULL", #actual);    \
	} while (0)

#define ASSERT_EQ_STR(expected, actual)                                 \
	do {                                                            \
		const char *test_e_ = (expected), *test_a_ = (actual);  \
		if (!test_e_ || !test_a_ ? test_e_ != test_a_           \
					 : strcmp(test_e_, test_a_) != 0) \
			FAIL("%s: expected \"%s\", got \"%s\"", #actual, \
			     test_e_ ? test_e_ : "(null)",              \
			     test_a_ ? test_a_ : "(null)");             \
	} while (0)

__attribute__((unused)) static int test_run_all(void)
{
	unsigned failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%u\n", test_count);
	for (unsigned i = 0; i < test_count; i++) {
		test_failed = false;
		test_skip_reason = NULL;
		test_cases[i].fn();
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

#define TEST_MAIN                       \
	int main(void)                  \
	{                               \
		return test_run_all();  \
	}
