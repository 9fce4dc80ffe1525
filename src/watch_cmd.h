/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `podscope watch`: connections and socket metrics per edge, live or as a snapshot. */
#ifndef PODSCOPE_WATCH_CMD_H
#define PODSCOPE_WATCH_CMD_H

int cmd_watch(int argc, char **argv);

#endif /* PODSCOPE_WATCH_CMD_H */
