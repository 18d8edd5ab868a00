/* SPDX-License-Identifier: MIT */
/*
 * org.devns.broker1(5) against the daemon: every method, signal and property
 * that the broker serves is documented with the same signature, argument
 * names, access and change signalling, and the page documents nothing more.
 *
 * The daemon's side is its live introspection (Introspect over a socketpair
 * on the Manager, seat0 and container web-1, see fixture.h), checked
 * against the vtables themselves. The page's side is the "node ... { ... };"
 * blocks in busctl introspect style between ``` lines:
 *
 *   node /org/devns/broker1 {
 *     interface org.devns.broker1.Manager {
 *       methods:
 *         GetSeat(in  s id,
 *                 out o seat);
 *       signals:
 *         SeatNew(s id,
 *                 o path);
 *       properties:
 *         @org.freedesktop.DBus.Property.EmitsChangedSignal("const")
 *         readonly s Version = '...';
 *     };
 *     interface org.freedesktop.DBus.Peer { ... };
 *   };
 *
 * The path of the page comes as the first argument.
 */
#include "dbus/bus-error.h"
#include "fixture.h"

#define MAX_MEMBERS 64
#define MAX_IFACES 8
#define MAX_NODES 8

struct member {
	char kind; /* 'm'ethod, 's'ignal, 'p'roperty */
	char name[128];
	char in[64];     /* method in-args, signal args; property type */
	char out[64];    /* method out-args; property access: read, readwrite */
	char names[256]; /* argument names, "a,b>c" (in > out) */
	char emits[32];  /* property EmitsChangedSignal, "" for the default */
};

struct iface {
	char name[96];
	bool opaque; /* "{ ... }" on the page: only its presence is shown */
	struct member members[MAX_MEMBERS];
	unsigned n;
};

struct node {
	char path[128];
	struct iface ifaces[MAX_IFACES];
	unsigned n;
};

static const char *page_path;

static struct iface *node_iface(struct node *n, const char *name, bool add)
{
	for (unsigned i = 0; i < n->n; i++)
		if (strcmp(n->ifaces[i].name, name) == 0)
			return &n->ifaces[i];
	if (!add || n->n == MAX_IFACES)
		return NULL;
	memset(&n->ifaces[n->n], 0, sizeof(n->ifaces[0]));
	snprintf(n->ifaces[n->n].name, sizeof(n->ifaces[0].name), "%s", name);
	return &n->ifaces[n->n++];
}

static struct member *iface_add(struct iface *i)
{
	if (i->n == MAX_MEMBERS)
		return NULL;
	memset(&i->members[i->n], 0, sizeof(i->members[0]));
	return &i->members[i->n++];
}

static const struct member *iface_find(const struct iface *i, char kind, const char *name)
{
	for (unsigned k = 0; k < i->n; k++)
		if (i->members[k].kind == kind && strcmp(i->members[k].name, name) == 0)
			return &i->members[k];
	return NULL;
}

static void append(char *buf, size_t size, const char *sep, const char *s)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s", n && sep ? sep : "", s);
}

/* ---- The live side: introspection XML ---- */

/* The value of attr in one tag's text, or "". */
static void xml_attr(const char *tag, const char *attr, char *out, size_t size)
{
	char key[32];
	const char *p, *e;

	out[0] = '\0';
	snprintf(key, sizeof(key), " %s=\"", attr);
	p = strstr(tag, key);
	if (!p)
		return;
	p += strlen(key);
	e = strchr(p, '"');
	if (!e)
		return;
	snprintf(out, size, "%.*s", (int)(e - p), p);
}

