/* SPDX-License-Identifier: MIT */
/* The configuration file (devnsd.conf(5)): INI parsing, PauseTimeoutSec and
 * RuntimeDirectory values, and loading from a file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/config.h"
#include "common/macro.h"
#include "test.h"

#define NAME "test.conf"

static const char *tmpdir;

/* A private directory for the file tests, removed after the test. */
static const char *make_tmpdir(void)
{
	return tmpdir = test_tmpdir("devns-config");
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* Parses text into a fresh config; the caller calls config_done(). */
static int parse(struct config *c, const char *text)
{
	config_init(c);
	return config_parse_string(c, text, NAME);
}

/* config_parse_seconds(s), or -1 (after a diagnostic) if it failed. */
static int64_t seconds(const char *s)
{
	uint64_t usec = 12345;
	int r = config_parse_seconds(s, &usec);

	if (r < 0) {
		if (r != -EINVAL)
			printf("# config_parse_seconds(\"%s\") = %d, not -EINVAL\n", s, r);
		if (usec != 12345)
			printf("# config_parse_seconds(\"%s\") failed but changed the result\n", s);
		return -1;
	}
	return (int64_t)usec;
}

TEST(defaults)
{
	_cleanup_(config_done) struct config c = { 0 };

	config_init(&c);
	ASSERT_EQ_INT(500000, c.pause_timeout_usec);
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	ASSERT_NULL(c.runtime_dir);
	config_done(&c);
	ASSERT_NULL(c.runtime_dir);
	/* Twice is fine. */
	config_done(&c);
}

TEST(empty_text_keeps_defaults)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c, ""));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	ASSERT_NULL(c.runtime_dir);
	config_done(&c);

	ASSERT_EQ_INT(0, parse(&c, "[Broker]\n"));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	ASSERT_NULL(c.runtime_dir);
	config_done(&c);
}

TEST(seconds_valid)
{
	ASSERT_EQ_INT(0, seconds("0"));
	ASSERT_EQ_INT(0, seconds("0.0"));
	ASSERT_EQ_INT(500000, seconds("0.5"));
	ASSERT_EQ_INT(250000, seconds("0.25"));
	ASSERT_EQ_INT(1000, seconds("0.001"));
	ASSERT_EQ_INT(1, seconds("0.000001"));
	ASSERT_EQ_INT(1000000, seconds("1"));
	ASSERT_EQ_INT(1500000, seconds("1.5"));
	ASSERT_EQ_INT(59999999, seconds("59.999999"));
	ASSERT_EQ_INT(60000000, seconds("60"));
	ASSERT_EQ_INT(60000000, seconds("60.0"));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_MAX, seconds("60"));
}

TEST(seconds_out_of_range)
{
	ASSERT_EQ_INT(-1, seconds("60.1"));
	ASSERT_EQ_INT(-1, seconds("60.000001"));
	ASSERT_EQ_INT(-1, seconds("61"));
	ASSERT_EQ_INT(-1, seconds("1e3"));
	ASSERT_EQ_INT(-1, seconds("1e300"));
	ASSERT_EQ_INT(-1, seconds("1e400")); /* ERANGE */
	ASSERT_EQ_INT(-1, seconds("99999999999999999999"));
	ASSERT_EQ_INT(-1, seconds("-1"));
	ASSERT_EQ_INT(-1, seconds("-0.5"));
	ASSERT_EQ_INT(-1, seconds("-60"));
}

TEST(seconds_not_a_number)
{
	uint64_t usec = 7;

	ASSERT_EQ_INT(-EINVAL, config_parse_seconds(NULL, &usec));
	ASSERT_EQ_INT(-EINVAL, config_parse_seconds("", &usec));
	ASSERT_EQ_INT(7, usec);
	ASSERT_EQ_INT(-1, seconds("nan"));
	ASSERT_EQ_INT(-1, seconds("NaN"));
	ASSERT_EQ_INT(-1, seconds("-nan"));
	ASSERT_EQ_INT(-1, seconds("inf"));
	ASSERT_EQ_INT(-1, seconds("-inf"));
	ASSERT_EQ_INT(-1, seconds("infinity"));
	ASSERT_EQ_INT(-1, seconds("soon"));
	ASSERT_EQ_INT(-1, seconds("abc"));
	ASSERT_EQ_INT(-1, seconds("."));
	ASSERT_EQ_INT(-1, seconds("-"));
	ASSERT_EQ_INT(-1, seconds("0.5s"));
	/* strtod() takes these; devnsd.conf(5) says a decimal number. */
	ASSERT_EQ_INT(-1, seconds(" 5"));
	ASSERT_EQ_INT(-1, seconds("+5"));
	ASSERT_EQ_INT(-1, seconds("1e1"));
	ASSERT_EQ_INT(-1, seconds("0x1p-1"));
	ASSERT_EQ_INT(-1, seconds("1..2"));
	ASSERT_EQ_INT(-1, seconds("1.2.3"));
	ASSERT_EQ_INT(-1, seconds("500ms"));
	ASSERT_EQ_INT(-1, seconds("1,5"));
	ASSERT_EQ_INT(-1, seconds("1 "));
	ASSERT_EQ_INT(-1, seconds("1 2"));
	ASSERT_EQ_INT(-1, seconds("0.5\n"));
}

