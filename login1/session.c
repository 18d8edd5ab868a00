/* SPDX-License-Identifier: MIT */
/*
 * The container's Session object on its own bus: logind's session API
 * (TakeControl, TakeDevice, PauseDevice, ...) on top of the broker's
 * container requests. Its controller is a connection of the container's
 * bus, known by its unique name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "broker/errors.h"
#include "common/log.h"
#include "common/macro.h"
#include "login1/login1.h"

#define ERROR_NO_SUCH_DEVICE "org.freedesktop.login1.NoSuchDevice"
#define ERROR_DEVICE_IS_TAKEN "org.freedesktop.login1.DeviceIsTaken"
#define ERROR_DEVICE_NOT_TAKEN "org.freedesktop.login1.DeviceNotTaken"
#define ERROR_NOT_IN_CONTROL "org.freedesktop.login1.NotInControl"

struct login1_controller {
	struct login1_session *session;
	char *sender;         /* its unique name on the container's bus */
	sd_bus_slot *gone;    /* NameOwnerChanged of that name */
	enum login1_told told;
	bool unchecked;       /* taken back after a restart; not yet seen on the bus */
	bool catching_up;
	/* Devices taken back after a restart that it may take once more:
	 * while the name had no owner, its ReleaseDevice could not reach us
	 * (mutter releases its input when it sees no owner, and takes it
	 * again when the name is back). */
	dev_t retake[LOGIN1_SAVED_MAX_DEVICES];
	unsigned n_retake;
};

static const struct controller_ops login1_controller_ops;

bool login1_session_is_active(const struct login1_session *s)
{
	return container_is_active(s->container);
}

const char *login1_session_state(const struct login1_session *s)
{
	return login1_session_is_active(s) ? "active" : "online";
}

static void controller_free(struct login1_controller *ctl)
{
	if (!ctl)
		return;
	sd_bus_slot_unref(ctl->gone);
	free(ctl->sender);
	free(ctl);
}

/* Signals go to the controller only, as logind's do. */
static int send_to_controller(struct login1_controller *ctl, const char *member,
			      const char *types, ...)
{
	struct login1_session *s = ctl->session;
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	/* Before the name is ours (again), the controller would not take a
	 * signal from us for logind's. */
	if (!s->bus || !s->owns_name)
		return -ENOTCONN;
	r = sd_bus_message_new_signal(s->bus, &m, LOGIN1_SESSION_PATH, LOGIN1_SESSION_INTERFACE,
				      member);
	if (r < 0)
		return r;
	r = sd_bus_message_set_destination(m, ctl->sender);
	if (r >= 0) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_send(s->bus, m, NULL);
	sd_bus_message_unref(m);
	login1_check_backlog(s);
	return r;
}

static struct login1_controller *controller_of_container(struct container *c)
{
	return c->controller_ops == &login1_controller_ops ? c->controller_data : NULL;
}

/* What a restarted devnsd needs, saved after every change of it. */
static void session_save(struct login1_session *s)
{
	struct login1_controller *ctl = controller_of_container(s->container);
	struct login1_saved saved = { .n_devices = 0 };
	struct seat_handle *h;

	snprintf(saved.type, sizeof(saved.type), "%s", s->type);
	if (ctl) {
		snprintf(saved.controller, sizeof(saved.controller), "%s", ctl->sender);
		saved.told = ctl->told;
		list_for_each(h, &s->container->sc->handles, link)
			if (!h->adopted && saved.n_devices < LOGIN1_SAVED_MAX_DEVICES)
				saved.devices[saved.n_devices++] = h->device->devnum;
	}
	login1_save(s, &saved);
}

static void set_told(struct login1_controller *ctl, enum login1_told told)
{
	/* Once unsure, only a catch-up (which sets it) makes it sure again. */
	if (ctl->told == told || (ctl->told == LOGIN1_TOLD_UNSURE && !ctl->catching_up))
		return;
	ctl->told = told;
	session_save(ctl->session);
}

static int send_pause(struct login1_controller *ctl, struct seat_handle *h,
		      enum seat_pause_type type)
{
	dev_t devnum = h->device->devnum;
	int r = send_to_controller(ctl, "PauseDevice", "uus", major(devnum), minor(devnum),
				   seat_pause_type_to_string(type));

