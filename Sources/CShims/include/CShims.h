#ifndef DUTY_CSHIMS_H
#define DUTY_CSHIMS_H

#include <sys/types.h>

/// The peer's credentials on a connected Unix socket (SO_PEERCRED). Returns 0 on success, -1 with errno set.
int duty_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

#endif