TEST(pause_timeout_values)
{
	static const struct {
		const char *value;
		int64_t usec; /* -1: rejected */
	} cases[] = {
		{ "0", 0 },
		{ "0.5", 500000 },
		{ "1", 1000000 },
		{ "0.25", 250000 },
		{ "60", 60000000 },
		{ "60.1", -1 },
		{ "-1", -1 },
		{ "-0.5", -1 },
		{ "soon", -1 },
		{ "", -1 },
		{ "1e3", -1 },
		{ "nan", -1 },
		{ "inf", -1 },
		{ "2 seconds", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(config_done) struct config c = { 0 };
		char text[128];
		int r;

		snprintf(text, sizeof(text), "[Broker]\nPauseTimeoutSec=%s\n", cases[i].value);
		r = parse(&c, text);
		if (cases[i].usec < 0) {
			if (r != -EINVAL)
				EXPECT_FAIL("PauseTimeoutSec=%s: expected -EINVAL, got %d",
					    cases[i].value, r);
		} else if (r != 0 || c.pause_timeout_usec != (uint64_t)cases[i].usec) {
			EXPECT_FAIL("PauseTimeoutSec=%s: expected 0 and %jd us, got %d and %ju us",
				    cases[i].value, (intmax_t)cases[i].usec, r,
				    (uintmax_t)c.pause_timeout_usec);
		}
		config_done(&c);
	}
}

TEST(pause_timeout_bad_value_keeps_previous)
{
	_cleanup_(config_done) struct config c = { 0 };

	config_init(&c);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Broker]\nPauseTimeoutSec=2\n", NAME));
	ASSERT_EQ_INT(2000000, c.pause_timeout_usec);
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Broker]\nPauseTimeoutSec=nan\n", NAME));
	ASSERT_EQ_INT(2000000, c.pause_timeout_usec);
	config_done(&c);
}

TEST(last_value_wins)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c, "[Broker]\nPauseTimeoutSec=1\nPauseTimeoutSec=3\n"
				  "RuntimeDirectory=/a\nRuntimeDirectory=/b\n"));
	ASSERT_EQ_INT(3000000, c.pause_timeout_usec);
	ASSERT_EQ_STR("/b", c.runtime_dir);
	config_done(&c);

	/* A section may appear twice. */
	ASSERT_EQ_INT(0, parse(&c, "[Broker]\nPauseTimeoutSec=1\n[Other]\nX=1\n"
				  "[Broker]\nPauseTimeoutSec=4\n"));
	ASSERT_EQ_INT(4000000, c.pause_timeout_usec);
	config_done(&c);
}

TEST(runtime_directory)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c, "[Broker]\nRuntimeDirectory=/run/devns-test\n"));
	ASSERT_EQ_STR("/run/devns-test", c.runtime_dir);
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	config_done(&c);

	ASSERT_EQ_INT(0, parse(&c, "[Broker]\nRuntimeDirectory=/\n"));
	ASSERT_EQ_STR("/", c.runtime_dir);
	config_done(&c);
}

