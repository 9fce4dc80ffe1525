/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `podscope trace`: the packet path of pods' connections, hop by hop. */
#ifndef PODSCOPE_TRACE_CMD_H
#define PODSCOPE_TRACE_CMD_H

int cmd_trace(int argc, char **argv);

#endif /* PODSCOPE_TRACE_CMD_H */
