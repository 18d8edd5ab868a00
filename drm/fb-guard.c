/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <drm.h>
#include <drm_mode.h>

#include "drm/fb-guard.h"

int fb_guard_check(int lessee_fd)
{
	/* No framebuffer has id 0: the kernel says ENOENT, the guard
	 * refuses before it is asked. */
	struct drm_mode_fb_cmd cmd = { .fb_id = 0 };

	if (ioctl(lessee_fd, DRM_IOCTL_MODE_GETFB, &cmd) == 0 || errno != EACCES)
		return -EOPNOTSUPP;
	return 0;
}

#if DEVNS_FB_GUARD
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "drm/fb-guard.skel.h"

#define GUARD_MAP_NAME "guarded_cards"

/* The kernel's device numbers are not glibc's dev_t. */
static __u32 kernel_devnum(dev_t d)
{
	return (__u32)(major(d) << 20 | minor(d));
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int guard_new(int link_fd, int map_fd, struct fb_guard **ret)
{
	struct fb_guard *g = malloc(sizeof(*g));

	if (!g) {
		close(link_fd);
		close(map_fd);
		return -ENOMEM;
	}
	*g = (struct fb_guard) { .link_fd = link_fd, .map_fd = map_fd };
	*ret = g;
	return 0;
}

int fb_guard_new(struct fb_guard **ret)
{
	struct fb_guard_bpf *skel;
	int link_fd = -1, map_fd = -1, r;

	libbpf_set_print(quiet);
	skel = fb_guard_bpf__open_and_load();
	if (!skel)
		return errno > 0 ? -errno : -EOPNOTSUPP;
	r = fb_guard_bpf__attach(skel);
	if (r == 0) {
		/* Copies of the link and the map keep them when the
		 * skeleton's own files close. */
		link_fd = fcntl(bpf_link__fd(skel->links.devns_fb_guard), F_DUPFD_CLOEXEC, 3);
		map_fd = fcntl(bpf_map__fd(skel->maps.guarded_cards), F_DUPFD_CLOEXEC, 3);
		if (link_fd < 0 || map_fd < 0)
			r = -errno;
	}
	fb_guard_bpf__destroy(skel);
	if (r < 0) {
		if (link_fd >= 0)
			close(link_fd);
		if (map_fd >= 0)
			close(map_fd);
		return r;
	}
	return guard_new(link_fd, map_fd, ret);
}

static bool is_guard_link(int fd)
{
	struct bpf_link_info link = { 0 };
	__u32 len = sizeof(link);

	return bpf_obj_get_info_by_fd(fd, &link, &len) == 0 && link.type == BPF_LINK_TYPE_TRACING &&
	       link.tracing.attach_type == BPF_LSM_MAC;
}

static bool is_guard_map(int fd)
{
	struct bpf_map_info map = { 0 };
	__u32 len = sizeof(map);

	return bpf_obj_get_info_by_fd(fd, &map, &len) == 0 && map.type == BPF_MAP_TYPE_HASH &&
	       map.key_size == sizeof(__u32) && strcmp(map.name, GUARD_MAP_NAME) == 0;
}

int fb_guard_adopt(int fd1, int fd2, struct fb_guard **ret)
{
	if (is_guard_link(fd1) && is_guard_map(fd2))
		return guard_new(fd1, fd2, ret);
	if (is_guard_link(fd2) && is_guard_map(fd1))
		return guard_new(fd2, fd1, ret);
	close(fd1);
	close(fd2);
	return -EBADF;
}

void fb_guard_free(struct fb_guard *g)
{
	if (!g)
		return;
	close(g->link_fd);
	close(g->map_fd);
	free(g);
}

int fb_guard_add(struct fb_guard *g, dev_t card)
{
	__u32 key = kernel_devnum(card);
	__u8 one = 1;

	return bpf_map_update_elem(g->map_fd, &key, &one, BPF_ANY) < 0 ? -errno : 0;
}

int fb_guard_remove(struct fb_guard *g, dev_t card)
{
	__u32 key = kernel_devnum(card);

	if (bpf_map_delete_elem(g->map_fd, &key) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int fb_guard_keep_only(struct fb_guard *g, const dev_t *cards, size_t n)
{
	__u32 keys[64], *prev = NULL;
	size_t n_keys = 0;

	/* Collected first: deleting while walking restarts the walk. */
	while (n_keys < sizeof(keys) / sizeof(keys[0]) &&
	       bpf_map_get_next_key(g->map_fd, prev, &keys[n_keys]) == 0) {
		prev = &keys[n_keys];
		n_keys++;
	}
	for (size_t i = 0; i < n_keys; i++) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++)
			keep = kernel_devnum(cards[j]) == keys[i];
		if (!keep && bpf_map_delete_elem(g->map_fd, &keys[i]) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

#else

int fb_guard_new(struct fb_guard **ret)
{
	return -EOPNOTSUPP;
}

int fb_guard_adopt(int fd1, int fd2, struct fb_guard **ret)
{
	close(fd1);
	close(fd2);
	return -EOPNOTSUPP;
}

void fb_guard_free(struct fb_guard *g)
{
}

int fb_guard_add(struct fb_guard *g, dev_t card)
{
	return -EOPNOTSUPP;
}

int fb_guard_remove(struct fb_guard *g, dev_t card)
{
	return -EOPNOTSUPP;
}

int fb_guard_keep_only(struct fb_guard *g, const dev_t *cards, size_t n)
{
	return -EOPNOTSUPP;
}

#endif
