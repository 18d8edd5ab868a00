/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/kd.h>
#include <linux/vt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "broker/vt.h"
#include "common/log.h"
#include "common/macro.h"

struct vt {
	int fd;
	int number;
	int previous;    /* the VT active before */
	int keyboard_mode;
};

int vt_number(const struct vt *vt)
{
	return vt ? vt->number : 0;
}

int vt_take(const struct config *c, struct vt **ret)
{
	_cleanup_close_ int tty0 = -1;
	struct vt_stat state;
	struct vt *vt;
	char path[32];
	int n, r;

	*ret = NULL;
	if (c->vt_mode == CONFIG_VT_NO)
		return 0;
	tty0 = open("/dev/tty0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty0 < 0) {
		if (c->vt_mode == CONFIG_VT_AUTO && (errno == ENOENT || errno == ENXIO || errno == ENODEV)) {
			log_debug("No VTs on this machine; not taking one");
			return 0;
		}
		return log_error_errno(errno, "Cannot open /dev/tty0 for VT=%s",
				       c->vt_mode == CONFIG_VT_AUTO ? "auto" : "N");
	}
	if (ioctl(tty0, VT_GETSTATE, &state) < 0)
		return log_error_errno(errno, "Cannot read the VT state");
	if (c->vt_mode == CONFIG_VT_NUMBER)
		n = c->vt_number;
	else if (ioctl(tty0, VT_OPENQRY, &n) < 0 || n <= 0)
		return log_error_errno(errno ? errno : EBUSY, "No free VT");

	vt = calloc(1, sizeof(*vt));
	if (!vt)
		return -ENOMEM;
	vt->number = n;
	vt->previous = state.v_active;
	snprintf(path, sizeof(path), "/dev/tty%d", n);
	vt->fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (vt->fd < 0) {
		r = log_error_errno(errno, "Cannot open %s", path);
		free(vt);
		return r;
	}
	if (ioctl(vt->fd, KDGKBMODE, &vt->keyboard_mode) < 0)
		vt->keyboard_mode = K_UNICODE;
	/* Graphics mode: fbcon stops drawing; keyboard off: the console
	 * neither reads nor echoes the containers' keys. */
	if (ioctl(vt->fd, KDSKBMODE, K_OFF) < 0 || ioctl(vt->fd, KDSETMODE, KD_GRAPHICS) < 0 ||
	    ioctl(vt->fd, VT_ACTIVATE, n) < 0) {
		r = log_error_errno(errno, "Cannot take VT %d", n);
		vt_restore(vt);
		return r;
	}
	log_info("Took VT %d (graphics mode, keyboard off)", n);
	*ret = vt;
	return 0;
}

void vt_restore(struct vt *vt)
{
	if (!vt)
		return;
	if (ioctl(vt->fd, KDSETMODE, KD_TEXT) < 0 ||
	    ioctl(vt->fd, KDSKBMODE, vt->keyboard_mode) < 0)
		log_warning_errno(errno, "Cannot restore VT %d", vt->number);
	if (vt->previous > 0 && vt->previous != vt->number)
		(void)ioctl(vt->fd, VT_ACTIVATE, vt->previous);
	close(vt->fd);
	log_info("Released VT %d", vt->number);
	free(vt);
}