static int parse_xml(const char *xml, struct node *node)
{
	struct iface *iface = NULL;
	struct member *m = NULL;
	const char *p = xml;
	char out_names[256] = "";

	while ((p = strchr(p, '<'))) {
		const char *e = strchr(p, '>');
		char tag[512], name[128], type[64], dir[16], value[32];

		if (!e)
			return -EINVAL;
		snprintf(tag, sizeof(tag), "%.*s", (int)(e - p + 1), p);
		p = e + 1;
		xml_attr(tag, "name", name, sizeof(name));

		if (strncmp(tag, "<interface ", 11) == 0) {
			iface = node_iface(node, name, true);
			if (!iface)
				return -E2BIG;
		} else if (strncmp(tag, "</interface", 11) == 0) {
			iface = NULL;
		} else if (iface && (strncmp(tag, "<method ", 8) == 0 ||
				     strncmp(tag, "<signal ", 8) == 0 ||
				     strncmp(tag, "<property ", 10) == 0)) {
			m = iface_add(iface);
			if (!m)
				return -E2BIG;
			m->kind = tag[1] == 'm' ? 'm' : tag[1] == 's' ? 's' : 'p';
			snprintf(m->name, sizeof(m->name), "%s", name);
			out_names[0] = '\0';
			if (m->kind == 'p') {
				xml_attr(tag, "type", m->in, sizeof(m->in));
				xml_attr(tag, "access", m->out, sizeof(m->out));
			}
			if (tag[strlen(tag) - 2] == '/') {
				m = NULL;
			}
		} else if (m && strncmp(tag, "<arg ", 5) == 0) {
			xml_attr(tag, "type", type, sizeof(type));
			xml_attr(tag, "direction", dir, sizeof(dir));
			if (m->kind == 'm' && strcmp(dir, "out") == 0) {
				append(m->out, sizeof(m->out), NULL, type);
				append(out_names, sizeof(out_names), ",", name);
			} else {
				append(m->in, sizeof(m->in), NULL, type);
				append(m->names, sizeof(m->names), ",", name);
			}
		} else if (m && strncmp(tag, "<annotation ", 12) == 0) {
			xml_attr(tag, "value", value, sizeof(value));
			if (strcmp(name, "org.freedesktop.DBus.Property.EmitsChangedSignal") == 0)
				snprintf(m->emits, sizeof(m->emits), "%s", value);
		} else if (m && (strncmp(tag, "</method", 8) == 0 || strncmp(tag, "</signal", 8) == 0 ||
				 strncmp(tag, "</property", 10) == 0)) {
			if (m->kind == 'm') {
				append(m->names, sizeof(m->names), NULL, ">");
				append(m->names, sizeof(m->names), NULL, out_names);
			}
			m = NULL;
		}
	}
	return 0;
}

/* The introspection of path on bus, parsed into node. */
static bool introspect(struct fixture *f, sd_bus *bus, const char *path, struct node *node)
{
	sd_bus_message *m = fx_call(f, bus, path, "org.freedesktop.DBus.Introspectable",
				    "Introspect", NULL);
	const char *xml;
	bool ok;

	memset(node, 0, sizeof(*node));
	snprintf(node->path, sizeof(node->path), "%s", path);
	ok = m && !sd_bus_message_is_method_error(m, NULL) &&
	     sd_bus_message_read(m, "s", &xml) > 0 && parse_xml(xml, node) == 0;
	if (!ok)
		printf("# cannot introspect %s: %s\n", path, fx_outcome(m));
	sd_bus_message_unref(m);
	return ok;
}

/* ---- The page ---- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* "Name(in  s a, out o b)" or "Name(s a, o b)" into m. */
static int parse_call(char *stmt, struct member *m)
{
	char *open = strchr(stmt, '('), *close = strrchr(stmt, ')'), *arg, *save = NULL;
	char out_names[256] = "";

	if (!open || !close || close < open)
		return -EINVAL;
	*open = '\0';
	*close = '\0';
	snprintf(m->name, sizeof(m->name), "%s", trim(stmt));
	for (arg = strtok_r(open + 1, ",", &save); arg; arg = strtok_r(NULL, ",", &save)) {
		char w1[64] = "", w2[64] = "", w3[64] = "";
		int n = sscanf(arg, "%63s %63s %63s", w1, w2, w3);

		if (m->kind == 'm') {
			if (n != 3 || (strcmp(w1, "in") != 0 && strcmp(w1, "out") != 0))
				return -EINVAL;
			if (strcmp(w1, "out") == 0) {
				append(m->out, sizeof(m->out), NULL, w2);
				append(out_names, sizeof(out_names), ",", w3);
			} else {
				append(m->in, sizeof(m->in), NULL, w2);
				append(m->names, sizeof(m->names), ",", w3);
			}
		} else {
			if (n != 2)
				return -EINVAL;
			append(m->in, sizeof(m->in), NULL, w1);
			append(m->names, sizeof(m->names), ",", w2);
		}
	}
	if (m->kind == 'm') {
		append(m->names, sizeof(m->names), NULL, ">");
		append(m->names, sizeof(m->names), NULL, out_names);
	}
	return 0;
}