	if (r < 0) {
		/* Before the bus is back after a restart: the catch-up tells it. */
		set_told(ctl, LOGIN1_TOLD_UNSURE);
		return log_warning_errno(r, "Cannot send PauseDevice for %s to the login1 controller of %s",
					 h->device->sysname, ctl->session->container->name);
	}
	set_told(ctl, LOGIN1_TOLD_PAUSED);
	return 0;
}

static int send_resume(struct login1_controller *ctl, struct seat_handle *h)
{
	dev_t devnum = h->device->devnum;
	int r = send_to_controller(ctl, "ResumeDevice", "uuh", major(devnum), minor(devnum), h->fd);

	if (r < 0) {
		set_told(ctl, LOGIN1_TOLD_UNSURE);
		return log_warning_errno(r, "Cannot send ResumeDevice for %s to the login1 controller of %s",
					 h->device->sysname, ctl->session->container->name);
	}
	set_told(ctl, LOGIN1_TOLD_LIVE);
	return 0;
}

static void controller_pause(struct container *c, void *data, struct seat_handle *h,
			     enum seat_pause_type type)
{
	(void)send_pause(data, h, type);
}

static void controller_resume(struct container *c, void *data, struct seat_handle *h)
{
	(void)send_resume(data, h);
}

static void controller_released(struct container *c, void *data)
{
	struct login1_controller *ctl = data;

	/* Control is already gone from the container: saved without it. */
	session_save(ctl->session);
	controller_free(ctl);
}

static const struct controller_ops login1_controller_ops = {
	.name = "login1",
	.pause = controller_pause,
	.resume = controller_resume,
	.released = controller_released,
};

static struct login1_controller *controller_of(struct login1_session *s, const char *sender)
{
	struct login1_controller *ctl = controller_of_container(s->container);

	if (!ctl || !sender || strcmp(ctl->sender, sender) != 0)
		return NULL;
	return ctl;
}

void login1_session_bus_gone(struct login1_session *s)
{
	struct container *c = s->container;

	if (controller_of_container(c)) {
		log_info("Container %s: its login1 controller went with the bus", c->name);
		container_release_control(c);
	}
}

static int on_controller_gone(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_controller *ctl = userdata;
	struct container *c = ctl->session->container;
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || new_owner[0])
		return 0;
	if (controller_of_container(c) == ctl) {
		log_info("Container %s: its login1 controller left the bus", c->name);
		container_release_control(c);
	}
	return 0;
}

/* Calls that need the caller's uid ask the container's bus daemon for it,
 * asynchronously: the daemon is the container's own and may never answer,
 * and devnsd must not wait on it. */
struct pending_call {
	struct login1_session *session;
	sd_bus_message *call; /* NULL once its bus was dropped */
	struct list link;     /* session->pending */
	int (*handler)(struct login1_session *s, sd_bus_message *call, uid_t uid,
		       sd_bus_error *error);
};

static void pending_call_free(void *userdata)
{
	struct pending_call *p = userdata;

	if (p->session) {
		p->session->n_pending--;
		list_remove(&p->link);
	}
	sd_bus_message_unref(p->call);
	free(p);
}

/* Answers a call whose handler ran outside sd-bus's dispatch and returned
 * r, as sd-bus answers one that fails: with error if set, else r's errno. */
static void reply_failure(sd_bus_message *call, int r, sd_bus_error *error)
{
	if (r >= 0)
		return;
	if (!sd_bus_error_is_set(error))
		sd_bus_error_set_errno(error, r);
	(void)sd_bus_reply_method_error(call, error);
}

/* logind activates a session of a seat without VTs before it reads the
 * next call, so a compositor that calls Activate and then TakeDevice (weston
 * does, without waiting for the answer) gets live devices. Here a switch
 * may wait for the other container's controller: the session's device
 * calls wait for it too, in order, and run once it is done. */
struct activation {
	struct login1_session *session; /* NULL once the session let go */
	sd_bus_message *call;
	struct list link; /* session->activating */
};

struct held_call {
	sd_bus_message *call;
	sd_bus_message_handler_t handler;
	struct list link; /* session->held */
};