TEST(runtime_directory_rejected)
{
	static const char *const bad[] = {
		"run/devns", "./run", "../run", "devns", "~/run", "",
	};
	char text[512], longpath[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_(config_done) struct config c = { 0 };
		int r;

		snprintf(text, sizeof(text), "[Broker]\nRuntimeDirectory=%s\n", bad[i]);
		r = parse(&c, text);
		if (r != -EINVAL)
			EXPECT_FAIL("RuntimeDirectory=%s: expected -EINVAL, got %d", bad[i], r);
		if (c.runtime_dir)
			EXPECT_FAIL("RuntimeDirectory=%s: stored \"%s\"", bad[i], c.runtime_dir);
		config_done(&c);
	}

	/* Longer than a line of the parser (200 characters): refused. */
	longpath[0] = '/';
	memset(longpath + 1, 'x', 249);
	longpath[250] = '\0';
	snprintf(text, sizeof(text), "[Broker]\nRuntimeDirectory=%s\n", longpath);
	{
		_cleanup_(config_done) struct config c = { 0 };

		ASSERT_EQ_INT(-EINVAL, parse(&c, text));
		config_done(&c);
	}
}

/* inih reads at most INI_MAX_LINE (200) characters of a line and parses the
 * rest as a line of its own. When that rest looks like "key=value" (an
 * unknown key, ignored) a long RuntimeDirectory is stored cut short and the
 * text is accepted; the 200-character check in config.c never sees it. */
TEST(long_line_cut_short)
{
	char text[512], longpath[300];
	_cleanup_(config_done) struct config c = { 0 };
	int r;

	longpath[0] = '/';
	memset(longpath + 1, 'x', 190);
	strcpy(longpath + 191, "/a=b");
	snprintf(text, sizeof(text), "[Broker]\nRuntimeDirectory=%s\n", longpath);
	r = parse(&c, text);
	if (r == 0)
		EXPECT_FAIL("accepted, RuntimeDirectory stored as %zu of %zu characters",
			    c.runtime_dir ? strlen(c.runtime_dir) : 0, strlen(longpath));
	config_done(&c);
}

TEST(unknown_key_and_section_ignored)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c, "[Broker]\nNoSuchKey=1\nPauseTimeoutSec=2\n"));
	ASSERT_EQ_INT(2000000, c.pause_timeout_usec);
	config_done(&c);

	ASSERT_EQ_INT(0, parse(&c, "[Future]\nPauseTimeoutSec=nan\nRuntimeDirectory=relative\n"));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	ASSERT_NULL(c.runtime_dir);
	config_done(&c);

	/* Keys before any section header belong to no known section. */
	ASSERT_EQ_INT(0, parse(&c, "PauseTimeoutSec=9\n[Broker]\n"));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	config_done(&c);
}

TEST(names_are_case_sensitive)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c, "[broker]\nPauseTimeoutSec=2\n"));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	config_done(&c);

	ASSERT_EQ_INT(0, parse(&c, "[Broker]\npausetimeoutsec=2\nRUNTIMEDIRECTORY=/x\n"));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	ASSERT_NULL(c.runtime_dir);
	config_done(&c);
}

TEST(syntax_error)
{
	static const char *const bad[] = {
		"[Broker]\nthis is not a key value pair\n",
		"[Broker\nPauseTimeoutSec=1\n",
		"[Broker]\nPauseTimeoutSec\n",
		"garbage\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_(config_done) struct config c = { 0 };
		int r = parse(&c, bad[i]);

		if (r != -EINVAL)
			EXPECT_FAIL("text %zu: expected -EINVAL, got %d", i, r);
		config_done(&c);
	}
}

TEST(comments_and_blank_lines)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c,
			       "# devnsd.conf\n"
			       "; another comment\n"
			       "\n"
			       "[Broker]\n"
			       "# PauseTimeoutSec=9\n"
			       "; RuntimeDirectory=relative\n"
			       "\n"
			       "PauseTimeoutSec=1\n"
			       "\n"
			       "RuntimeDirectory=/run/x\n"
			       "# the end\n"));
	ASSERT_EQ_INT(1000000, c.pause_timeout_usec);
	ASSERT_EQ_STR("/run/x", c.runtime_dir);
	config_done(&c);

	/* Comment lines may be indented. */
	ASSERT_EQ_INT(0, parse(&c, "[Broker]\n  # PauseTimeoutSec=nan\nPauseTimeoutSec=3\n"));
	ASSERT_EQ_INT(3000000, c.pause_timeout_usec);
	config_done(&c);
}

