# rowguard: the usual PGXS commands work from here,
#   make && make install && make installcheck
#   make PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install
# The build definition is Makefile.pgxs; the unit tests are built with CMake
# (CMakeLists.txt) and everything runs with scripts/test.sh.
include Makefile.pgxs