/* "readonly s Version = '...'" into m. */
static int parse_property(char *stmt, struct member *m)
{
	char access[32], type[64], name[64];

	if (sscanf(stmt, "%31s %63s %63s", access, type, name) != 3)
		return -EINVAL;
	if (strcmp(access, "readonly") == 0)
		snprintf(m->out, sizeof(m->out), "read");
	else if (strcmp(access, "readwrite") == 0)
		snprintf(m->out, sizeof(m->out), "readwrite");
	else
		return -EINVAL;
	snprintf(m->in, sizeof(m->in), "%s", type);
	snprintf(m->name, sizeof(m->name), "%s", name);
	return 0;
}

/* Reads the node blocks of the page; the number of nodes, or -errno with
 * the line that could not be read. */
static int parse_page(const char *path, struct node *nodes, unsigned max)
{
	FILE *fp = fopen(path, "re");
	char line[512], stmt[1024] = "", emits[16] = "";
	struct node *node = NULL;
	struct iface *iface = NULL;
	bool in_code = false;
	char section = 0;
	unsigned n = 0, lineno = 0;
	int r = 0;

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		char *s = trim(line);

		lineno++;
		if (strncmp(s, "```", 3) == 0) {
			in_code = !in_code;
			node = NULL;
			iface = NULL;
			continue;
		}
		if (!in_code)
			continue;
		if (!node) {
			char p[128];

			if (sscanf(s, "node %127s {", p) == 1) {
				if (n == max) {
					r = -E2BIG;
					break;
				}
				node = &nodes[n++];
				memset(node, 0, sizeof(*node));
				snprintf(node->path, sizeof(node->path), "%s", p);
			}
			continue;
		}
		if (!iface) {
			char name[96];

			if (strcmp(s, "};") == 0) {
				node = NULL;
			} else if (sscanf(s, "interface %95s {", name) == 1) {
				iface = node_iface(node, name, true);
				if (!iface) {
					r = -E2BIG;
					break;
				}
				iface->opaque = strstr(s, "{ ... };") != NULL;
				if (iface->opaque)
					iface = NULL;
				section = 0;
			} else if (*s) {
				r = -EINVAL;
				break;
			}
			continue;
		}
		if (!stmt[0] && strcmp(s, "};") == 0) {
			iface = NULL;
			continue;
		}
		if (!stmt[0] && strcmp(s, "methods:") == 0) {
			section = 'm';
			continue;
		}
		if (!stmt[0] && strcmp(s, "signals:") == 0) {
			section = 's';
			continue;
		}
		if (!stmt[0] && strcmp(s, "properties:") == 0) {
			section = 'p';
			continue;
		}
		if (!stmt[0] && s[0] == '@') {
			if (sscanf(s, "@org.freedesktop.DBus.Property.EmitsChangedSignal(\"%15[^\"]\")",
				   emits) != 1) {
				r = -EINVAL;
				break;
			}
			continue;
		}
		if (!*s)
			continue;
		append(stmt, sizeof(stmt), " ", s);
		if (stmt[strlen(stmt) - 1] == ';') {
			struct member *m = iface_add(iface);

			if (!m || !section) {
				r = m ? -EINVAL : -E2BIG;
				break;
			}
			stmt[strlen(stmt) - 1] = '\0';
			m->kind = section;
			r = section == 'p' ? parse_property(stmt, m) : parse_call(stmt, m);
			if (r < 0)
				break;
			if (section == 'p')
				snprintf(m->emits, sizeof(m->emits), "%s", emits);
			else if (emits[0]) {
				r = -EINVAL;
				break;
			}
			emits[0] = '\0';
			stmt[0] = '\0';
		}
	}
	fclose(fp);
	if (r < 0) {
		printf("# %s:%u: cannot read \"%s\"\n", path, lineno, stmt[0] ? stmt : line);
		return r;
	}
	if (in_code || node) {
		printf("# %s: a code block or node does not end\n", path);
		return -EINVAL;
	}
	return (int)n;
}

/* ---- Comparing ---- */

static const char *kind_name(char kind)
{
	return kind == 'm' ? "method" : kind == 's' ? "signal" : "property";
}

