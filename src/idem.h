/*
 * idem: the Idempotency-Key header on top of the Redis module. A handler
 * checks the header (idem_header), starts (idem_begin) until it stops
 * answering IDEM_PENDING, runs the request when told IDEM_PROCEED, hands
 * the final status and body to idem_finish until IDEM_DONE, then sends
 * them. The request's onfree calls idem_cleanup(). An answer is the key's
 * final one unless it is a 5xx or has Retry-After set (set the header
 * before idem_finish): then the key is released for the retry.
 */
#ifndef __H_IDEM_H
#define __H_IDEM_H

#include <kore/kore.h>
#include <kore/http.h>

#include <stdint.h>

#define IDEM_KEY_MAX		255
#define IDEM_FINGERPRINT_MAX	(16 + 256 + HTTP_BODY_DIGEST_STRLEN)

#define IDEM_PENDING		1
#define IDEM_PROCEED		2	/* run it, then idem_finish() */
/* A replay or a conflict was sent. */
#define IDEM_ANSWERED		3
#define IDEM_DONE		4

/* A stored record: in flight, or the final response. */
#define IDEM_RECORD_INFLIGHT	'I'
#define IDEM_RECORD_DONE	'D'

/* Random bytes naming the request that holds a key in flight. */
#define IDEM_OWNER_BYTES	16

struct redis_ticket;
struct kore_timer;

struct idem {
	char			key[32 + IDEM_KEY_MAX];
	char			fingerprint[IDEM_FINGERPRINT_MAX];
	/* Our in-flight record, exactly as stored. */
	char			inflight[IDEM_FINGERPRINT_MAX +
				    IDEM_OWNER_BYTES * 2 + 4];
	int			state;
	int			reserved;
	struct redis_ticket	*ticket;
	struct kore_timer	*renew;
};

struct idem_record {
	int			type;
	const char		*fingerprint;
	size_t			fingerprint_len;
	int			status;
	const char		*body;
	size_t			body_len;
};

int	idem_header(struct http_request *, const char **);
void	idem_init(struct idem *, struct http_request *, int64_t,
	    const char *);
int	idem_begin(struct http_request *, struct idem *);
int	idem_finish(struct http_request *, struct idem *, int,
	    const struct kore_buf *);
void	idem_cleanup(struct idem *);

/* Exposed for tests. */
int	idem_key_valid(const char *);
int	idem_record_parse(const char *, size_t, struct idem_record *);

#endif