static void held_call_free(struct held_call *hc)
{
	list_remove(&hc->link);
	sd_bus_message_unref(hc->call);
	free(hc);
}

static int check_controller(struct login1_session *s, sd_bus_message *m, sd_bus_error *error);

/* 1: m waits for the session's activation, and is answered after it. Only
 * the controller's calls wait: anyone else's would be refused after it
 * anyway, and must not fill the queue the controller's calls need. */
static int hold_while_activating(struct login1_session *s, sd_bus_message *m,
				 sd_bus_message_handler_t handler, sd_bus_error *error)
{
	struct held_call *hc;
	int r;

	if (list_empty(&s->activating))
		return 0;
	if ((r = check_controller(s, m, error)) < 0)
		return r;
	if (s->n_held >= LOGIN1_MAX_PENDING)
		return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many calls at once");
	hc = calloc(1, sizeof(*hc));
	if (!hc)
		return -ENOMEM;
	hc->call = sd_bus_message_ref(m);
	hc->handler = handler;
	list_append(&s->held, &hc->link);
	s->n_held++;
	return 1;
}

static void run_held_calls(struct login1_session *s)
{
	while (list_empty(&s->activating) && !list_empty(&s->held)) {
		struct held_call *hc = list_first(&s->held, struct held_call, link);
		sd_bus_message_handler_t handler = hc->handler;
		sd_bus_error error = SD_BUS_ERROR_NULL;
		sd_bus_message *call = sd_bus_message_ref(hc->call);
		int r;

		held_call_free(hc);
		s->n_held--;
		r = handler(call, s, &error);
		reply_failure(call, r, &error);
		sd_bus_error_free(&error);
		sd_bus_message_unref(call);
	}
}

void login1_session_drop_pending(struct login1_session *s)
{
	struct pending_call *p, *tmp;
	struct activation *a, *atmp;
	struct held_call *hc, *htmp;

	list_for_each_safe(hc, htmp, &s->held, link)
		held_call_free(hc);
	s->n_held = 0;
	list_for_each_safe(a, atmp, &s->activating, link) {
		a->session = NULL;
		list_remove(&a->link);
	}

	/* Each call references the bus through its message: let go of
	 * them, so that the bus can be freed, and its slots (and these)
	 * with it, whenever that happens, without the session. */
	list_for_each_safe(p, tmp, &s->pending, link) {
		p->call = sd_bus_message_unref(p->call);
		p->session = NULL;
		list_remove(&p->link);
	}
	s->n_pending = 0;
}

static int on_sender_uid(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	struct pending_call *p = userdata;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	uint32_t uid;
	int r;

	if (!p->call || !p->session)
		return 0;
	if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "u", &uid) < 0)
		r = sd_bus_error_setf(&error, SD_BUS_ERROR_ACCESS_DENIED,
				      "Cannot determine the caller's user");
	else
		r = p->handler(p->session, p->call, (uid_t)uid, &error);
	reply_failure(p->call, r, &error);
	sd_bus_error_free(&error);
	return 0;
}

static int with_sender_uid(struct login1_session *s, sd_bus_message *m, sd_bus_error *error,
			   int (*handler)(struct login1_session *, sd_bus_message *, uid_t,
					  sd_bus_error *))
{
	struct pending_call *p;
	sd_bus_slot *slot = NULL;
	int r;

	if (!sd_bus_message_get_sender(m))
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "No sender");
	if (s->n_pending >= LOGIN1_MAX_PENDING)
		return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many calls at once");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->session = s;
	p->call = sd_bus_message_ref(m);
	p->handler = handler;
	r = sd_bus_call_method_async(s->bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				     "org.freedesktop.DBus", "GetConnectionUnixUser",
				     on_sender_uid, p, "s", sd_bus_message_get_sender(m));
	if (r < 0) {
		sd_bus_message_unref(p->call);
		free(p);
		return r;
	}
	s->n_pending++;
	list_insert(&s->pending, &p->link);
	sd_bus_slot_set_destroy_callback(slot, pending_call_free);
	/* Floating: freed with its answer, or with the bus. */
	sd_bus_slot_set_floating(slot, true);
	sd_bus_slot_unref(slot);
	return 1;
}

