/* SPDX-License-Identifier: MIT */
/*
 * A minimal binder peer for the vm tests, speaking the kernel protocol of
 * <linux/android/binder.h> directly (no libbinder):
 *
 *   binder-probe manager DEVICE LABEL
 *                                 becomes the context manager of DEVICE,
 *                                 prints "ready", then for every
 *                                 transaction prints "transaction DATA"
 *                                 and replies "LABEL:DATA"; runs until
 *                                 killed. Exits 2 if it cannot become
 *                                 context manager ("error ERRNO-NAME").
 *   binder-probe send DEVICE DATA sends DATA to handle 0 (the context
 *                                 manager) and prints "reply DATA" (exit
 *                                 0), or "dead" / "failed" (exit 1) when
 *                                 there is no manager to answer.
 *   binder-probe park DEVICE LABEL
 *                                 becomes the context manager of DEVICE
 *                                 without mapping it, then parks the file
 *                                 in flight: sends it to itself over a
 *                                 socketpair (SCM_RIGHTS) without
 *                                 receiving it and closes its own fd, so
 *                                 that no /proc table of any process shows
 *                                 the device. Prints "parked", and on a
 *                                 line on stdin receives the file back,
 *                                 maps it (allowed once, to the opener),
 *                                 prints "ready" and serves as manager
 *                                 does.
 *
 * Output lines are flushed at once: the test reads them as they come.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/android/binder.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAP_SIZE (128 * 1024)
#define SEND_TIMEOUT_SEC 30

static void binder_map(int fd)
{
	/* Transactions are delivered into this mapping. */
	if (mmap(NULL, MAP_SIZE, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		printf("error mmap %s\n", strerror(errno));
		exit(2);
	}
}

static int binder_open_unmapped(const char *device)
{
	struct binder_version version = { 0 };
	int fd = open(device, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("error open %s: %s\n", device, strerror(errno));
		exit(2);
	}
	if (ioctl(fd, BINDER_VERSION, &version) < 0 ||
	    version.protocol_version != BINDER_CURRENT_PROTOCOL_VERSION) {
		printf("error version %s\n", strerror(errno));
		exit(2);
	}
	return fd;
}

static int binder_open(const char *device)
{
	int fd = binder_open_unmapped(device);

	binder_map(fd);
	return fd;
}

static int binder_write_read(int fd, const void *out, size_t out_size, void *in,
			     size_t in_size, size_t *in_got)
{
	struct binder_write_read bwr = {
		.write_size = out_size,
		.write_buffer = (binder_uintptr_t)(uintptr_t)out,
		.read_size = in_size,
		.read_buffer = (binder_uintptr_t)(uintptr_t)in,
	};
	int r;

	do
		r = ioctl(fd, BINDER_WRITE_READ, &bwr);
	while (r < 0 && errno == EINTR);
	if (in_got)
		*in_got = bwr.read_consumed;
	return r < 0 ? -errno : 0;
}

/* A command and its transaction, packed as the driver reads them. */
struct __attribute__((packed)) txn_cmd {
	uint32_t cmd;
	struct binder_transaction_data tr;
};

static struct binder_transaction_data txn(const char *data, size_t size)
{
	struct binder_transaction_data tr;

	memset(&tr, 0, sizeof(tr));
	tr.data_size = size;
	tr.data.ptr.buffer = (binder_uintptr_t)(uintptr_t)data;
	return tr;
}

static void become_manager(int fd)
{
	if (ioctl(fd, BINDER_SET_CONTEXT_MGR, 0) < 0) {
		printf("error %s\n", errno == EBUSY ? "EBUSY" : errno == EPERM ? "EPERM" : strerror(errno));
		exit(2);
	}
}

