/*
 * Fuzz target: a request body through Kore's (patched) JSON parser and
 * every endpoint's body validator (accounts, movies, theatres, screens,
 * shows, holds and bookings' ids), as src/body.c hands them over.
 */
#include <kore/kore.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "body.h"
#include "movies.h"
#include "sessions.h"
#include "shows.h"
#include "theatres.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	kore_mem_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kore_json		json;
	struct accounts_input		acc;
	struct sessions_input		ses;
	struct movies_input		movie;
	struct shows_input		show;
	struct theatres_input		theatre;
	struct theatres_screen_input	screen;
	const char			*field, *message;
	int64_t				id, ids[10];
	size_t				n;

	if (len > 65536)
		return (0);

	memset(&json, 0, sizeof(json));
	kore_json_init(&json, data, len);
	if (!kore_json_parse(&json) ||
	    json.root->type != KORE_JSON_TYPE_OBJECT) {
		body_cleanup(&json);
		return (0);
	}

	(void)accounts_input_register(&json, &acc, &field);
	(void)accounts_input_login(&json, &acc, &field);
	(void)sessions_input_refresh(&json, &ses, &field);
	(void)sessions_input_logout(&json, &ses, &field);
	(void)movies_input_parse(json.root, &movie, &field, &message);
	(void)shows_input_parse(json.root, &show, &field, &message);
	(void)theatres_input_parse(json.root, &theatre, &field, &message);
	(void)theatres_screen_input_parse(json.root, &screen, &field,
	    &message);
	(void)body_id(&json, "show_id", &id);
	(void)body_id(&json, "hold_id", &id);
	(void)body_ids(&json, "seat_ids", ids, 10, &n);
	(void)body_string(&json, "refresh_token");

	body_cleanup(&json);
	return (0);
}