/* Control goes when the controller leaves the bus. */
static int controller_watch(struct login1_controller *ctl)
{
	_cleanup_free_ char *match = NULL;

	if (asprintf(&match, "type='signal',sender='org.freedesktop.DBus',"
			     "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
			     "member='NameOwnerChanged',arg0='%s'", ctl->sender) < 0)
		return -ENOMEM;
	ctl->gone = sd_bus_slot_unref(ctl->gone);
	return sd_bus_add_match_async(ctl->session->bus, &ctl->gone, match, on_controller_gone, NULL,
				      ctl);
}

static struct login1_controller *controller_new(struct login1_session *s, const char *sender)
{
	struct login1_controller *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	ctl->session = s;
	ctl->sender = strdup(sender);
	if (!ctl->sender) {
		free(ctl);
		return NULL;
	}
	return ctl;
}

static int take_control(struct login1_session *s, sd_bus_message *m, uid_t uid,
			sd_bus_error *error)
{
	struct container *c = s->container;
	const char *sender = sd_bus_message_get_sender(m);
	struct login1_controller *ctl;
	int force, r;

	r = sd_bus_message_read(m, "b", &force);
	if (r < 0)
		return r;
	/* logind's rule, and ControlUser's as on the other endpoints: with
	 * both, a user must be both. */
	if (uid != 0 && (uid != s->uid || !container_control_uid_allowed(c, uid)))
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "Only the session's user or root may take control");
	if (!s->bus)
		return -ENOTCONN;
	if (controller_of(s, sender))
		return sd_bus_reply_method_return(m, NULL);

	ctl = controller_new(s, sender);
	if (!ctl)
		return -ENOMEM;
	/* It reads Active itself; from here on it is told. */
	ctl->told = seat_container_is_live(c->sc) ? LOGIN1_TOLD_LIVE : LOGIN1_TOLD_PAUSED;
	r = controller_watch(ctl);
	if (r < 0) {
		controller_free(ctl);
		return r;
	}
	r = container_take_control(c, &login1_controller_ops, ctl, force);
	if (r < 0) {
		controller_free(ctl);
		if (r == -ERRNO_ALREADY_CONTROLLED)
			return sd_bus_error_setf(error, "System.Error.EBUSY",
						 "The session already has a controller");
		return r;
	}
	log_info("Container %s: login1 session taken over by %s", c->name, sender);
	session_save(s);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_take_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return with_sender_uid(userdata, m, error, take_control);
}

static int check_controller(struct login1_session *s, sd_bus_message *m, sd_bus_error *error)
{
	if (!controller_of(s, sd_bus_message_get_sender(m)))
		return sd_bus_error_setf(error, ERROR_NOT_IN_CONTROL, "You are not in control of this session");
	return 0;
}

static int method_release_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	int r = check_controller(s, m, error);

	if (r < 0)
		return r;
	container_release_control(s->container);
	return sd_bus_reply_method_return(m, NULL);
}

static int device_error(sd_bus_error *error, int r, dev_t devnum)
{
	unsigned maj = major(devnum), min = minor(devnum);

	switch (-r) {
	case ERRNO_NO_SUCH_DEVICE:
		return sd_bus_error_setf(error, ERROR_NO_SUCH_DEVICE,
					 "Device %u:%u is not a DRM card or evdev node of this seat", maj, min);
	case ERRNO_DEVICE_IS_TAKEN:
		return sd_bus_error_setf(error, ERROR_DEVICE_IS_TAKEN, "Device %u:%u is already taken", maj, min);
	case ERRNO_DEVICE_NOT_TAKEN:
		return sd_bus_error_setf(error, ERROR_DEVICE_NOT_TAKEN, "Device %u:%u is not taken", maj, min);
	default:
		return sd_bus_error_set_errnof(error, r, "Cannot open device %u:%u: %s", maj, min,
					       strerror(-r));
	}
}

static int read_devnum(sd_bus_message *m, dev_t *ret)
{
	uint32_t maj, min;
	int r = sd_bus_message_read(m, "uu", &maj, &min);

	if (r < 0)
		return r;
	*ret = makedev(maj, min);
	return 0;
}