/* Reports every difference between the page's and the daemon's version of
 * one interface; the number of differences. */
static unsigned compare_iface(const char *where, const struct iface *doc, const struct iface *live)
{
	unsigned bad = 0;

	for (unsigned k = 0; k < live->n; k++) {
		const struct member *l = &live->members[k];
		const struct member *d = iface_find(doc, l->kind, l->name);

		if (!d) {
			printf("# %s: %s %s.%s is not documented\n", where, kind_name(l->kind),
			       live->name, l->name);
			bad++;
			continue;
		}
		if (l->kind == 'p' && (strcmp(d->in, l->in) != 0 || strcmp(d->out, l->out) != 0)) {
			printf("# %s: property %s.%s: the page says %s, access %s; the daemon %s, access %s\n",
			       where, live->name, l->name, d->in, d->out, l->in, l->out);
			bad++;
		} else if (strcmp(d->in, l->in) != 0 || strcmp(d->out, l->out) != 0) {
			printf("# %s: %s %s.%s: the page says (%s)->(%s), the daemon (%s)->(%s)\n",
			       where, kind_name(l->kind), live->name, l->name, d->in, d->out,
			       l->in, l->out);
			bad++;
		}
		if (l->kind != 'p' && strcmp(d->names, l->names) != 0) {
			printf("# %s: %s %s.%s: argument names on the page \"%s\", of the daemon \"%s\"\n",
			       where, kind_name(l->kind), live->name, l->name, d->names, l->names);
			bad++;
		}
		if (l->kind == 'p' && strcmp(d->emits, l->emits) != 0) {
			printf("# %s: property %s.%s: EmitsChangedSignal \"%s\" on the page, \"%s\" in the daemon\n",
			       where, live->name, l->name, d->emits, l->emits);
			bad++;
		}
	}
	for (unsigned k = 0; k < doc->n; k++) {
		const struct member *d = &doc->members[k];

		if (!iface_find(live, d->kind, d->name)) {
			printf("# %s: %s %s.%s is documented but the daemon has none\n", where,
			       kind_name(d->kind), doc->name, d->name);
			bad++;
		}
	}
	return bad;
}

static const char *const standard_ifaces[] = {
	"org.freedesktop.DBus.Peer",
	"org.freedesktop.DBus.Introspectable",
	"org.freedesktop.DBus.Properties",
};

/* The page's node for the daemon's: every interface the same. where
 * names the node in messages. */
static unsigned compare_node(const struct node *doc, const struct node *live, const char *where)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < live->n; i++) {
		const struct iface *l = &live->ifaces[i];
		const struct iface *d = node_iface((struct node *)doc, l->name, false);

		if (!d) {
			printf("# %s: interface %s is not documented\n", where, l->name);
			bad++;
		} else if (d->opaque) {
			/* Shown as "{ ... }": the standard interfaces only. */
			bool standard = false;

			for (size_t s = 0; s < sizeof(standard_ifaces) / sizeof(standard_ifaces[0]); s++)
				standard = standard || strcmp(l->name, standard_ifaces[s]) == 0;
			if (!standard) {
				printf("# %s: interface %s is shown without its members\n", where,
				       l->name);
				bad++;
			}
		} else {
			bad += compare_iface(where, d, l);
		}
	}
	for (unsigned i = 0; i < doc->n; i++)
		if (!node_iface((struct node *)live, doc->ifaces[i].name, false)) {
			printf("# %s: interface %s is documented but not served\n", where,
			       doc->ifaces[i].name);
			bad++;
		}
	return bad;
}

/* A broker with container web-1 (the page's example), its nodes introspected
 * on the broker's bus: manager, seat0 and web-1. */
struct live {
	struct fixture *f;
	struct node nodes[3];
};

static bool live_setup(struct live *l)
{
	if (fx_setup(&l->f, false) < 0 || !fx_add_container(l->f, "web-1", 0, true))
		return false;
	if (!introspect(l->f, l->f->client, BROKER_OBJECT_PATH, &l->nodes[0]) ||
	    !introspect(l->f, l->f->client, SEAT_PATH_PREFIX "/seat0", &l->nodes[1]) ||
	    !introspect(l->f, l->f->client, CONTAINER_PATH_PREFIX "/web_2d1", &l->nodes[2]))
		return false;
	return true;
}

