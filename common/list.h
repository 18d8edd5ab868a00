/* SPDX-License-Identifier: MIT */
/* An intrusive doubly linked list, as in Wayland's wl_list: entries keep
 * registration order, which the seat uses for next/previous switching. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *prev, *next;
};

static inline void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

/* Inserts elm after pos; list_insert(head.prev, elm) appends. */
static inline void list_insert(struct list *pos, struct list *elm)
{
	elm->prev = pos;
	elm->next = pos->next;
	pos->next->prev = elm;
	pos->next = elm;
}

static inline void list_append(struct list *head, struct list *elm)
{
	list_insert(head->prev, elm);
}

static inline void list_remove(struct list *elm)
{
	elm->prev->next = elm->next;
	elm->next->prev = elm->prev;
	list_init(elm);
}

static inline size_t list_length(const struct list *l)
{
	size_t n = 0;
	for (const struct list *e = l->next; e != l; e = e->next)
		n++;
	return n;
}

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define list_first(head, type, member) \
	(list_empty(head) ? NULL : container_of((head)->next, type, member))
#define list_last(head, type, member) \
	(list_empty(head) ? NULL : container_of((head)->prev, type, member))

#define list_for_each(pos, head, member)                                     \
	for (pos = container_of((head)->next, __typeof__(*pos), member);    \
	     &pos->member != (head);                                         \
	     pos = container_of(pos->member.next, __typeof__(*pos), member))

/* Safe against removal of pos. */
#define list_for_each_safe(pos, tmp, head, member)                           \
	for (pos = container_of((head)->next, __typeof__(*pos), member),    \
	     tmp = container_of(pos->member.next, __typeof__(*pos), member); \
	     &pos->member != (head);                                         \
	     pos = tmp,                                                      \
	     tmp = container_of(pos->member.next, __typeof__(*pos), member))