/* Whether devnum was taken back after a restart and not taken since; it
 * is not, from now on. */
static bool controller_retakes(struct login1_controller *ctl, dev_t devnum)
{
	for (unsigned i = 0; i < ctl->n_retake; i++)
		if (ctl->retake[i] == devnum) {
			ctl->retake[i] = ctl->retake[--ctl->n_retake];
			return true;
		}
	return false;
}

static int method_take_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	struct seat_handle *h;
	dev_t devnum;
	int r;

	if ((r = hold_while_activating(s, m, method_take_device, error)) != 0)
		return r;
	if ((r = read_devnum(m, &devnum)) < 0 || (r = check_controller(s, m, error)) < 0)
		return r;
	r = container_take_device(s->container, devnum, &h);
	if (r == -ERRNO_DEVICE_IS_TAKEN &&
	    controller_retakes(controller_of_container(s->container), devnum)) {
		/* The same open file it had: it is the device's controller
		 * already, in the same state. */
		h = seat_container_find_handle(s->container->sc, devnum);
		r = h ? 0 : -ERRNO_DEVICE_IS_TAKEN;
	}
	if (r < 0)
		return device_error(error, r, devnum);
	session_save(s);
	return sd_bus_reply_method_return(m, "hb", h->fd, h->state != SEAT_HANDLE_LIVE);
}

static int device_method(sd_bus_message *m, struct login1_session *s, sd_bus_error *error,
			 int (*action)(struct container *c, dev_t devnum))
{
	dev_t devnum;
	int r;

	if ((r = read_devnum(m, &devnum)) < 0 || (r = check_controller(s, m, error)) < 0)
		return r;
	r = action(s->container, devnum);
	if (r < 0)
		return device_error(error, r, devnum);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_release_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	struct login1_controller *ctl;
	dev_t devnum;
	int r;

	if ((r = hold_while_activating(s, m, method_release_device, error)) != 0)
		return r;
	r = device_method(m, s, error, container_release_device);
	if (r < 0)
		return r;
	ctl = controller_of_container(s->container);
	if (ctl && sd_bus_message_rewind(m, true) >= 0 && read_devnum(m, &devnum) >= 0)
		(void)controller_retakes(ctl, devnum);
	session_save(s);
	return r;
}

static int method_pause_device_complete(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return device_method(m, userdata, error, container_pause_device_complete);
}

bool login1_type_is_valid(const char *type)
{
	static const char *const types[] = { "unspecified", "tty", "x11", "wayland", "mir", "web" };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (strcmp(types[i], type) == 0)
			return true;
	return false;
}

static int method_set_type(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	const char *type;
	int r;

	if ((r = sd_bus_message_read(m, "s", &type)) < 0 || (r = check_controller(s, m, error)) < 0)
		return r;
	if (!login1_type_is_valid(type))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid session type '%s'", type);
	if (strcmp(s->type, type) != 0) {
		snprintf(s->type, sizeof(s->type), "%s", type);
		(void)sd_bus_emit_properties_changed(s->bus, LOGIN1_SESSION_PATH,
						     LOGIN1_SESSION_INTERFACE, "Type", NULL);
		(void)login1_write_files(s);
		session_save(s);
	}
	return sd_bus_reply_method_return(m, NULL);
}

static void on_switch_done(void *userdata, int r)
{
	sd_bus_message *m = userdata;

	if (r < 0)
		(void)sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "The switch failed: %s",
						 strerror(-r));
	else
		(void)sd_bus_reply_method_return(m, NULL);
	sd_bus_message_unref(m);
}

int login1_switch(struct login1_session *s, struct container *target, sd_bus_message *m,
		  sd_bus_error *error)
{
	/* Referenced before: the switch may be done before this returns. */
	int r = broker_switch(s->container->seat, SEAT_SWITCH_TO, target, on_switch_done,
			      sd_bus_message_ref(m));

	if (r < 0) {
		sd_bus_message_unref(m);
		return sd_bus_error_set_errnof(error, r, "Cannot switch: %s", strerror(-r));
	}
	return 1;
}

