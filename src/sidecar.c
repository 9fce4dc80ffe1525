// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sidecar classification. The rules are data: to teach podscope a new mesh,
 * add a line to sidecar_rules[]. Order matters only for the reason shown;
 * any matching rule makes the container a sidecar. A container that matches
 * none is the application if it runs anything, "other" if it is the pod's
 * pause container or runs nothing.
 */
#include <stdio.h>
#include <string.h>

#include "sidecar.h"

enum rule_kind {
	RULE_CONTAINER_NAME, /* container name equals pattern */
	RULE_PROCESS_NAME,   /* a process's comm equals pattern */
	RULE_PROCESS_PORTS,  /* a process named pattern listens on a capture port */
	RULE_UID,	     /* a process runs as the mesh proxy uid */
};

struct sidecar_rule {
	enum rule_kind kind;
	const char *pattern;
	uid_t uid;
};

/* Istio's proxy uid and capture ports: outbound 15001, inbound 15006. */
#define MESH_PROXY_UID	 1337
#define CAPTURE_OUTBOUND 15001
#define CAPTURE_INBOUND	 15006

static const struct sidecar_rule sidecar_rules[] = {
	{RULE_CONTAINER_NAME, "istio-proxy", 0},
	{RULE_CONTAINER_NAME, "linkerd-proxy", 0},
	{RULE_CONTAINER_NAME, "envoy", 0},
	{RULE_CONTAINER_NAME, "envoy-sidecar", 0},
	{RULE_CONTAINER_NAME, "consul-dataplane", 0},
	{RULE_CONTAINER_NAME, "kuma-sidecar", 0},
	{RULE_CONTAINER_NAME, "sidecar", 0},
	{RULE_PROCESS_NAME, "envoy", 0},
	{RULE_PROCESS_NAME, "pilot-agent", 0},
	{RULE_PROCESS_NAME, "linkerd2-proxy", 0},
	{RULE_PROCESS_PORTS, "nginx", 0},
	{RULE_PROCESS_PORTS, "haproxy", 0},
	{RULE_UID, NULL, MESH_PROXY_UID},
};

/* Names of the pod's infrastructure containers/processes. */
static const char *const infra_names[] = {"POD", "pause", NULL};

const char *container_role_name(enum container_role role)
{
	switch (role) {
	case ROLE_APP:
		return "app";
	case ROLE_SIDECAR:
		return "sidecar";
	default:
		return "other";
	}
}

static bool listens_on_capture_port(const struct sidecar_proc_view *p, uint16_t *port)
{
	int i;

	for (i = 0; i < p->nlisten; i++)
		if (p->listen_ports[i] == CAPTURE_OUTBOUND ||
		    p->listen_ports[i] == CAPTURE_INBOUND) {
			*port = p->listen_ports[i];
			return true;
		}
	return false;
}

static bool rule_matches(const struct sidecar_rule *r, const char *name,
			 const struct sidecar_proc_view *procs, int nprocs, char *reason,
			 size_t reason_len)
{
	uint16_t port;
	int i;

	if (r->kind == RULE_CONTAINER_NAME) {
		if (!name || strcmp(name, r->pattern))
			return false;
		snprintf(reason, reason_len, "container name %s", r->pattern);
		return true;
	}
	for (i = 0; i < nprocs; i++) {
		const struct sidecar_proc_view *p = &procs[i];

		switch (r->kind) {
		case RULE_PROCESS_NAME:
			if (p->comm && !strcmp(p->comm, r->pattern)) {
				snprintf(reason, reason_len, "process %s", r->pattern);
				return true;
			}
			break;
		case RULE_PROCESS_PORTS:
			if (p->comm && !strcmp(p->comm, r->pattern) &&
			    listens_on_capture_port(p, &port)) {
				snprintf(reason, reason_len, "%s listening on %u", r->pattern,
					 port);
				return true;
			}
			break;
		case RULE_UID:
			if (p->uid == r->uid) {
				snprintf(reason, reason_len, "process uid %u", (unsigned)r->uid);
				return true;
			}
			break;
		default:
			break;
		}
	}
	return false;
}

enum container_role sidecar_classify(const char *name, const struct sidecar_proc_view *procs,
				     int nprocs, const struct sidecar_overrides *ovr, char *reason,
				     size_t reason_len)
{
	size_t i;
	int j;

	if (ovr && ovr->count) {
		/* the user's list replaces the rule table */
		for (j = 0; name && j < ovr->count; j++)
			if (!strcmp(ovr->sidecar_containers[j], name)) {
				snprintf(reason, reason_len, "--sidecar-container %s", name);
				return ROLE_SIDECAR;
			}
	} else {
		for (i = 0; i < sizeof(sidecar_rules) / sizeof(sidecar_rules[0]); i++)
			if (rule_matches(&sidecar_rules[i], name, procs, nprocs, reason,
					 reason_len))
				return ROLE_SIDECAR;
	}
	for (i = 0; infra_names[i]; i++) {
		if (name && !strcmp(name, infra_names[i])) {
			snprintf(reason, reason_len, "pod infrastructure container");
			return ROLE_OTHER;
		}
		if (nprocs == 1 && procs[0].comm && !strcmp(procs[0].comm, infra_names[i])) {
			snprintf(reason, reason_len, "pause process");
			return ROLE_OTHER;
		}
	}
	if (nprocs == 0) {
		snprintf(reason, reason_len, "no running process");
		return ROLE_OTHER;
	}
	snprintf(reason, reason_len, "no sidecar rule matched");
	return ROLE_APP;
}