TEST(whitespace_is_stripped)
{
	_cleanup_(config_done) struct config c = { 0 };

	ASSERT_EQ_INT(0, parse(&c, "  [Broker]  \n"
				  "PauseTimeoutSec   =   0.25   \n"
				  "RuntimeDirectory=\t/run/y\t\n"));
	ASSERT_EQ_INT(250000, c.pause_timeout_usec);
	ASSERT_EQ_STR("/run/y", c.runtime_dir);
	config_done(&c);

	/* Windows line ends. */
	ASSERT_EQ_INT(0, parse(&c, "[Broker]\r\nPauseTimeoutSec=2\r\nRuntimeDirectory=/run/z\r\n"));
	ASSERT_EQ_INT(2000000, c.pause_timeout_usec);
	ASSERT_EQ_STR("/run/z", c.runtime_dir);
	config_done(&c);

	/* The first key of a section may be indented. */
	ASSERT_EQ_INT(0, parse(&c, "[Broker]\n    PauseTimeoutSec = 4\n"));
	ASSERT_EQ_INT(4000000, c.pause_timeout_usec);
	config_done(&c);
}

/* devnsd.conf(5): "whitespace around keys and values is stripped". inih is
 * built with INI_ALLOW_MULTILINE, so an indented line after a key is read as
 * a continuation of that key's value: an indented key is applied to the key
 * above it, or lost when that one is unknown. */
TEST(indented_keys)
{
	_cleanup_(config_done) struct config c = { 0 };
	int r;

	r = parse(&c, "[Broker]\n  Unknown=1\n  PauseTimeoutSec=5\n");
	if (r != 0 || c.pause_timeout_usec != 5000000)
		EXPECT_FAIL("indented PauseTimeoutSec after an unknown key: got %d and %ju us",
			    r, (uintmax_t)c.pause_timeout_usec);
	config_done(&c);

	r = parse(&c, "[Broker]\n  PauseTimeoutSec = 2\n  RuntimeDirectory = /run/x\n");
	if (r != 0 || c.pause_timeout_usec != 2000000 || !c.runtime_dir ||
	    strcmp(c.runtime_dir, "/run/x") != 0)
		EXPECT_FAIL("two indented keys: got %d, %ju us and %s", r,
			    (uintmax_t)c.pause_timeout_usec, c.runtime_dir ? c.runtime_dir : "(null)");
	config_done(&c);
}

TEST(error_stops_with_einval_but_keeps_earlier_values)
{
	_cleanup_(config_done) struct config c = { 0 };

	/* The result says the text is bad; devnsd refuses to start then. */
	ASSERT_EQ_INT(-EINVAL, parse(&c, "[Broker]\nRuntimeDirectory=/ok\nPauseTimeoutSec=soon\n"));
	config_done(&c);
	ASSERT_EQ_INT(-EINVAL, parse(&c, "[Broker]\nPauseTimeoutSec=soon\nRuntimeDirectory=/ok\n"));
	config_done(&c);
}

TEST(load_missing_file)
{
	_cleanup_(config_done) struct config c = { 0 };
	char path[128];

	ASSERT_NOT_NULL(make_tmpdir());
	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);

	config_init(&c);
	ASSERT_EQ_INT(0, config_load(&c, path, 0));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	ASSERT_NULL(c.runtime_dir);
	ASSERT_EQ_INT(-ENOENT, config_load(&c, path, 1));
	config_done(&c);

	/* A missing directory on the way is the same. */
	snprintf(path, sizeof(path), "%s/no/such.conf", tmpdir);
	config_init(&c);
	ASSERT_EQ_INT(0, config_load(&c, path, 0));
	ASSERT_EQ_INT(-ENOENT, config_load(&c, path, 1));
	config_done(&c);
	ASSERT_EQ_INT(0, rmdir(tmpdir));
}

TEST(load_file)
{
	_cleanup_(config_done) struct config c = { 0 };
	char path[128];

	ASSERT_NOT_NULL(make_tmpdir());
	snprintf(path, sizeof(path), "%s/devnsd.conf", tmpdir);
	ASSERT_EQ_INT(0, write_file(path,
				    "# /etc/devns/devnsd.conf\n"
				    "[Broker]\n"
				    "# Give slow compositors a full second.\n"
				    "PauseTimeoutSec=1\n"
				    "RuntimeDirectory=/run/devns-test\n"
				    "[Unknown]\n"
				    "Key=value\n"));
	for (int must_exist = 0; must_exist <= 1; must_exist++) {
		config_init(&c);
		ASSERT_EQ_INT(0, config_load(&c, path, must_exist));
		ASSERT_EQ_INT(1000000, c.pause_timeout_usec);
		ASSERT_EQ_STR("/run/devns-test", c.runtime_dir);
		config_done(&c);
	}

	ASSERT_EQ_INT(0, write_file(path, ""));
	config_init(&c);
	ASSERT_EQ_INT(0, config_load(&c, path, 1));
	ASSERT_EQ_INT(PAUSE_TIMEOUT_USEC_DEFAULT, c.pause_timeout_usec);
	config_done(&c);

	ASSERT_EQ_INT(0, write_file(path, "[Broker]\nPauseTimeoutSec=1\nPauseTimeoutSec=soon\n"));
	config_init(&c);
	ASSERT_EQ_INT(-EINVAL, config_load(&c, path, 0));
	config_done(&c);

	ASSERT_EQ_INT(0, write_file(path, "[Broker]\nnot a pair\n"));
	config_init(&c);
	ASSERT_EQ_INT(-EINVAL, config_load(&c, path, 1));
	config_done(&c);

	ASSERT_EQ_INT(0, unlink(path));
	ASSERT_EQ_INT(0, rmdir(tmpdir));
}