static void on_activated(void *userdata, int r)
{
	struct activation *a = userdata;
	struct login1_session *s = a->session;

	on_switch_done(a->call, r);
	if (s)
		list_remove(&a->link);
	free(a);
	if (s)
		run_held_calls(s);
}

/* Activating itself needs AllowActivate, as the Container's Activate does;
 * an active session's Activate is a no-op for anyone (weston calls it at
 * start). */
static int method_activate(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	struct activation *a;
	int r;

	if (login1_session_is_active(s))
		return sd_bus_reply_method_return(m, NULL);
	if (!s->container->allow_activate)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "This container may not activate itself (no AllowActivate)");
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->session = s;
	a->call = sd_bus_message_ref(m);
	list_append(&s->activating, &a->link);
	/* on_activated may run before this returns. */
	r = broker_switch(s->container->seat, SEAT_SWITCH_TO, s->container, on_activated, a);
	if (r < 0) {
		list_remove(&a->link);
		sd_bus_message_unref(a->call);
		free(a);
		run_held_calls(s);
		return sd_bus_error_set_errnof(error, r, "Cannot switch: %s", strerror(-r));
	}
	return 1;
}

void login1_session_resume(struct login1_session *s)
{
	struct container *c = s->container;
	struct login1_saved saved;
	struct login1_controller *ctl;
	unsigned n = 0;
	int r;

	if (login1_take_saved(s, &saved) <= 0)
		return;
	snprintf(s->type, sizeof(s->type), "%s", saved.type);
	if (!saved.controller[0])
		return;
	ctl = controller_new(s, saved.controller);
	if (!ctl)
		return;
	ctl->told = saved.told;
	ctl->unchecked = true;
	r = container_take_control(c, &login1_controller_ops, ctl, false);
	if (r < 0) {
		log_warning_errno(r, "Container %s: cannot take back its login1 controller %s",
				  c->name, saved.controller);
		controller_free(ctl);
		session_save(s);
		return;
	}
	for (unsigned i = 0; i < saved.n_devices; i++) {
		struct seat_handle *h = seat_container_find_handle(c->sc, saved.devices[i]);
		bool was_live = h && h->state == SEAT_HANDLE_LIVE;

		/* Only the open file the controller still has: a new one would
		 * be news to it. */
		if (!h || !h->adopted) {
			log_info("Container %s: device %u:%u of its login1 controller was not kept",
				 c->name, major(saved.devices[i]), minor(saved.devices[i]));
			continue;
		}
		r = container_take_device(c, saved.devices[i], &h);
		if (r < 0) {
			log_info("Container %s: device %u:%u of its login1 controller is gone: %s",
				 c->name, major(saved.devices[i]), minor(saved.devices[i]), strerror(-r));
			continue;
		}
		/* Opened anew (evdev) or made master: its ResumeDevice is due. */
		if (!was_live && h->state == SEAT_HANDLE_LIVE)
			ctl->told = LOGIN1_TOLD_UNSURE;
		ctl->retake[ctl->n_retake++] = saved.devices[i];
		n++;
	}
	log_info("Container %s: login1 controller %s taken back after a restart, %u devices",
		 c->name, ctl->sender, n);
	session_save(s);
}

/* What the controller missed while devnsd was away: a switch. */
static void controller_catch_up(struct login1_controller *ctl)
{
	struct login1_session *s = ctl->session;
	struct seat_handle *h, *tmp;
	bool live = seat_container_is_live(s->container->sc);
	enum login1_told told = live ? LOGIN1_TOLD_LIVE : LOGIN1_TOLD_PAUSED;
	bool failed = false;

	if (ctl->told == told)
		return;
	log_info("Container %s: telling its login1 controller the seat is %s", s->container->name,
		 live ? "live" : "paused");
	ctl->catching_up = true;
	list_for_each_safe(h, tmp, &s->container->sc->handles, link) {
		if (h->adopted)
			continue;
		if ((live ? send_resume(ctl, h) : send_pause(ctl, h, SEAT_PAUSE_FORCE)) < 0)
			failed = true;
	}
	/* Without a device nothing was sent; it reads Active. */
	set_told(ctl, failed ? LOGIN1_TOLD_UNSURE : told);
	ctl->catching_up = false;
	login1_emit_active_changed(s);
}