/* Answers the transactions to the context manager that fd is, until killed. */
static int serve(int fd, const char *label)
{
	uint32_t enter = BC_ENTER_LOOPER;
	char in[4096];

	if (binder_write_read(fd, &enter, sizeof(enter), NULL, 0, NULL) < 0) {
		printf("error enter-looper %s\n", strerror(errno));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		size_t got = 0, pos = 0;

		if (binder_write_read(fd, NULL, 0, in, sizeof(in), &got) < 0) {
			printf("error read %s\n", strerror(errno));
			return 2;
		}
		while (pos + sizeof(uint32_t) <= got) {
			uint32_t cmd;

			memcpy(&cmd, in + pos, sizeof(cmd));
			pos += sizeof(cmd);
			if (cmd == BR_TRANSACTION) {
				struct binder_transaction_data tr;
				struct __attribute__((packed)) {
					uint32_t free_cmd;
					binder_uintptr_t buffer;
					struct txn_cmd reply;
				} out;
				char reply[256];
				const char *data;
				int n;

				memcpy(&tr, in + pos, sizeof(tr));
				pos += sizeof(tr);
				data = (const char *)(uintptr_t)tr.data.ptr.buffer;
				printf("transaction %.*s\n", (int)tr.data_size, data);
				fflush(stdout);
				n = snprintf(reply, sizeof(reply), "%s:%.*s", label, (int)tr.data_size, data);
				if (n >= (int)sizeof(reply))
					n = sizeof(reply) - 1;
				out.free_cmd = BC_FREE_BUFFER;
				out.buffer = tr.data.ptr.buffer;
				out.reply.cmd = BC_REPLY;
				out.reply.tr = txn(reply, (size_t)n);
				if (binder_write_read(fd, &out, sizeof(out), NULL, 0, NULL) < 0) {
					printf("error reply %s\n", strerror(errno));
					return 2;
				}
			} else if (cmd == BR_ERROR) {
				pos += sizeof(int32_t);
			} else if (cmd == BR_INCREFS || cmd == BR_ACQUIRE || cmd == BR_RELEASE ||
				   cmd == BR_DECREFS) {
				pos += sizeof(struct binder_ptr_cookie);
			} else if (cmd == BR_NOOP || cmd == BR_TRANSACTION_COMPLETE ||
				   cmd == BR_SPAWN_LOOPER) {
				continue;
			} else {
				/* Anything else would have a payload we do not
				 * know the size of: skip the rest of the buffer. */
				break;
			}
		}
	}
}

static int run_manager(const char *device, const char *label)
{
	int fd = binder_open(device);

	become_manager(fd);
	return serve(fd, label);
}

static int run_park(const char *device, const char *label)
{
	int fd = binder_open_unmapped(device), sv[2];
	char line[64];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	char byte = 'p';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;

	/* Unmapped: a mapping would show in /proc/PID/map_files, and binder
	 * lets the opener map it once, later. */
	become_manager(fd);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		printf("error socketpair %s\n", strerror(errno));
		return 2;
	}
	memset(&control, 0, sizeof(control));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(sv[0], &msg, 0) != 1) {
		printf("error sendmsg %s\n", strerror(errno));
		return 2;
	}
	close(fd);
	printf("parked\n");
	if (!fgets(line, sizeof(line), stdin)) {
		printf("error stdin closed\n");
		return 2;
	}

	memset(&control, 0, sizeof(control));
	msg.msg_controllen = sizeof(control.buf);
	if (recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC) != 1 || !(cmsg = CMSG_FIRSTHDR(&msg)) ||
	    cmsg->cmsg_type != SCM_RIGHTS) {
		printf("error recvmsg %s\n", strerror(errno));
		return 2;
	}
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	binder_map(fd);
	return serve(fd, label);
}

static int run_send(const char *device, const char *data)
{
	int fd = binder_open(device);
	struct txn_cmd out = { .cmd = BC_TRANSACTION };
	char in[4096];

	out.tr = txn(data, strlen(data));
	out.tr.target.handle = 0; /* the context manager */
	out.tr.code = 1;
	/* Never hang the test: a manager that does not answer is a failure. */
	alarm(SEND_TIMEOUT_SEC);
	if (binder_write_read(fd, &out, sizeof(out), NULL, 0, NULL) < 0) {
		printf("error write %s\n", strerror(errno));
		return 2;
	}
	for (;;) {
		size_t got = 0, pos = 0;

		if (binder_write_read(fd, NULL, 0, in, sizeof(in), &got) < 0) {
			printf("error read %s\n", strerror(errno));
			return 2;
		}
		while (pos + sizeof(uint32_t) <= got) {
			uint32_t cmd;

			memcpy(&cmd, in + pos, sizeof(cmd));
			pos += sizeof(cmd);
			if (cmd == BR_REPLY) {
				struct binder_transaction_data tr;

				memcpy(&tr, in + pos, sizeof(tr));
				printf("reply %.*s\n", (int)tr.data_size,
				       (const char *)(uintptr_t)tr.data.ptr.buffer);
				return 0;
			} else if (cmd == BR_DEAD_REPLY) {
				printf("dead\n");
				return 1;
			} else if (cmd == BR_FAILED_REPLY) {
				printf("failed\n");
				return 1;
			} else if (cmd == BR_ERROR) {
				pos += sizeof(int32_t);
			} else if (cmd != BR_NOOP && cmd != BR_TRANSACTION_COMPLETE) {
				break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "manager") == 0)
		return run_manager(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return run_send(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "park") == 0)
		return run_park(argv[2], argv[3]);
	fprintf(stderr, "usage: binder-probe manager DEVICE LABEL | send DEVICE DATA | "
		"park DEVICE LABEL\n");
	return 2;
}
