/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `podscope run`, the long-running agent, and `podscope target`, its
 * run-time control client.
 */
#ifndef PODSCOPE_AGENT_H
#define PODSCOPE_AGENT_H

int cmd_run(int argc, char **argv);
int cmd_target(int argc, char **argv);
/* `podscope accel enable|disable|status` against a running agent; argv[0] is the verb. */
int cmd_accel_remote(int argc, char **argv);

#endif /* PODSCOPE_AGENT_H */
