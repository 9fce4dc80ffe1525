/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Kubernetes API as a pod-metadata source: a client built from a
 * kubeconfig (current context; client certificates, bearer tokens, CA files
 * or inline *-data) or from the in-cluster service account, that lists the
 * pods bound to one node. Only reads; no watch, no writes.
 */
#ifndef PODSCOPE_K8S_H
#define PODSCOPE_K8S_H

#include <stdbool.h>
#include <stddef.h>

#include "podmeta.h"

/* Where a pod's service-account credentials are mounted (override: PODSCOPE_SA_DIR). */
#define K8S_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
/* Token files rotate (bound service-account tokens); re-read them this often. */
#define K8S_TOKEN_REFRESH_S 60

/*
 * What a kubeconfig's chosen context says, with file paths already resolved
 * against the kubeconfig's directory. Strings are NULL when absent; *_data
 * are the base64-decoded bytes of the *-data fields (NULL/0 when absent).
 */
struct k8s_kubeconfig {
	char *context;
	char *cluster;
	char *user;
	char *namespace_;
	char *server;
	bool insecure_skip_tls_verify;
	char *ca_file;
	unsigned char *ca_data;
	size_t ca_data_len;
	char *cert_file;
	unsigned char *cert_data;
	size_t cert_data_len;
	char *key_file;
	unsigned char *key_data;
	size_t key_data_len;
	char *token;
	char *token_file;
};

/*
 * Parse kubeconfig YAML (@len bytes) into @out, following @context or, when
 * NULL, current-context. Relative paths are resolved against @base_dir (may
 * be NULL: left as they are). Returns 0, -EBADMSG (not YAML / not a
 * kubeconfig), -ENOENT (named context, cluster or user missing), -EINVAL
 * (bad field, bad base64), -ENOTSUP (exec/auth-provider credentials only),
 * -ENOMEM. On error @out is zeroed and @err holds one line.
 */
int k8s_kubeconfig_parse(const char *yaml, size_t len, const char *base_dir, const char *context,
			 struct k8s_kubeconfig *out, char *err, size_t errlen);

/* Free what a parsed kubeconfig holds and zero it. NULL-safe. */
void k8s_kubeconfig__free(struct k8s_kubeconfig *kc);

/*
 * Decode standard base64 (@len chars, whitespace ignored, padding optional)
 * into a new buffer *@out of *@outlen bytes (NUL-terminated beyond that).
 * Returns 0, -EINVAL on a bad character or length, -ENOMEM.
 */
int k8s_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/*
 * If @json is a v1 Status object, copy its message (or reason) into @msg and
 * return 0; otherwise -EINVAL and @msg is "".
 */
int k8s_parse_status(const char *json, size_t len, char *msg, size_t msglen);

/*
 * The node whose pods to list: $NODE_NAME, else the hostname (what kubelet
 * registers by default). Returns 0 or a negative errno.
 */
int k8s_default_node_name(char *buf, size_t len);

struct k8s_client;

/*
 * A client from the kubeconfig at @path (NULL: $KUBECONFIG's first entry,
 * else ~/.kube/config), context @context (NULL: current-context). Returns
 * NULL with one line in @err when the file is unreadable or unusable.
 */
struct k8s_client *k8s_client__from_kubeconfig(const char *path, const char *context, char *err,
					       size_t errlen);

/*
 * A client for the API server this pod runs under: $KUBERNETES_SERVICE_HOST
 * and _PORT, token and ca.crt from @sa_dir (NULL: $PODSCOPE_SA_DIR, else
 * K8S_SA_DIR_DEFAULT). Returns NULL with one line in @err when not in a
 * cluster or the credentials are unreadable.
 */
struct k8s_client *k8s_client__in_cluster(const char *sa_dir, char *err, size_t errlen);

/*
 * GET /api/v1/pods?fieldSelector=spec.nodeName=@node_name (all nodes when
 * @node_name is NULL) and parse the PodList into @out (free it with
 * pod_meta_list__free()). Returns 0 or a negative errno with one line in
 * @err: -ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH/-EPROTO (TLS) for transport
 * failures, -EACCES (401/403), -ENOENT (404), -EIO (other HTTP status),
 * podmeta_parse_json()'s errors for a bad body.
 */
int k8s_client__list_pods(struct k8s_client *c, const char *node_name, struct pod_meta_list *out,
			  char *err, size_t errlen);

/*
 * The bearer token the next request sends, re-read from the token file when
 * older than the refresh interval. NULL when the client has none (client
 * certificates). Owned by the client; valid until its next call.
 */
const char *k8s_client__token(struct k8s_client *c);

/* Change the token re-read interval (0: re-read before every request). */
void k8s_client__set_token_refresh(struct k8s_client *c, unsigned int seconds);

/* One line naming the source, e.g. "kubeconfig /root/.kube/config (context kind, https://…)". */
const char *k8s_client__describe(const struct k8s_client *c);

/* NULL-safe. */
void k8s_client__free(struct k8s_client *c);

#endif /* PODSCOPE_K8S_H */
