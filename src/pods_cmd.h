/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `podscope pods`: list (and follow) pods, containers, roles and processes. */
#ifndef PODSCOPE_PODS_CMD_H
#define PODSCOPE_PODS_CMD_H

/* Entry point; returns the process exit code (0 ok, 1 failure, 2 usage). */
int cmd_pods(int argc, char **argv);

#endif /* PODSCOPE_PODS_CMD_H */
