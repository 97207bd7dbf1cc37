// RunQuery -> one SQL statement: filters, sort, paging and the total, all done by PostgreSQL.
//
// The statement's text is assembled only from constant fragments (the sort column comes from a
// whitelist); every value of the query travels as a parameter. Semantics are those of
// runtrack::Catalog::ListRuns (include/runtrack/catalog.h), so both back ends give identical pages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtrack/catalog.h"
#include "service/pg/pg_connection.h"

namespace runicorn::service::pg {

struct PgStatement {
  std::string sql;
  PgParams params;
};

// The columns a RunSummary is read from, in the order RunSummaryFromRow expects.
extern const char* const kRunSummaryColumns;

// Rows: total, then kRunSummaryColumns; one row with NULL columns when the page is empty (the
// total is still there). InvalidArgument for a sort field off the whitelist or inverted ranges,
// with the embedded catalog's messages.
runtrack::Result<PgStatement> BuildRunListing(const runtrack::RunQuery& query);

// The run at `row`, reading kRunSummaryColumns from column `first` on.
runtrack::Result<runtrack::RunSummary> RunSummaryFromRow(const PgResult& result, int row, int first);

// What free-text search looks in: lower-cased (ASCII) "id\nproject\nname\ntag...".
std::string RunSearchText(const runtrack::RunSummary& run);

}  // namespace runicorn::service::pg
