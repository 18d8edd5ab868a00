/* SPDX-License-Identifier: MIT */
#pragma once

/* A listening, non-blocking stream socket at path, mode 0666 (who may talk
 * is decided per connection). A path longer than sockaddr_un holds is bound
 * through its directory's /proc/self/fd entry. Returns the fd or -errno. */
int unix_socket_listen(const char *path);
/* Removes the socket at path, however long. */
void unix_socket_unlink(const char *path);
