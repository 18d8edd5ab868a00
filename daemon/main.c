/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/broker.h"
#include "common/fd-store.h"
#include "common/log.h"
#include "compat/seatd-server.h"
#include "dbus/dbus.h"
#include "input/hotkeys.h"
#include "login1/login1.h"

static void help(void)
{
	printf("Usage: devnsd [OPTIONS]\n\n"
	       "Seat broker for containers: hands DRM and input devices to the\n"
	       "compositor of each container and switches the active one.\n\n"
	       "  -h --help              Show this help\n"
	       "     --version           Show the version\n"
	       "     --config FILE       Configuration file (default %s)\n"
	       "     --runtime-dir DIR   Runtime directory (default %s)\n"
	       "     --bus-address ADDR  Serve on this bus instead of the system bus\n"
	       "  -v --verbose           Log debug messages\n",
	       DEVNS_CONFIG_FILE, DEVNS_RUNTIME_DIR);
}

int main(int argc, char *argv[])
{
	enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_RUNTIME_DIR, ARG_BUS_ADDRESS };
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "config", required_argument, NULL, ARG_CONFIG },
		{ "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
		{ "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	struct broker_options opts = { 0 };
	const char *bus_address = NULL;
	struct dbus_transport *bus = NULL;
	struct broker *b = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("devnsd %s\n", DEVNS_VERSION);
			return EXIT_SUCCESS;
		case ARG_CONFIG:
			opts.config_file = optarg;
			break;
		case ARG_RUNTIME_DIR:
			if (optarg[0] != '/') {
				fprintf(stderr, "devnsd: --runtime-dir needs an absolute path\n");
				return 2;
			}
			opts.runtime_dir = optarg;
			break;
		case ARG_BUS_ADDRESS:
			bus_address = optarg;
			break;
		case 'v':
			log_set_max_level(LOG_LEVEL_DEBUG);
			break;
		default:
			fprintf(stderr, "Try 'devnsd --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "devnsd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	/* What a previous devnsd kept in the fd store, before anything else
	 * opens a file. */
	r = fd_store_init();
	if (r < 0)
		log_warning_errno(r, "Cannot take the stored files back");
	r = broker_new(&b, &opts);
	if (r < 0)
		return EXIT_FAILURE;
	/* The transports listen before the first seat and container exist. */
	if ((r = dbus_transport_new(b, bus_address, &bus)) < 0 ||
	    (r = seatd_transport_listen(b)) < 0 ||
	    (r = login1_transport_listen(b)) < 0 ||
	    (r = hotkeys_listen(b)) < 0 ||
	    (r = broker_start(b)) < 0)
		goto out;
	/* Every transport took back what it kept; the rest is stale. */
	fd_store_drop_unclaimed();
	/* The name last: a client that sees it finds everything in place. */
	r = dbus_transport_request_name(bus);
	if (r < 0)
		goto out;
	r = broker_run(b);
out:
	broker_free(b);
	dbus_transport_free(bus);
	fd_store_free();
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
