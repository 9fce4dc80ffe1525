/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `podscope accel`: socket-redirect acceleration for pod-local traffic. */
#ifndef PODSCOPE_ACCEL_CMD_H
#define PODSCOPE_ACCEL_CMD_H

int cmd_accel(int argc, char **argv);

#endif /* PODSCOPE_ACCEL_CMD_H */
