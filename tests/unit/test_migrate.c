/* Unit tests for migrate.c: migration file names. */
#include <criterion/criterion.h>

#include <kore/kore.h>

#include "migrate.h"

static void
setup(void)
{
	kore_mem_init();
}

TestSuite(migrate, .init = setup);

Test(migrate, migration_file_names)
{
	char	v[8];

	cr_assert_eq(migrate_file_version("001_catalog.up.sql", ".up.sql", v,
	    sizeof(v)), 0);
	cr_assert_str_eq(v, "001");
	cr_assert_eq(migrate_file_version("001_catalog.down.sql", ".up.sql",
	    v, sizeof(v)), -1);
	cr_assert_eq(migrate_file_version("seed.sql", ".up.sql", v,
	    sizeof(v)), -1);
	cr_assert_eq(migrate_file_version("01_x.up.sql", ".up.sql", v,
	    sizeof(v)), -1);
}
