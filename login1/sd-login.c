/* SPDX-License-Identifier: MIT */
/*
 * sd-login's files inside the container's root: compositors ask sd-login
 * (sd_uid_get_display, sd_session_is_active, sd_session_get_seat,
 * sd_seat_can_tty) before they talk to logind, and sd-login reads plain
 * files under /run/systemd. Each is replaced whole (common/root-resolve.h):
 * whatever the container planted at its path is replaced, never followed.
 * They are made as the container's own root (its file system ids): in a
 * user namespace, a file the host's root made on the container's tmpfs
 * would have an owner the namespace cannot map, and the kernel refuses
 * it (EOVERFLOW); and devnsd can then do there only what that root may.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>

#include "broker/peer.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/root-resolve.h"
#include "login1/login1.h"


static int write_file(int rootfd, const char *dir, const char *name, const char *content)
{
	_cleanup_close_ int dirfd = root_open_dir(rootfd, dir, true);

	if (dirfd < 0)
		return dirfd;
	return root_replace_file(dirfd, name, content, 0644);
}

struct fs_ids {
	uid_t uid;
	gid_t gid;
};

/* Takes the file system ids of the root of s's container for this
 * thread (devnsd has one), keeping the previous ones in *old. */
static int become_container_root(struct login1_session *s, struct fs_ids *old)
{
	uid_t uid;
	gid_t gid;
	int r;

	r = root_ids_of_pid(s->container->leader, s->container->pidfd, &uid, &gid);
	if (r < 0)
		return r;
	old->uid = (uid_t)setfsuid((uid_t)-1);
	old->gid = (gid_t)setfsgid((gid_t)-1);
	if (uid == old->uid && gid == old->gid)
		return 0;
	/* setfsuid() answers with the old id even when it fails: asking
	 * again with an invalid id tells what it is now. */
	old->gid = (gid_t)setfsgid(gid);
	old->uid = (uid_t)setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid) {
		(void)setfsuid(old->uid);
		(void)setfsgid(old->gid);
		return -EPERM;
	}
	return 0;
}

static void restore_fs_ids(const struct fs_ids *old)
{
	(void)setfsuid(old->uid);
	(void)setfsgid(old->gid);
}

static int write_all_files(struct login1_session *s, int rootfd)
{
	const char *seat = s->container->seat->seat->id;
	bool active = login1_session_is_active(s);
	char name[32], buf[1024];
	int r;

	snprintf(buf, sizeof(buf),
		 "# devnsd's login1 facade keeps this file; do not edit.\n"
		 "UID=%u\nUSER=%s\nACTIVE=%d\nIS_DISPLAY=1\nSTATE=%s\nREMOTE=0\n"
		 "TYPE=%s\nCLASS=user\nSEAT=%s\nSERVICE=devns\nLEADER=%d\n",
		 (unsigned)s->uid, s->user_name, active, login1_session_state(s), s->type, seat,
		 (int)s->leader_nspid);
	r = write_file(rootfd, "/run/systemd/sessions", LOGIN1_SESSION_ID, buf);
	if (r < 0)
		return r;

	snprintf(buf, sizeof(buf),
		 "# devnsd's login1 facade keeps this file; do not edit.\n"
		 "IS_SEAT0=%d\nCAN_MULTI_SESSION=1\nCAN_TTY=0\nCAN_GRAPHICAL=%d\n"
		 "%s%s%s"
		 "SESSIONS=" LOGIN1_SESSION_ID "\nUIDS=%u\n",
		 strcmp(seat, "seat0") == 0, seat_can_graphical(s->container->seat->seat),
		 active ? "ACTIVE=" LOGIN1_SESSION_ID "\nACTIVE_UID=" : "",
		 active ? (snprintf(name, sizeof(name), "%u", (unsigned)s->uid), name) : "",
		 active ? "\n" : "", (unsigned)s->uid);
	r = write_file(rootfd, "/run/systemd/seats", seat, buf);
	if (r < 0)
		return r;

	snprintf(buf, sizeof(buf),
		 "# devnsd's login1 facade keeps this file; do not edit.\n"
		 "NAME=%s\nSTATE=%s\nRUNTIME=/run/user/%u\nDISPLAY=" LOGIN1_SESSION_ID "\n"
		 "SESSIONS=" LOGIN1_SESSION_ID "\nSEATS=%s\nONLINE_SESSIONS=" LOGIN1_SESSION_ID "\n"
		 "ONLINE_SEATS=%s\n%s%s%s",
		 s->user_name, login1_session_state(s), (unsigned)s->uid, seat, seat,
		 active ? "ACTIVE_SESSIONS=" LOGIN1_SESSION_ID "\nACTIVE_SEATS=" : "",
		 active ? seat : "", active ? "\n" : "");
	snprintf(name, sizeof(name), "%u", (unsigned)s->uid);
	return write_file(rootfd, "/run/systemd/users", name, buf);
}

