// Filtering, sorting and paging of run summaries for Catalog::ListRuns.
#pragma once

#include <vector>

#include "runtrack/catalog.h"

namespace runtrack::catalog {

// Validates the parts of a query that can be wrong (sort field, ranges).
Status CheckRunQuery(const RunQuery& query);
bool MatchesRunQuery(const RunSummary& row, const RunQuery& query);
// Sorts `rows` by the query's order (ties broken by run id, so pages are stable) and applies
// offset/limit; `rows` may be partially sorted afterwards.
std::vector<const RunSummary*> SortAndPage(std::vector<const RunSummary*> rows, const RunQuery& query);

}  // namespace runtrack::catalog