TEST(load_unreadable_file)
{
	_cleanup_(config_done) struct config c = { 0 };
	char path[128];
	int r;

	if (geteuid() == 0)
		SKIP("root reads any file");
	ASSERT_NOT_NULL(make_tmpdir());
	snprintf(path, sizeof(path), "%s/devnsd.conf", tmpdir);
	ASSERT_EQ_INT(0, write_file(path, "[Broker]\nPauseTimeoutSec=1\n"));
	ASSERT_EQ_INT(0, chmod(path, 0));
	config_init(&c);
	r = config_load(&c, path, 0);
	config_done(&c);
	unlink(path);
	rmdir(tmpdir);
	/* Only a missing file is fine; one that cannot be read is not. */
	ASSERT_EQ_INT(-EACCES, r);
}

/* devnsd.conf(5): "A file named with --config must exist". A directory
 * opens with fopen() and reads as empty, so it passes as an empty file. */
TEST(load_directory)
{
	_cleanup_(config_done) struct config c = { 0 };
	int r;

	ASSERT_NOT_NULL(make_tmpdir());
	config_init(&c);
	r = config_load(&c, tmpdir, 1);
	config_done(&c);
	rmdir(tmpdir);
	if (r >= 0)
		FAIL("config_load() of a directory returned %d", r);
}


/* ---- [Hotkeys] and VT= ---- */

TEST(chord_defaults)
{
	_cleanup_(config_done) struct config c = { 0 };

	config_init(&c);
	ASSERT_EQ_INT(HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, c.next.modifiers);
	ASSERT_EQ_INT(KEY_RIGHT, c.next.key);
	ASSERT_EQ_INT(KEY_LEFT, c.previous.key);
	ASSERT_EQ_INT(KEY_F1, c.container[0].key);
	ASSERT_EQ_INT(KEY_F10, c.container[9].key);
	ASSERT_EQ_INT(KEY_F11, c.container[10].key);
	ASSERT_EQ_INT(KEY_F12, c.container[11].key);
	ASSERT_EQ_INT(CONFIG_VT_AUTO, c.vt_mode);
	config_done(&c);
}

TEST(chord_parse)
{
	struct chord ch;
	char buf[64];

	ASSERT_EQ_INT(0, config_parse_chord("Ctrl+Alt+Right", &ch));
	ASSERT_EQ_INT(HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, ch.modifiers);
	ASSERT_EQ_INT(KEY_RIGHT, ch.key);
	ASSERT_EQ_INT(0, config_parse_chord("super+shift+f3", &ch));
	ASSERT_EQ_INT(HOTKEY_MOD_SUPER | HOTKEY_MOD_SHIFT, ch.modifiers);
	ASSERT_EQ_INT(KEY_F3, ch.key);
	ASSERT_EQ_INT(0, config_parse_chord("a", &ch));
	ASSERT_EQ_INT(0, ch.modifiers);
	ASSERT_EQ_INT(KEY_A, ch.key);
	ASSERT_EQ_INT(0, config_parse_chord("Control+Meta+PageDown", &ch));
	ASSERT_EQ_INT(HOTKEY_MOD_CTRL | HOTKEY_MOD_SUPER, ch.modifiers);
	ASSERT_EQ_INT(KEY_PAGEDOWN, ch.key);
	ASSERT_EQ_INT(0, config_format_chord(&ch, buf, sizeof(buf)));
	ASSERT_EQ_STR("Ctrl+Super+PAGEDOWN", buf);
	ASSERT_EQ_INT(0, config_parse_chord("none", &ch));
	ASSERT_EQ_INT(0, ch.key);
	ASSERT_EQ_INT(0, config_parse_chord("", &ch));
	ASSERT_EQ_INT(0, ch.key);
	ASSERT_EQ_INT(0, config_format_chord(&ch, buf, sizeof(buf)));
	ASSERT_EQ_STR("none", buf);
}

