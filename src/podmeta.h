/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Pod metadata as the control plane describes it: what the Kubernetes API, a
 * PodList file or a Docker-compatible engine tells us about pods and their
 * containers, before the kernel's view (cgroups, PIDs, netns) is joined in by
 * target.c. Plain data, owned by the list that holds it.
 */
#ifndef PODSCOPE_PODMETA_H
#define PODSCOPE_PODMETA_H

#include <stddef.h>

#define POD_NAME_MAX	 254 /* DNS subdomain: 253 + NUL */
#define POD_UID_MAX	 37  /* UUID text + NUL */
#define CONTAINER_ID_MAX 65  /* 64 hex + NUL */

struct container_meta {
	char name[POD_NAME_MAX];
	char id[CONTAINER_ID_MAX]; /* runtime id without "containerd://" prefix, "" if unknown */
	char runtime[16];	   /* "containerd", "cri-o", "docker", ... ("" if unknown) */
	char image[256];
};

struct pod_meta {
	char namespace_[POD_NAME_MAX];
	char name[POD_NAME_MAX];
	char uid[POD_UID_MAX];
	char node[POD_NAME_MAX];
	char pod_ip[46]; /* IPv4 or IPv6 text, "" if none yet */
	char phase[16];
	int container_count;
	struct container_meta *containers;
};

struct pod_meta_list {
	int count;
	struct pod_meta *pods;
};

/* Free everything a list holds and zero it. NULL-safe. */
void pod_meta_list__free(struct pod_meta_list *list);

/*
 * Parse a Kubernetes v1 Pod or PodList (JSON, @len bytes, need not be
 * NUL-terminated) into @out; free it with pod_meta_list__free(). Returns 0,
 * -EBADMSG (not JSON), -EINVAL (not a Pod/PodList, wrong field types) or
 * -ENOMEM; on error @out is empty and @err holds one line.
 */
int podmeta_parse_json(const char *json, size_t len, struct pod_meta_list *out, char *err,
		       size_t errlen);

/* Read and parse a Pod/PodList JSON file; as podmeta_parse_json(), plus I/O errors. */
int podmeta_load_file(const char *path, struct pod_meta_list *out, char *err, size_t errlen);

#endif /* PODSCOPE_PODMETA_H */
