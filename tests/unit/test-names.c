/* SPDX-License-Identifier: MIT */
/* Container names and seat ids, as the D-Bus API accepts them. */
#include "seat/names.h"
#include "test.h"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

TEST(container_name_null_and_empty)
{
	ASSERT_FALSE(container_name_is_valid(NULL));
	ASSERT_FALSE(container_name_is_valid(""));
}

TEST(container_name_plain)
{
	ASSERT_TRUE(container_name_is_valid("a"));
	ASSERT_TRUE(container_name_is_valid("Z"));
	ASSERT_TRUE(container_name_is_valid("0"));
	ASSERT_TRUE(container_name_is_valid("web"));
	ASSERT_TRUE(container_name_is_valid("Desktop2"));
}

TEST(container_name_allowed_punctuation)
{
	ASSERT_TRUE(container_name_is_valid("web-1"));
	ASSERT_TRUE(container_name_is_valid("my_box"));
	ASSERT_TRUE(container_name_is_valid("fedora.40"));
	ASSERT_TRUE(container_name_is_valid("_hidden"));
	ASSERT_TRUE(container_name_is_valid("a-._"));
	ASSERT_TRUE(container_name_is_valid("a.."));
	ASSERT_TRUE(container_name_is_valid("a--"));
}

TEST(container_name_leading_dot_or_dash)
{
	ASSERT_FALSE(container_name_is_valid("."));
	ASSERT_FALSE(container_name_is_valid(".."));
	ASSERT_FALSE(container_name_is_valid(".web"));
	ASSERT_FALSE(container_name_is_valid("-"));
	ASSERT_FALSE(container_name_is_valid("-web"));
}

TEST(container_name_length)
{
	char *n64 = repeat('a', 64), *n65 = repeat('a', 65);
	bool ok64 = container_name_is_valid(n64);
	bool ok65 = container_name_is_valid(n65);

	free(n64);
	free(n65);
	ASSERT_EQ_INT(64, CONTAINER_NAME_MAX);
	ASSERT_TRUE(ok64);
	ASSERT_FALSE(ok65);
}

TEST(container_name_forbidden_characters)
{
	static const char *const bad[] = {
		"a/b", "/", "../x", "a b", " a", "a ", "a\tb", "a\nb",
		"a:b", "a@b", "a+b", "a~b", "a,b", "a;b", "a*b", "a\\b",
		"a$b", "a'b", "a\"b", "a%b", "a=b", "a!b", "a(b)", "a[b]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (container_name_is_valid(bad[i]))
			FAIL("\"%s\" accepted", bad[i]);
}

TEST(container_name_utf8_rejected)
{
	ASSERT_FALSE(container_name_is_valid("caf\xc3\xa9"));         /* é */
	ASSERT_FALSE(container_name_is_valid("\xe2\x82\xac"));        /* € */
	ASSERT_FALSE(container_name_is_valid("a\xf0\x9f\x90\xa7")); /* 4 bytes */
	ASSERT_FALSE(container_name_is_valid("\xff"));
}

TEST(seat_id_valid)
{
	ASSERT_TRUE(seat_id_is_valid("seat0"));
	ASSERT_TRUE(seat_id_is_valid("seat1"));
	ASSERT_TRUE(seat_id_is_valid("seat42"));
	ASSERT_TRUE(seat_id_is_valid("seat-usb_1"));
	ASSERT_TRUE(seat_id_is_valid("seatA"));
}

TEST(seat_id_invalid)
{
	ASSERT_FALSE(seat_id_is_valid(NULL));
	ASSERT_FALSE(seat_id_is_valid(""));
	ASSERT_FALSE(seat_id_is_valid("seat"));
	ASSERT_FALSE(seat_id_is_valid("Seat0"));
	ASSERT_FALSE(seat_id_is_valid("seet0"));
	ASSERT_FALSE(seat_id_is_valid("0seat"));
	ASSERT_FALSE(seat_id_is_valid("xseat0"));
	ASSERT_FALSE(seat_id_is_valid("seat/0"));
	ASSERT_FALSE(seat_id_is_valid("seat.0"));
	ASSERT_FALSE(seat_id_is_valid("seat 0"));
	ASSERT_FALSE(seat_id_is_valid("seat\xc3\xa9"));
}

TEST(seat_id_length)
{
	/* The module's limit (its uapi header), so that every seat devnsd
	 * accepts also fits the module and the seatd protocol. */
	char *longest = repeat('0', SEAT_ID_MAX), *longer = repeat('0', SEAT_ID_MAX + 1);
	bool ok_longest, ok_longer;

	memcpy(longest, "seat", 4);
	memcpy(longer, "seat", 4);
	ok_longest = seat_id_is_valid(longest);
	ok_longer = seat_id_is_valid(longer);
	free(longest);
	free(longer);
	ASSERT_EQ_INT(31, SEAT_ID_MAX);
	ASSERT_TRUE(ok_longest);
	ASSERT_FALSE(ok_longer);
}

TEST_MAIN
