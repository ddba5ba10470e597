/*
 * Unit test support for the body validators: one JSON document per test,
 * parsed from text by parse() and freed after each test. Include it once,
 * in a test file, and name JSON_DOC_SUITE(name) for the suite.
 */
#ifndef __H_TEST_JSON_DOC_H
#define __H_TEST_JSON_DOC_H

#include <criterion/criterion.h>

#include <kore/kore.h>

#include <string.h>

#include "body.h"

static struct kore_json	doc;

static void
json_doc_setup(void)
{
	kore_mem_init();
	memset(&doc, 0, sizeof(doc));
}

static void
json_doc_teardown(void)
{
	body_cleanup(&doc);
}

#define JSON_DOC_SUITE(name)						\
	TestSuite(name, .init = json_doc_setup, .fini = json_doc_teardown)

/* text parsed as the test's document (it must parse); its root. */
static struct kore_json_item *
parse(const char *text)
{
	body_cleanup(&doc);
	kore_json_init(&doc, text, strlen(text));
	cr_assert(kore_json_parse(&doc), "cannot parse %s", text);

	return (doc.root);
}

#endif