static int on_controller_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	struct login1_session *s = userdata;
	struct login1_controller *ctl = controller_of_container(s->container);

	if (!ctl || !ctl->unchecked)
		return 0;
	if (sd_bus_message_is_method_error(reply, NULL)) {
		log_info("Container %s: its login1 controller %s left the bus while devnsd was away",
			 s->container->name, ctl->sender);
		container_release_control(s->container);
		return 0;
	}
	ctl->unchecked = false;
	log_info("Container %s: its login1 controller %s is still there", s->container->name,
		 ctl->sender);
	controller_catch_up(ctl);
	return 0;
}

void login1_session_bus_ready(struct login1_session *s)
{
	struct login1_controller *ctl = controller_of_container(s->container);
	int r;

	if (!ctl || !ctl->unchecked)
		return;
	/* The watch first, then the question: a controller that leaves in
	 * between is seen by one or the other. */
	r = controller_watch(ctl);
	if (r >= 0)
		r = sd_bus_call_method_async(s->bus, NULL, "org.freedesktop.DBus",
					     "/org/freedesktop/DBus", "org.freedesktop.DBus",
					     "GetNameOwner", on_controller_checked, s, "s",
					     ctl->sender);
	if (r < 0) {
		log_warning_errno(r, "Container %s: cannot look for its login1 controller %s",
				  s->container->name, ctl->sender);
		container_release_control(s->container);
	}
}

static int property_get_user(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_message_append(reply, "(uo)", (uint32_t)s->uid, s->user_path);
}

static int property_get_seat(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_message_append(reply, "(so)", s->container->seat->seat->id, s->seat_path);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	struct login1_session *s = userdata;
	const char *v = "";

	if (strcmp(property, "Id") == 0)
		v = LOGIN1_SESSION_ID;
	else if (strcmp(property, "Name") == 0)
		v = s->user_name;
	else if (strcmp(property, "Type") == 0)
		v = s->type;
	else if (strcmp(property, "Class") == 0)
		v = "user";
	else if (strcmp(property, "State") == 0)
		v = login1_session_state(s);
	else if (strcmp(property, "Service") == 0)
		v = "devns";
	return sd_bus_message_append(reply, "s", v);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_message_append(reply, "b", strcmp(property, "Active") == 0 &&
						 login1_session_is_active(s));
}

static int property_get_uint(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct login1_session *s = userdata;

	/* VTNr: no VT; Leader: the container's leader, as it sees it. */
	return sd_bus_message_append(reply, "u", strcmp(property, "Leader") == 0 ?
						 (uint32_t)s->leader_nspid : 0);
}

const sd_bus_vtable login1_session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Id", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("User", "(uo)", property_get_user, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Seat", "(so)", property_get_seat, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("VTNr", "u", property_get_uint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("TTY", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Display", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Service", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Remote", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Leader", "u", property_get_uint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Type", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Class", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Active", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("State", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("IdleHint", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("LockedHint", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("Activate", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_activate,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("TakeControl", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT,
				method_take_control, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReleaseControl", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_release_control, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SetType", SD_BUS_ARGS("s", type), SD_BUS_NO_RESULT,
				method_set_type, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("TakeDevice", SD_BUS_ARGS("u", major, "u", minor),
				SD_BUS_RESULT("h", fd, "b", inactive), method_take_device,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReleaseDevice", SD_BUS_ARGS("u", major, "u", minor),
				SD_BUS_NO_RESULT, method_release_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("PauseDeviceComplete", SD_BUS_ARGS("u", major, "u", minor),
				SD_BUS_NO_RESULT, method_pause_device_complete,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("PauseDevice", SD_BUS_ARGS("u", major, "u", minor, "s", type), 0),
	SD_BUS_SIGNAL_WITH_ARGS("ResumeDevice", SD_BUS_ARGS("u", major, "u", minor, "h", fd), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Lock", SD_BUS_NO_ARGS, 0),
	SD_BUS_SIGNAL_WITH_ARGS("Unlock", SD_BUS_NO_ARGS, 0),
	SD_BUS_VTABLE_END
};
