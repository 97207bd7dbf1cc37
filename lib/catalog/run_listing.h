// Filtering, sorting and paging of run summaries for Catalog::ListRuns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtrack/catalog.h"

namespace runtrack::catalog {

// Validates the parts of a query that can be wrong (sort field, ranges).
Status CheckRunQuery(const RunQuery& query);
// The lower-cased text free-text search looks in: id, project, name and tags, one per line.
std::string SearchText(const RunSummary& row);
// `search_text` is SearchText(row); `needle` is the query's search string lower-cased.
bool MatchesRunQuery(const RunSummary& row, std::string_view search_text, const RunQuery& query,
                     std::string_view needle);
std::string ToLower(std::string_view s);
// Sorts `rows` by the query's order (ties broken by run id, so pages are stable) and applies
// offset/limit; `rows` may be partially sorted afterwards.
std::vector<const RunSummary*> SortAndPage(std::vector<const RunSummary*> rows, const RunQuery& query);

}  // namespace runtrack::catalog