/* ---- Tests ---- */

/* A vtable signature: NULL for none (SD_BUS_NO_ARGS). */
static const char *sig(const char *s)
{
	return s ? s : "";
}

TEST(page_parses)
{
	static struct node nodes[MAX_NODES];
	int n;

	if (!page_path)
		FAIL("no path of org.devns.broker1.5.scd given");
	n = parse_page(page_path, nodes, MAX_NODES);
	ASSERT_EQ_INT(3, n);
	ASSERT_EQ_STR(BROKER_OBJECT_PATH, nodes[0].path);
	ASSERT_EQ_STR(SEAT_PATH_PREFIX "/seat0", nodes[1].path);
	ASSERT_EQ_STR(CONTAINER_PATH_PREFIX "/web_2d1", nodes[2].path);
	/* Sanity of the reader: a few members it must have found. */
	{
		const struct iface *i = node_iface(&nodes[0], MANAGER_INTERFACE, false);
		const struct member *m = i ? iface_find(i, 'm', "RegisterContainer") : NULL;

		ASSERT_NOT_NULL(m);
		ASSERT_EQ_STR("ssua{sv}", m->in);
		ASSERT_EQ_STR("o", m->out);
		ASSERT_EQ_STR("name,seat,leader,options>container", m->names);
		m = iface_find(i, 'p', "Version");
		ASSERT_NOT_NULL(m);
		ASSERT_EQ_STR("s", m->in);
		ASSERT_EQ_STR("const", m->emits);
		i = node_iface(&nodes[2], CONTAINER_INTERFACE, false);
		m = i ? iface_find(i, 's', "ResumeDevice") : NULL;
		ASSERT_NOT_NULL(m);
		ASSERT_EQ_STR("uuh", m->in);
	}
}

TEST(live_introspection_matches_vtables)
{
	static struct live l;
	static const struct {
		const sd_bus_vtable *vtable;
		const char *iface;
		unsigned node;
	} tables[] = {
		{ manager_vtable, MANAGER_INTERFACE, 0 },
		{ seat_vtable, SEAT_INTERFACE, 1 },
		{ container_vtable, CONTAINER_INTERFACE, 2 },
	};

	if (!TEST_CHECK(live_setup(&l)))
		FAIL("cannot introspect the broker");
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		const struct iface *i = node_iface(&l.nodes[tables[t].node], tables[t].iface, false);
		unsigned count = 0;

		if (!i) {
			EXPECT_FAIL("%s is not served", tables[t].iface);
			continue;
		}
		for (const sd_bus_vtable *v = tables[t].vtable; v->type != _SD_BUS_VTABLE_END; v++) {
			const struct member *m = NULL;
			const char *member = NULL;

			switch (v->type) {
			case _SD_BUS_VTABLE_METHOD:
				member = v->x.method.member;
				m = iface_find(i, 'm', member);
				if (m && (strcmp(m->in, sig(v->x.method.signature)) != 0 ||
					  strcmp(m->out, sig(v->x.method.result)) != 0))
					EXPECT_FAIL("%s.%s: introspected (%s)->(%s), vtable (%s)->(%s)",
						    i->name, member, m->in, m->out,
						    sig(v->x.method.signature), sig(v->x.method.result));
				break;
			case _SD_BUS_VTABLE_SIGNAL:
				member = v->x.signal.member;
				m = iface_find(i, 's', member);
				if (m && strcmp(m->in, sig(v->x.signal.signature)) != 0)
					EXPECT_FAIL("%s.%s: introspected (%s), vtable (%s)", i->name,
						    member, m->in, sig(v->x.signal.signature));
				break;
			case _SD_BUS_VTABLE_PROPERTY:
			case _SD_BUS_VTABLE_WRITABLE_PROPERTY:
				member = v->x.property.member;
				m = iface_find(i, 'p', member);
				if (m && strcmp(m->in, sig(v->x.property.signature)) != 0)
					EXPECT_FAIL("%s.%s: introspected %s, vtable %s", i->name,
						    member, m->in, sig(v->x.property.signature));
				break;
			default:
				continue;
			}
			count++;
			if (!m)
				EXPECT_FAIL("%s.%s of the vtable is not introspected", i->name, member);
		}
		if (count != i->n)
			EXPECT_FAIL("%s: %u members in the vtable, %u introspected", i->name, count, i->n);
	}
}