int login1_write_files(struct login1_session *s)
{
	_cleanup_close_ int rootfd = -1;
	struct fs_ids old;
	int r;

	rootfd = root_open_of_pid(s->container->leader, s->container->pidfd);
	if (rootfd < 0)
		return rootfd;
	r = become_container_root(s, &old);
	if (r < 0)
		return r;
	r = write_all_files(s, rootfd);
	restore_fs_ids(&old);
	return r;
}

static void remove_file(int rootfd, const char *dir, const char *name)
{
	_cleanup_close_ int dirfd = root_open_dir(rootfd, dir, false);

	/* unlinkat() removes a link itself, never what it points to. */
	if (dirfd >= 0)
		(void)unlinkat(dirfd, name, 0);
}

void login1_remove_files(struct login1_session *s)
{
	_cleanup_close_ int rootfd = root_open_of_pid(s->container->leader, s->container->pidfd);
	struct fs_ids old;
	char name[32];

	if (rootfd < 0 || become_container_root(s, &old) < 0)
		return;
	snprintf(name, sizeof(name), "%u", (unsigned)s->uid);
	remove_file(rootfd, "/run/systemd/sessions", LOGIN1_SESSION_ID);
	remove_file(rootfd, "/run/systemd/seats", s->container->seat->seat->id);
	remove_file(rootfd, "/run/systemd/users", name);
	restore_fs_ids(&old);
}

/* A name the files and properties can carry as they are. */
static bool user_name_is_plain(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= 32)
		return false;
	for (const char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
			return false;
	return true;
}

void login1_read_user(struct login1_session *s)
{
	_cleanup_close_ int rootfd = root_open_of_pid(s->container->leader, s->container->pidfd);
	_cleanup_close_ int fd = -1;
	_cleanup_(fclosep) FILE *f = NULL;
	pid_t pids[33];
	struct passwd *pw;
	int n;

	/* Until the container's passwd says otherwise. */
	snprintf(s->user_name, sizeof(s->user_name), s->uid == 0 ? "root" : "uid%u",
		 (unsigned)s->uid);
	s->gid = s->uid;
	n = pid_nspids(s->container->leader, pids, ARRAY_SIZE(pids));
	s->leader_nspid = n > 0 ? pids[n - 1] : 0;

	if (rootfd < 0 || (fd = root_open_file(rootfd, "/etc/passwd")) < 0 ||
	    !(f = fdopen(fd, "re")))
		return;
	fd = -1;
	/* fgetpwent() reads the container's file: what it holds is only
	 * believed if it is a plain name. At most a few thousand entries. */
	for (int i = 0; i < 4096 && (pw = fgetpwent(f)); i++)
		if (pw->pw_uid == s->uid) {
			if (user_name_is_plain(pw->pw_name)) {
				snprintf(s->user_name, sizeof(s->user_name), "%s", pw->pw_name);
				s->gid = pw->pw_gid;
			}
			break;
		}
}