TEST(chord_rejects)
{
	struct chord ch = { 7, 7 };

	ASSERT_EQ_INT(-EINVAL, config_parse_chord("Ctrl+Alt", &ch));
	ASSERT_EQ_INT(-EINVAL, config_parse_chord("Ctrl+NoSuchKey", &ch));
	ASSERT_EQ_INT(-EINVAL, config_parse_chord("Right+Ctrl", &ch));
	ASSERT_EQ_INT(-EINVAL, config_parse_chord("Ctrl++", &ch));
	ASSERT_EQ_INT(-EINVAL, config_parse_chord("Ctrl+Alt+Right+Left", &ch));
	ASSERT_EQ_INT(-EINVAL, config_parse_chord(
		"Ctrl+Alt+Shift+Super+Ctrl+Alt+Shift+Super+Ctrl+Alt+Shift+Super+Right", &ch));
	/* Nothing was written by a rejected chord. */
	ASSERT_EQ_INT(7, ch.modifiers);
	ASSERT_EQ_INT(7, ch.key);
}

TEST(hotkeys_section)
{
	_cleanup_(config_done) struct config c = { 0 };

	config_init(&c);
	ASSERT_EQ_INT(0, config_parse_string(&c,
		"[Hotkeys]\nNext=Super+Tab\nPrevious=none\nContainer3=Ctrl+Alt+3\n"
		"Container13=Ctrl+F1\nBogus=Ctrl+A\n", NAME));
	ASSERT_EQ_INT(HOTKEY_MOD_SUPER, c.next.modifiers);
	ASSERT_EQ_INT(KEY_TAB, c.next.key);
	ASSERT_EQ_INT(0, c.previous.key);
	ASSERT_EQ_INT(KEY_3, c.container[2].key);
	ASSERT_EQ_INT(KEY_F1, c.container[0].key); /* unknown keys ignored */
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Hotkeys]\nNext=Ctrl+Nope\n", NAME));
	config_done(&c);
}

TEST(vt_setting)
{
	_cleanup_(config_done) struct config c = { 0 };

	config_init(&c);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Broker]\nVT=no\n", NAME));
	ASSERT_EQ_INT(CONFIG_VT_NO, c.vt_mode);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Broker]\nVT=7\n", NAME));
	ASSERT_EQ_INT(CONFIG_VT_NUMBER, c.vt_mode);
	ASSERT_EQ_INT(7, c.vt_number);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Broker]\nVT=auto\n", NAME));
	ASSERT_EQ_INT(CONFIG_VT_AUTO, c.vt_mode);
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Broker]\nVT=0\n", NAME));
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Broker]\nVT=64\n", NAME));
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Broker]\nVT=tty2\n", NAME));
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Broker]\nVT=+7\n", NAME));
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Broker]\nVT=0x7\n", NAME));
	ASSERT_EQ_INT(7, c.vt_number);
	config_done(&c);
}

TEST(loop_devices_per_container)
{
	static const char *const bad[] = { "-1", "+3", "1025", "0x10", "3 4", "many", "",
					   "99999999999999999999" };
	_cleanup_(config_done) struct config c = { 0 };
	char text[64];

	config_init(&c);
	ASSERT_EQ_INT(LOOP_DEVICES_PER_CONTAINER_DEFAULT, c.loop_devices_per_container);
	ASSERT_EQ_INT(64, c.loop_devices_per_container);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Loop]\nDevicesPerContainer=3\n", NAME));
	ASSERT_EQ_INT(3, c.loop_devices_per_container);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Loop]\nDevicesPerContainer=0\n", NAME));
	ASSERT_EQ_INT(0, c.loop_devices_per_container);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Loop]\nDevicesPerContainer=1024\n", NAME));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "[Loop]\nDevicesPerContainer=%s\n", bad[i]);
		if (config_parse_string(&c, text, NAME) != -EINVAL)
			EXPECT_FAIL("DevicesPerContainer=%s accepted", bad[i]);
	}
	ASSERT_EQ_INT(1024, c.loop_devices_per_container);
	config_done(&c);
}

TEST_MAIN
