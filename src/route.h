/*
 * route: what Kore's 4.1.0 config cannot say about a route. One config
 * route maps to one Kore handler; the handler hands route_dispatch() a
 * method table, and route_id() reads a path id through the config's v_id
 * validator.
 */
#ifndef __H_ROUTE_H
#define __H_ROUTE_H

#include <kore/kore.h>
#include <kore/http.h>

/*
 * One method of a route: usually a request state machine, run with
 * http_state_run(); a plain handler where the flow needs set-up first;
 * or a shared flow given the route's description (catalog.c).
 */
struct route_method {
	int			method;
	struct http_state	*states;
	u_int8_t		nstates;
	int			(*handler)(struct http_request *);
	int			(*flow)(struct http_request *, const void *);
	const void		*arg;
};

#define ROUTE_METHOD(m, s)	{ m, s, ROUTE_STATES(s), NULL, NULL, NULL }
#define ROUTE_HANDLER(m, h)	{ m, NULL, 0, h, NULL, NULL }
#define ROUTE_FLOW(m, f, a)	{ m, NULL, 0, NULL, f, a }

#define ROUTE_PARAM_ABSENT	0
#define ROUTE_PARAM_OK		1
#define ROUTE_PARAM_INVALID	2

int	route_dispatch(struct http_request *, const struct route_method *,
	    size_t);
int	route_id(struct http_request *, int, int64_t *);
int	route_param(struct http_request *, const char *, const char **);
int	route_page(struct http_request *, int64_t *, int64_t *);
int	route_not_found(struct http_request *);

/* Routes by number and label, for the access log and metrics. */
#define ROUTE_TABLE_MAX		64

void		route_table_init(const struct kore_domain *);
int		route_table_count(void);
int		route_index(const struct http_request *);
const char	*route_label(int);

/* Entries of a handler's struct http_state table. */
#define ROUTE_STATES(states)	(sizeof(states) / sizeof(states[0]))

#define ROUTE_DISPATCH(req, table)	\
	route_dispatch(req, table, sizeof(table) / sizeof(table[0]))

#endif
