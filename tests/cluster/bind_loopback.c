/*
 * bind_loopback.so: an LD_PRELOAD shim for the namdrunner loopback TEST cluster only.
 *
 * Slurm 22.05's daemons bind their listening sockets to the wildcard address whatever
 * SlurmctldHost/NodeAddr/DbdAddr say, so slurmctld, slurmd and slurmdbd would listen on every
 * interface of a contributor's workstation. This shim rewrites a bind() to INADDR_ANY into
 * 127.0.0.1 and a bind() to in6addr_any into ::1 before calling the real bind(); every other
 * address is passed through unchanged. tests/cluster/cluster.sh compiles it with the system's cc
 * and starts the Slurm daemons with it; `cluster.sh status` checks the result with ss.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static bind_fn real_bind = NULL;
    if (real_bind == NULL) {
        real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    }
    if (addr != NULL && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY)) {
            struct sockaddr_in lo;
            memcpy(&lo, in, sizeof lo);
            lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&lo, sizeof lo);
        }
    } else if (addr != NULL && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        if (memcmp(&in6->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0) {
            struct sockaddr_in6 lo6;
            memcpy(&lo6, in6, sizeof lo6);
            lo6.sin6_addr = in6addr_loopback;
            return real_bind(fd, (const struct sockaddr *)&lo6, sizeof lo6);
        }
    }
    return real_bind(fd, addr, len);
}
