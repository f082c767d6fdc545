// libpq, PostgreSQL's C client (Debian's libpq-dev): the only header the PostgreSQL backend sees.
#include <libpq-fe.h>