TEST(page_documents_the_daemon)
{
	static struct node doc[MAX_NODES];
	static struct live l;
	unsigned bad = 0;
	int n;

	if (!page_path)
		FAIL("no path of org.devns.broker1.5.scd given");
	n = parse_page(page_path, doc, MAX_NODES);
	ASSERT_EQ_INT(3, n);
	if (!TEST_CHECK(live_setup(&l)))
		FAIL("cannot introspect the broker");
	for (unsigned k = 0; k < 3; k++) {
		const struct node *d = NULL;

		for (int j = 0; j < n; j++)
			if (strcmp(doc[j].path, l.nodes[k].path) == 0)
				d = &doc[j];
		if (!d) {
			printf("# %s is not shown on the page\n", l.nodes[k].path);
			bad++;
			continue;
		}
		bad += compare_node(d, &l.nodes[k], d->path);
	}
	if (bad)
		FAIL("%u differences between the page and the daemon", bad);
}

TEST(endpoint_serves_the_same_interfaces)
{
	static struct live l;
	static struct node self, full, seat;
	unsigned bad = 0;
	sd_bus *ep;

	if (!TEST_CHECK(live_setup(&l)))
		FAIL("cannot introspect the broker");
	ep = fx_endpoint_client(l.f, "web-1", false);
	if (!ep || !introspect(l.f, ep, CONTAINER_SELF_PATH, &self) ||
	    !introspect(l.f, ep, CONTAINER_PATH_PREFIX "/web_2d1", &full) ||
	    !introspect(l.f, ep, SEAT_PATH_PREFIX "/seat0", &seat))
		FAIL("cannot introspect the endpoint");
	/* The same interfaces as on the bus. */
	bad += compare_node(&l.nodes[2], &self, "the endpoint's container at .../self");
	bad += compare_node(&l.nodes[2], &full, "the endpoint's container at its path");
	bad += compare_node(&l.nodes[1], &seat, "the endpoint's seat");
	if (bad)
		FAIL("%u differences between the endpoint and the bus", bad);
}

TEST(page_documents_every_error)
{
	static const char *const names[] = {
		BUS_ERROR_NO_SUCH_CONTAINER, BUS_ERROR_NO_SUCH_SEAT, BUS_ERROR_NO_SUCH_DEVICE,
		BUS_ERROR_CONTAINER_EXISTS, BUS_ERROR_ALREADY_CONTROLLED, BUS_ERROR_NOT_IN_CONTROL,
		BUS_ERROR_DEVICE_IS_TAKEN, BUS_ERROR_DEVICE_NOT_TAKEN, BUS_ERROR_DEVICE_NOT_OWNED,
		BUS_ERROR_SWITCH_FAILED,
		SD_BUS_ERROR_INVALID_ARGS, SD_BUS_ERROR_ACCESS_DENIED,
	};
	char line[512], errors[4096] = "";
	bool in_errors = false;
	FILE *fp;

	if (!page_path)
		FAIL("no path of org.devns.broker1.5.scd given");
	fp = fopen(page_path, "re");
	ASSERT_NOT_NULL(fp);
	/* The ERRORS section: one "*name*" line per error. */
	while (fgets(line, sizeof(line), fp)) {
		if (line[0] == '#')
			in_errors = strcmp(trim(line), "# ERRORS") == 0;
		else if (in_errors && line[0] == '*')
			append(errors, sizeof(errors), NULL, trim(line));
	}
	fclose(fp);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[128];

		snprintf(want, sizeof(want), "*%s*", names[i]);
		if (!strstr(errors, want))
			EXPECT_FAIL("%s is not in ERRORS", names[i]);
	}
	/* And nothing else of ours. */
	for (const char *p = errors; (p = strstr(p, "*org.devns.broker1.Error.")); p++) {
		char name[128];
		bool known = false;

		if (sscanf(p + 1, "%127[^*]", name) != 1)
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			known = known || strcmp(name, names[i]) == 0;
		if (!known)
			EXPECT_FAIL("ERRORS documents %s, which the daemon does not have", name);
	}
}

int main(int argc, char **argv)
{
	page_path = argc > 1 ? argv[1] : getenv("DEVNS_DBUS_MAN_PAGE");
	return test_run_all();
}
